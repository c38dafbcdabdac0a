import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  cellArtifactsDir,
  listArtifacts,
  readArtifact,
  readArtifactText,
  removePartialArtifacts,
  writeArtifact,
} from '../store/artifacts.js';
import { caseDirs } from './helpers/files.js';

const cases = caseDirs('artifacts');
const freshDir = (): string =>
  cellArtifactsDir(cases.next(), 'sweep-2025-10-01', 'maxn.locked.qwen3-8b-fp8.high-load.r1');

describe('artifacts: paths', () => {
  it('places a cell under <results>/<sweep>/<cell>', () => {
    assert.equal(
      cellArtifactsDir('results', 'qwen3-8b-quantization-1', 'maxn.locked.qwen3-8b-fp8.high-load.r1'),
      path.join('results', 'qwen3-8b-quantization-1', 'maxn.locked.qwen3-8b-fp8.high-load.r1'),
    );
  });

  it('takes a scheduled sweep’s id, which ends in an RFC 3339 time, as a directory name', () => {
    const id = 'nightly-2026-11-29T03:00:00Z';
    assert.equal(cellArtifactsDir('results', id, 'cell.r1'), path.join('results', id, 'cell.r1'));
    assert.throws(() => cellArtifactsDir('results', 'sweep', 'a:b'), /cell id .* cannot name an artifact path/);
  });

  it('rejects ids that could escape the results directory', () => {
    for (const bad of ['..', '../etc', 'a/b', 'a\\b', '.hidden', '', '/abs', 'x y', 'sweep\n1']) {
      assert.throws(
        () => cellArtifactsDir('results', bad, 'cell.r1'),
        /sweep id .* cannot name an artifact path/,
        `sweep id ${JSON.stringify(bad)}`,
      );
      assert.throws(
        () => cellArtifactsDir('results', 'sweep', bad),
        /cell id .* cannot name an artifact path/,
        `cell id ${JSON.stringify(bad)}`,
      );
    }
  });

  it('rejects artifact names that are paths or look like temporaries', async () => {
    const dir = freshDir();
    await assert.rejects(writeArtifact(dir, '../escape.json', {}), /artifact name .* cannot name an artifact path/);
    await assert.rejects(writeArtifact(dir, 'result.json.tmp-1-ab', {}), /marks temporary files/);
    await assert.rejects(readArtifact(dir, '../../x'), /cannot name an artifact path/);
    assert.equal(fs.existsSync(path.join(dir, '..', 'escape.json')), false);
  });
});

describe('artifacts: writing and reading', () => {
  it('writes objects as JSON and strings as text, creating the directory', async () => {
    const dir = freshDir();
    const file = await writeArtifact(dir, 'result.json', { metrics: { output_throughput: 298.07 } });
    assert.equal(file, path.join(dir, 'result.json'));
    await writeArtifact(dir, 'engine.log', 'INFO started\nINFO ready\n');
    assert.deepEqual(await readArtifact(dir, 'result.json'), { metrics: { output_throughput: 298.07 } });
    assert.equal(await readArtifact(dir, 'engine.log'), 'INFO started\nINFO ready\n');
    assert.equal(
      await readArtifactText(dir, 'result.json'),
      '{\n  "metrics": {\n    "output_throughput": 298.07\n  }\n}\n',
    );
    assert.deepEqual(await listArtifacts(dir), ['engine.log', 'result.json']);
  });

  it('returns null and an empty list for what does not exist', async () => {
    const dir = freshDir();
    assert.equal(await readArtifact(dir, 'result.json'), null);
    assert.deepEqual(await listArtifacts(dir), []);
    assert.deepEqual(await removePartialArtifacts(dir), []);
  });

  it('a corrupt JSON artifact fails with what to do', async () => {
    const dir = freshDir();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'result.json'), '{"metrics": ');
    await assert.rejects(readArtifact(dir, 'result.json'), /is not valid JSON.*delete it/);
  });

  it('concurrent writers to one name leave exactly one complete version and no temporaries', async () => {
    const dir = freshDir();
    const versions = Array.from({ length: 16 }, (_, i) => String.fromCharCode(97 + i).repeat(256 * 1024));
    await Promise.all(versions.map((v) => writeArtifact(dir, 'requests.json', v)));
    const final = await readArtifactText(dir, 'requests.json');
    assert.ok(final !== null && versions.includes(final), 'the file is one whole version, never a mix');
    assert.deepEqual(fs.readdirSync(dir), ['requests.json']);
  });

  it('overwriting replaces the whole file', async () => {
    const dir = freshDir();
    await writeArtifact(dir, 'telemetry.json', { samples: Array.from({ length: 1000 }, (_, i) => i) });
    await writeArtifact(dir, 'telemetry.json', { samples: [] });
    assert.deepEqual(await readArtifact(dir, 'telemetry.json'), { samples: [] });
  });
});

describe('artifacts: a killed predecessor', () => {
  it('its half-written temporary is invisible under the final name and is removed on retry', async () => {
    const dir = freshDir();
    await writeArtifact(dir, 'telemetry.json', { samples: [1, 2, 3] });
    // What a worker killed between write and rename leaves behind.
    fs.writeFileSync(path.join(dir, 'result.json.tmp-4242-0a1b2c3d4e5f'), '{"metrics": {"output_thr');
    fs.writeFileSync(path.join(dir, 'engine.log.tmp-17-ff'), 'INFO load');

    assert.equal(await readArtifact(dir, 'result.json'), null, 'no result: the run did not finish');
    assert.deepEqual(await listArtifacts(dir), ['telemetry.json']);
    assert.deepEqual(await removePartialArtifacts(dir), ['engine.log.tmp-17-ff', 'result.json.tmp-4242-0a1b2c3d4e5f']);
    assert.deepEqual(fs.readdirSync(dir), ['telemetry.json']);
    assert.deepEqual(await readArtifact(dir, 'telemetry.json'), { samples: [1, 2, 3] });
  });
});

/**
 * A corpus of invalid and hostile experiment files (test/bad-experiments/): each is rejected before anything
 * runs, with exit 2 and the path of the offending field. Free-form strings that are legitimately allowed reach
 * commands as single literal argv elements, never through a shell. Activities validate again at their boundary,
 * since `temporal workflow start` bypasses the CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { jetsonProfile } from '../activities/device-profile.js';
import { createDeviceActivities } from '../activities/device.js';
import { buildEngineLaunch } from '../activities/engine-command.js';
import { createEngineActivities } from '../activities/engine.js';
import { decodeExperimentText, InvalidExperimentError } from '../cli/experiment-file.js';
import { EngineSpec, ModelSpec, parseExperiment } from '../schema/experiment.js';
import { runCli } from './helpers/cli.js';
import { repoPath, tempDir } from './helpers/files.js';

const corpus = repoPath('test', 'bad-experiments');
const expected: Record<string, string> = JSON.parse(readFileSync(path.join(corpus, 'expected-paths.json'), 'utf8'));

function problemPaths(file: string): string[] {
  const text = readFileSync(path.join(corpus, file), 'utf8');
  try {
    const parsed = parseExperiment(decodeExperimentText(file, text));
    assert.equal(parsed.ok, false, `${file} must be rejected`);
    return parsed.ok ? [] : parsed.problems.map((p) => p.path);
  } catch (err) {
    assert.ok(err instanceof InvalidExperimentError, `${file}: ${(err as Error).message}`);
    return err.problems.map((p) => p.path);
  }
}

describe('bad input', () => {
  it('the corpus has at least 30 files and every file is listed', () => {
    const files = readdirSync(corpus).filter((f) => f !== 'expected-paths.json');
    assert.ok(files.length >= 30, `${files.length} files`);
    assert.deepEqual(files.sort(), Object.keys(expected).sort());
  });

  it('rejects every file, naming the offending field', () => {
    for (const [file, wanted] of Object.entries(expected)) {
      const paths = problemPaths(file);
      assert.ok(
        paths.some((p) => p === wanted || p.startsWith(`${wanted}.`) || p.startsWith(`${wanted}[`)),
        `${file}: expected a problem at ${wanted}, got ${JSON.stringify(paths)}`,
      );
    }
  });

  it('the CLI exits 2 on every file and starts nothing', { timeout: 300_000 }, async () => {
    const home = tempDir('bad-input');
    const env = {
      THORBENCH_HOME: path.join(home, 'home'),
      THORBENCH_RESULTS: path.join(home, 'results'),
      TEMPORAL_ADDRESS: '',
    };
    const files = Object.keys(expected);
    for (let i = 0; i < files.length; i += 4) {
      await Promise.all(
        files.slice(i, i + 4).map(async (file) => {
          const command = i % 8 === 0 ? 'run' : 'validate';
          const r = await runCli(
            [command, path.join(corpus, file), '--device', 'sim'].slice(0, command === 'run' ? 4 : 2),
            { env, timeoutMs: 60_000 },
          );
          assert.equal(r.code, 2, `${command} ${file}: exit ${r.code}\n${r.stderr}`);
          assert.match(r.stderr, /invalid experiment|cannot read/);
        }),
      );
    }
    // `run` stopped before starting a server, a simulator or a results database.
    assert.equal(existsSync(path.join(home, 'home')), false);
    assert.equal(existsSync(path.join(home, 'results')), false);
  });

  it('a legitimately free-form value reaches docker as one literal argv element', () => {
    const hostile = '$(reboot); `id` && echo pwned | sh > /etc/x';
    const launch = buildEngineLaunch({
      sweepId: 's',
      cellId: 'c',
      engineGroup: 'maxn.m',
      engine: EngineSpec.parse({}),
      model: ModelSpec.parse({ id: 'm', path: 'Qwen/Qwen3-8B', quantization: 'bf16', env: { VLLM_EXTRA: hostile } }),
      simulated: true,
    });
    assert.ok(launch.dockerArgs.includes(`VLLM_EXTRA=${hostile}`));
    assert.equal(launch.dockerArgs[launch.dockerArgs.indexOf(`VLLM_EXTRA=${hostile}`) - 1], '-e');
  });

  it('activities validate their input again (temporal workflow start bypasses the CLI)', async () => {
    const profile = jetsonProfile({ id: 'x', resultsDir: tempDir('boundary'), sudo: true });
    const device = createDeviceActivities(profile);
    await assert.rejects(device.ensurePowerMode({ power: { mode: '$(reboot)' } }), /nvpmodel mode name/);
    await assert.rejects(device.ensureClocks({ clocks: 'turbo' as 'locked' }), /Invalid/);
    const engine = createEngineActivities(profile);
    await assert.rejects(
      engine.startEngine({
        sweepId: 's',
        cellId: 'c',
        engineGroup: 'g',
        engine: EngineSpec.parse({}),
        model: { id: 'm', path: '../../etc', quantization: 'fp8', servedName: 'x', env: {}, serveArgs: [] },
      }),
      /modelsDir/,
    );
  });
});

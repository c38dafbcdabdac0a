/**
 * The live view through the real CLI, over two demo sweeps: `thorbench run` and `thorbench status --follow` as
 * subprocesses (their stdout and stderr are pipes) write one plain line per finished cell and nothing per second; in
 * tmux panes (terminals) `thorbench status --follow` (first sweep) and `thorbench run` (second) redraw one view in
 * place, with the cell and step in flight and the time left. While the first sweep runs, a benchmark's heartbeat
 * details are read from the server. Then `thorbench report` of the same sweep: Markdown with its charts beside it,
 * one self-contained HTML file, and `--compare` in every format.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { stopDevServer } from '../server/dev-server.js';
import { progressQuery } from '../workflows/messages.js';
import { tempDir } from './helpers/files.js';
import { demoRun } from './helpers/sim-device.js';
import { sleep } from './helpers/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(root, 'bin', 'thorbench.js');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function thorbench(args: string[], env: Record<string, string>, timeoutMs = 300_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const FINISHED_LINE = /^\[(\d+)\/8\] (succeeded|failed|skipped|cancelled) (\S+)(?: {2}(.*))?$/;

function finishedLines(stderr: string): RegExpExecArray[] {
  return stderr.split('\n').flatMap((l) => {
    const m = FINISHED_LINE.exec(l);
    return m ? [m] : [];
  });
}

/** The view's summary line: bar, cells, counts, elapsed and time left. */
const VIEW_LINE =
  /\[[#-]{24}\] \d\/8 cells \| ok \d \| failed 0 \| skipped 0 \| elapsed \d\d:\d\d \| left (~\d\d:\d\d|—)/;

function hasTmux(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

interface TmuxRun {
  code: number;
  snapshots: string[];
  history: string;
}

/**
 * Runs thorbench in a detached tmux pane (a real terminal, 160×50) on a private tmux server (one per `name`) and
 * captures the screen every half second until the command exits. Returns its exit status and the screens seen.
 */
async function runInTmux(name: string, args: string[], env: Record<string, string>): Promise<TmuxRun> {
  const socket = `thorbench-test-${process.pid}-${name}`;
  const tmux = (...a: string[]) => spawnSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' });
  const quote = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`);
  const command = [
    'cd',
    quote(root),
    '&&',
    'env',
    ...envArgs,
    quote(process.execPath),
    quote(bin),
    ...args.map(quote),
    '; echo "EXIT:$?"; sleep 600',
  ].join(' ');
  const started = tmux('new-session', '-d', '-s', 'run', '-x', '160', '-y', '50', command);
  assert.equal(started.status, 0, started.stderr);
  const snapshots: string[] = [];
  try {
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline) {
      const pane = tmux('capture-pane', '-p', '-t', 'run').stdout.replace(/\s+$/gm, '').trimEnd();
      snapshots.push(pane);
      const exit = /^EXIT:(\d+)$/m.exec(pane);
      if (exit) {
        // The whole scrollback: the finished cells scrolled up above the view, then the report.
        const history = tmux('capture-pane', '-p', '-S', '-', '-t', 'run').stdout.replace(/\s+$/gm, '');
        return { code: Number(exit[1]), snapshots, history };
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`thorbench ${args.join(' ')} did not finish in the tmux pane:\n${snapshots.at(-1)}`);
  } finally {
    tmux('kill-server');
  }
}

/** The cell and step lines the view shows under its summary line. */
const IN_FLIGHT = /^ {2}\S+ {2}\S+\.r1 {2}\S+ for (\d\d:\d\d|—)$/m;
// What else the view shows: a cell whose first step has not been announced yet (steps are announced once they have
// run half a second), the start while the sweep asks the device where it stands, and the sweep's state between
// cells and at the end.
const OTHER = /^ {2}(\S+ {2}\S+\.r1 {2}—|waiting for a device worker|running|completed)$/m;

/** A command in a tmux pane redrew one view in place and left the 8 finished cells above it; returns its views. */
function assertTerminalViews(who: string, t: TmuxRun): string[] {
  assert.equal(t.code, 0, `${who}: ${t.snapshots.at(-1)}`);
  const views = t.snapshots.filter((p) => VIEW_LINE.test(p));
  assert.ok(views.length >= 3, `${who}: the view was seen while the sweep ran:\n${t.snapshots.at(-1)}`);
  for (const pane of views) {
    // Redrawn in place: one summary line on the screen at any time, however many seconds passed.
    assert.equal(pane.split('\n').filter((l) => VIEW_LINE.test(l)).length, 1, `${who}:\n${pane}`);
    assert.ok(IN_FLIGHT.test(pane) || OTHER.test(pane), `${who}: the view says what is in flight:\n${pane}`);
  }
  assert.ok(
    views.some((pane) => IN_FLIGHT.test(pane)),
    `${who}: the cell and step in flight were seen:\n${views.at(-1)}`,
  );
  const finished = t.history.split('\n').filter((l) => /^\[\d\/8\] succeeded /.test(l));
  assert.equal(finished.length, 8, `${who}: finished cells above the view:\n${t.history}`);
  return views;
}

/**
 * Reads, while the sweep runs, the heartbeat details of a cell's pending benchmark activity as the server keeps
 * them (what the Web UI shows). Resolves with the first found, or null if the sweep ended first.
 */
async function benchmarkHeartbeat(
  port: number,
  sweepId: string,
  ended: Promise<unknown>,
): Promise<{ cellId: string; details: unknown } | null> {
  let over = false;
  void ended.finally(() => (over = true));
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  try {
    const client = new Client({ connection });
    while (!over) {
      const progress = await client.workflow
        .getHandle(sweepId)
        .query(progressQuery)
        .catch(() => null);
      for (const { cellId } of progress?.current ?? []) {
        const described = await client.workflow
          .getHandle(`${sweepId}/${cellId}`)
          .describe()
          .catch(() => null);
        for (const a of described?.raw.pendingActivities ?? []) {
          const payload = a.heartbeatDetails?.payloads?.[0];
          if (a.activityType?.name === 'benchmark' && payload)
            return { cellId, details: defaultPayloadConverter.fromPayload(payload) };
        }
      }
      await sleep(200);
    }
    return null;
  } finally {
    await connection.close();
  }
}

async function waitUntilRunning(port: number, workflowId: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1_000 });
      try {
        const d = await new Client({ connection }).workflow.getHandle(workflowId).describe();
        if (d.status.name === 'RUNNING') return;
      } finally {
        await connection.close();
      }
    } catch {
      // server not up yet, or the sweep not started yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`sweep ${workflowId} did not start`);
}

describe('thorbench live view', { timeout: 600_000 }, () => {
  const dir = tempDir('cli-progress');
  after(() => stopDevServer(path.join(dir, 'home')));

  it('run and status --follow: a line per finished cell off a terminal, one view with the time left on one; report', async () => {
    assert.ok(
      hasTmux(),
      'tmux is missing: this test drives thorbench on a terminal in tmux panes (apt-get install -y tmux; .ci/run does)',
    );
    const { env, temporalPort: port } = await demoRun(dir);
    const running = thorbench(['run', 'experiments/demo-sim.json', '--device', 'sim', '--id', 'live-a'], env);
    // A run that ends before its sweep is seen running (e.g. no Temporal CLI) fails here with its own output.
    await Promise.race([
      waitUntilRunning(port, 'live-a'),
      running.then((r) =>
        assert.fail(`thorbench run ended before its sweep ran (exit ${r.code}):\n${r.stdout}\n${r.stderr}`),
      ),
    ]);
    // The same sweep followed off a terminal and on one, and its benchmarks' heartbeats read from the server.
    const [followed, followedLive, beat] = await Promise.all([
      thorbench(['status', 'live-a', '--follow'], env),
      runInTmux('follow', ['status', 'live-a', '--follow'], env),
      benchmarkHeartbeat(port, 'live-a', running),
    ]);
    const ran = await running;
    assert.equal(ran.code, 0, `${ran.stdout}\n${ran.stderr}`);
    assert.equal(followed.code, 0, `${followed.stdout}\n${followed.stderr}`);

    for (const [who, r] of [
      ['run', ran],
      ['status --follow', followed],
    ] as const) {
      const lines = finishedLines(r.stderr);
      assert.equal(lines.length, 8, `${who}: one line per cell\n${r.stderr}`);
      assert.equal(new Set(lines.map((m) => m[3])).size, 8, `${who}: each cell once`);
      assert.deepEqual(
        lines.map((m) => Number(m[1])),
        [1, 2, 3, 4, 5, 6, 7, 8],
        `${who}: numbered in order`,
      );
      for (const m of lines) {
        assert.equal(m[2], 'succeeded');
        assert.match(
          m[4] ?? '',
          /^\d+\.\d\d tok\/s, TTFT \d+\.\d\d ms, TPOT \d+\.\d\d ms$/,
          `${who}: headline metrics from the store`,
        );
      }
      assert.ok(
        !/elapsed/.test(r.stderr) && !r.stderr.includes('\u001b['),
        `${who}: no per-second view, no escape sequences\n${r.stderr}`,
      );
    }
    assert.match(followed.stdout, /^live-a \(demo-sim\): completed/m);

    // The default (vllm) harness: requests done and in all; failed is null, vLLM's client says only at the end.
    assert.ok(beat, 'a running benchmark with heartbeat details was seen');
    const { done, failed, total, ...rest } = beat.details as Record<string, unknown>;
    assert.deepEqual(rest, {}, `only done, failed and total: ${JSON.stringify(beat.details)}`);
    assert.equal(failed, null);
    assert.equal(total, beat.cellId.includes('high-load') ? 16 : 4, `${beat.cellId}: its scenario's prompts`);
    assert.ok(typeof done === 'number' && done >= 0 && done <= total, `done ${String(done)} of ${total}`);

    // The same sweep again under another id, to compare against, with `thorbench run` on a terminal.
    const runLive = await runInTmux(
      'run',
      ['run', 'experiments/demo-sim.json', '--device', 'sim', '--id', 'live-b'],
      env,
    );
    const views = [...assertTerminalViews('status --follow', followedLive), ...assertTerminalViews('run', runLive)];
    assert.match(followedLive.history, /^live-a \(demo-sim\): completed/m, 'the status after the view');
    assert.ok(
      views.some((pane) => /\| left ~\d\d:\d\d$/m.test(pane)),
      `the time left was estimated in some view:\n${views.join('\n\n')}`,
    );

    const mdDir = path.join(dir, 'md');
    const md = await thorbench(['report', 'live-a', '--format', 'md', '--out', mdDir], env);
    assert.equal(md.code, 0, md.stderr);
    const text = readFileSync(path.join(mdDir, 'report.md'), 'utf8');
    const images = [...text.matchAll(/!\[[^\]]+\]\(([^)]+)\)/g)].map((m) => m[1]!);
    assert.ok(images.length >= 6, `charts linked from the Markdown: ${images.join(', ')}`);
    for (const img of images) {
      const svg = readFileSync(path.join(mdDir, img), 'utf8');
      assert.match(svg, /^<\?xml[^]*<svg /, img);
    }
    assert.deepEqual(
      readdirSync(mdDir)
        .filter((f) => f.endsWith('.svg'))
        .sort(),
      [...images].sort(),
    );
    assert.ok(text.includes('## Power mode × jetson_clocks'), 'the demo varies the clocks');
    // The demo's harness keeps per-request latencies: the distributions are drawn from them.
    assert.ok(readFileSync(path.join(mdDir, 'chart-latency-distributions.svg'), 'utf8').includes('over every request'));

    // One self-contained HTML file: every chart inline SVG with drawn marks, nothing loaded from anywhere.
    const htmlFile = path.join(dir, 'r.html');
    const html = await thorbench(['report', 'live-a', '--format', 'html', '--out', htmlFile], env);
    assert.equal(html.code, 0, html.stderr);
    assert.equal(html.stdout.trim(), `wrote ${htmlFile}`);
    const page = readFileSync(htmlFile, 'utf8');
    assert.match(page, /^<!DOCTYPE html>/);
    const figures = page.split('<figure class="chart"').slice(1);
    assert.ok(figures.length >= 6, `${figures.length} charts`);
    for (const f of figures) {
      const chart = f.slice(0, f.indexOf('</figure>'));
      assert.match(chart, /<svg [^]*class="[^"]*role-mark[^"]*"[^>]*>\s*<(path|line|rect|text)\b/, chart.slice(0, 200));
    }
    assert.ok(!/<script/i.test(page), 'no script');
    assert.ok(!/<link\b/i.test(page), 'no linked stylesheet');
    assert.ok(!/@import/i.test(page), 'no imported stylesheet');
    const loads =
      page.match(/\b(?:src|href|xlink:href|srcset|poster|data)\s*=\s*["']?\s*(?:https?:)?\/\/[^"'\s>]*/gi) ?? [];
    const cssUrls = page.match(/url\(\s*["']?\s*(?:https?:)?\/\/[^)]*\)/gi) ?? [];
    assert.deepEqual([...loads, ...cssUrls], [], 'nothing loaded over the network');

    const cmp = (format: string, ...more: string[]) =>
      thorbench(['report', 'live-a', '--compare', 'live-b', '--format', format, ...more], env);
    const [cmpMd, cmpCsv, cmpJson, cmpHtml] = await Promise.all([cmp('md'), cmp('csv'), cmp('json'), cmp('html')]);
    for (const r of [cmpMd, cmpCsv, cmpJson, cmpHtml]) assert.equal(r.code, 0, r.stderr);
    assert.match(cmpMd.stdout, /## Comparison: live-b \(b\) against live-a \(a\)/);
    assert.equal(cmpMd.stdout.split('\n').filter((l) => /^\| maxn\./.test(l)).length, 8);
    assert.match(cmpMd.stdout, /\| \d+\.\d\d → \d+\.\d\d \([+−±]\d+\.\d\d, [+−±]\d+\.\d %\) \|/);
    assert.equal(cmpCsv.stdout.trim().split('\r\n').length, 9);
    assert.ok(cmpCsv.stdout.startsWith('sweep_a,sweep_b,cell_id,repeat,request_throughput_a,'));
    const json = JSON.parse(cmpJson.stdout);
    assert.equal(json.cells.length, 8);
    assert.equal(typeof json.cells[0].metrics.output_throughput.relative, 'number');
    assert.match(cmpHtml.stdout, /^<!DOCTYPE html>[^]*<svg /);
    const cmpOut = path.join(dir, 'cmp');
    const written = await cmp('md', '--out', cmpOut);
    assert.equal(written.code, 0, written.stderr);
    assert.ok(existsSync(path.join(cmpOut, 'compare.md')) && existsSync(path.join(cmpOut, 'chart-compare.svg')));
  });
});

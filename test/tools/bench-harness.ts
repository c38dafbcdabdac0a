/**
 * `npm run bench:harness`: how exactly, and up to what load, thorbench's builtin harness measures.
 * `npm run -s bench:harness -- --json` prints only the result as JSON on stdout (`-s` keeps npm's own banners out;
 * the progress lines go to stderr):
 * `{"fidelity": [{"concurrency", "ttft_error_ms", "itl_error_ms"} at 1, 8 and 64],
 *   "capacity": {"streams", "chunks_per_s"}}`.
 *
 * The simulated engine runs as its own process with its token trace on (THORBENCH_SIM_TOKEN_TRACE): for every
 * streamed request it records when the request arrived and when each token chunk was handed to the socket. That is
 * the truth the harness is measured against, on one machine's clock (epoch ms at sub-ms resolution in both
 * processes).
 *
 * - fidelity, at concurrency 1, 8 and 64: mean TTFT and mean ITL as the harness measured them minus the same means
 *   of the truth (TTFT = first token sent − the harness's start of the request; ITL = gaps between tokens sent), in
 *   ms. Goal: ≤ 1 ms.
 * - capacity: concurrent streams rising from 1 (1, 2, 4, 8, 16, …; every stream decoding together) until the
 *   harness's own overhead moves p99 ITL by more than 1 ms: the p99 of the harness's ITLs minus the truth's p99,
 *   compared with the same difference at 1 stream, where the harness has one chunk to handle at a time (what is left
 *   there is the machine's own scheduling noise and the per-chunk cost any client pays). Reports the last level
 *   within 1 ms, with the chunks per second the harness received there; 1 stream when 2 already move it more. The
 *   harness is one Node.js event loop: one core. Harness and engine run at raised priority when permitted (root), so
 *   other work on the machine disturbs them less.
 *
 * A benchmark, not a test: numbers depend on the machine and its load. Measured figures are in the README.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLoad } from '../../activities/harness/loadgen.js';
import { promptTokens } from '../../activities/harness/prompts.js';
import { mean, percentile } from '../../metrics/stats.js';
import { ensureSimDevice } from '../../sim/device.js';
import { TOKEN_TRACE_ENV, type TokenTrace } from '../../sim/engine-http.js';
import { promptSeed } from '../../sim/generated-text.js';
import { ENGINE_SERVER_JS, SIM_DIR_ENV, simLayout } from '../../sim/layout.js';
import { updateDeviceState } from '../../sim/sim-state.js';
import { freePort } from '../helpers/net.js';
import { destroySimDevice, waitForHealthy } from '../helpers/sim-device.js';

/** One fidelity level as the JSON reports it. */
interface Fidelity {
  concurrency: number;
  ttft_error_ms: number;
  itl_error_ms: number;
}

/** One capacity level as the JSON reports it. */
interface Capacity {
  streams: number;
  chunks_per_s: number;
}

/** Stream counts tried for the capacity, from one stream (the baseline) up. */
const CAPACITY_LEVELS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
/** Prompts per capacity run: at least this many, so a level of few streams still gives a p99 over many ITLs. */
const CAPACITY_MIN_PROMPTS = 8;

/** Raises a process's priority when permitted; returns whether it could. */
function raisePriority(pid: number): boolean {
  try {
    os.setPriority(pid, -10);
    return true;
  } catch {
    return false;
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const SEED = 11;
/** Simulated device speed for the capacity levels (every engine delay divided by it). */
const CAPACITY_SPEED = 8;
const CAPACITY_RUNS = 3;

async function startEngine(simDir: string, traceFile: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      ENGINE_SERVER_JS,
      'serve',
      '/models/Qwen/Qwen3-8B-FP8',
      '--served-model-name',
      'qwen3',
      '--port',
      String(port),
      '--max-model-len',
      '4096',
      '--max-num-seqs',
      '1024',
    ],
    { stdio: 'ignore', env: { ...process.env, [SIM_DIR_ENV]: simDir, [TOKEN_TRACE_ENV]: traceFile } },
  );
  await waitForHealthy(port, 60_000);
  return child;
}

function readTrace(file: string): TokenTrace[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as TokenTrace);
}

/**
 * One load run. TTFT's truth follows vLLM's definition (from the moment the client starts the request) on the
 * engine's clock: first token sent − request started (the harness's own start time, as epoch ms), so the error is
 * what the harness adds on the way back: socket, HTTP, SSE parsing, event-loop delay. ITL's truth is the gaps
 * between tokens sent. Requests are matched to the trace by their prompt.
 */
async function measure(
  port: number,
  traceFile: string,
  opts: { concurrency: number; numPrompts: number; inputLen: number; outputLen: number },
) {
  fs.writeFileSync(traceFile, '');
  let windowStartEpoch = 0;
  const load = await runLoad({
    baseUrl: `http://127.0.0.1:${port}`,
    model: 'qwen3',
    inputLen: opts.inputLen,
    outputLen: opts.outputLen,
    numPrompts: opts.numPrompts,
    maxConcurrency: opts.concurrency,
    seed: SEED,
    onStart: () => {
      windowStartEpoch = performance.timeOrigin + performance.now();
    },
  });
  // The engine appends a request's trace when its last token is sent; give the last appends a moment.
  await new Promise((r) => setTimeout(r, 200));
  const bySeed = new Map(
    readTrace(traceFile)
      .filter((t) => t.arrivedMs >= windowStartEpoch)
      .map((t) => [t.promptSeed, t]),
  );
  const ok = load.requests.filter((r) => r.success);
  if (ok.length !== opts.numPrompts)
    throw new Error(`bench:harness: ${opts.numPrompts - ok.length} of ${opts.numPrompts} requests failed`);
  const harnessTtft: number[] = [];
  /** Harness start of a request → the engine's arrival: the send path, part of TTFT by vLLM's definition. */
  const sendPath: number[] = [];
  const trueTtft: number[] = [];
  load.requests.forEach((r, i) => {
    const t = bySeed.get(promptSeed(promptTokens(SEED, i, opts.inputLen)));
    if (!t) throw new Error(`bench:harness: the engine traced no request for prompt ${i}`);
    harnessTtft.push(r.ttftS * 1000);
    trueTtft.push(t.tokenMs[0]! - (windowStartEpoch + r.startS * 1000));
    sendPath.push(t.arrivedMs - (windowStartEpoch + r.startS * 1000));
  });
  const harnessItl = ok.flatMap((r) => r.itlS.map((g) => g * 1000));
  const trueItl = [...bySeed.values()].flatMap((t) => t.tokenMs.slice(1).map((ms, i) => ms - t.tokenMs[i]!));
  return { load, harnessTtft, harnessItl, trueTtft, trueItl, sendPath };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  // With --json stdout carries only the result; the progress lines go to stderr.
  const log = (line: string): void => void (json ? process.stderr : process.stdout).write(`${line}\n`);
  const simDir = fs.mkdtempSync(path.join(os.tmpdir(), 'thorbench-bench-harness-'));
  const traceFile = path.join(simDir, 'token-trace.jsonl');
  let engine: ChildProcess | undefined;
  try {
    // MAXN with locked clocks: the guide's fastest setting, so ITLs are the shortest the harness must resolve.
    ensureSimDevice(simDir, { speed: 1, powerModeId: 0 });
    updateDeviceState(simLayout(simDir), (s) => {
      s.clocks.locked = true;
    });
    const port = await freePort();
    engine = await startEngine(simDir, traceFile, port);
    const prioritised = raisePriority(0) && engine.pid !== undefined && raisePriority(engine.pid);
    await measure(port, traceFile, { concurrency: 8, numPrompts: 16, inputLen: 128, outputLen: 16 }); // warm both processes' JITs

    const fidelity: Fidelity[] = [];
    for (const [concurrency, numPrompts] of [
      [1, 16],
      [8, 64],
      [64, 256],
    ] as const) {
      const m = await measure(port, traceFile, { concurrency, numPrompts, inputLen: 512, outputLen: 64 });
      const f: Fidelity = {
        concurrency,
        ttft_error_ms: round3(mean(m.harnessTtft)! - mean(m.trueTtft)!),
        itl_error_ms: round3(mean(m.harnessItl)! - mean(m.trueItl)!),
      };
      fidelity.push(f);
      const p99 = round3(percentile(m.harnessItl, 99)! - percentile(m.trueItl, 99)!);
      log(
        `fidelity c=${concurrency}: TTFT error ${f.ttft_error_ms} ms, ITL error ${f.itl_error_ms} ms ` +
          `(p99 ITL error ${p99} ms, send path ${round3(mean(m.sendPath)!)} ms) over ${numPrompts} requests`,
      );
    }

    // Capacity needs more chunks per second than the guide's ITLs give at these concurrencies: the engine runs 8×
    // faster (the device's speed setting), so the harness, not the engine's pace, is what saturates.
    updateDeviceState(simLayout(simDir), (s) => {
      s.speed = CAPACITY_SPEED;
    });
    await new Promise((r) => setTimeout(r, 500)); // the engine re-reads the device state
    let capacity: Capacity | null = null;
    let baseline: number | null = null;
    let exceeded = false;
    for (const streams of CAPACITY_LEVELS) {
      // Three runs per level, the median kept: a single run's p99 moves by milliseconds when the machine is busy.
      const runs: { error: number; chunksPerS: number }[] = [];
      for (let k = 0; k < CAPACITY_RUNS; k++) {
        const m = await measure(port, traceFile, {
          concurrency: streams,
          numPrompts: Math.max(streams, CAPACITY_MIN_PROMPTS),
          inputLen: 32,
          outputLen: 256,
        });
        const chunks = m.harnessItl.length + m.harnessTtft.length;
        runs.push({
          error: percentile(m.harnessItl, 99)! - percentile(m.trueItl, 99)!,
          chunksPerS: chunks / m.load.durationS,
        });
      }
      runs.sort((a, b) => a.error - b.error);
      const { error, chunksPerS } = runs[Math.floor(runs.length / 2)]!;
      baseline ??= error;
      const shift = round3(error - baseline);
      const level: Capacity = { streams, chunks_per_s: Math.round(chunksPerS) };
      log(
        `capacity ${streams} stream(s): ${level.chunks_per_s} chunks/s, p99 ITL error ${round3(error)} ms ` +
          `(${shift} ms over 1 stream)`,
      );
      if (shift > 1) {
        exceeded = true;
        break;
      }
      capacity = level;
    }
    // The first level is the baseline (shift 0), so capacity is always set.
    const result = { fidelity, capacity: capacity! };
    const worst = Math.max(...fidelity.flatMap((f) => [Math.abs(f.ttft_error_ms), Math.abs(f.itl_error_ms)]));
    const { streams, chunks_per_s } = capacity!;
    log(
      `worst mean error ${round3(worst)} ms; capacity ${streams} streams, ${chunks_per_s} chunks/s` +
        `${exceeded ? '' : ` (p99 ITL never moved by 1 ms up to ${streams} streams: a lower bound)`}; ` +
        `raised priority: ${prioritised ? 'yes' : 'no (not permitted)'}`,
    );
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    engine?.kill('SIGTERM');
    destroySimDevice(simDir);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:harness failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});

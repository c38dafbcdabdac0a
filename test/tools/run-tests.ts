// The test suite, as `npm test` runs it (after `npm run build`, as dist/test/tools/run-tests.js): Node's test runner
// over dist/test/*.test.js in two passes, each printing the runner's own summary, then one line for both.
//
// 1. Most files run a few at a time (THORBENCH_TEST_CONCURRENCY, default 3). Each starts its own Temporal dev server,
//    simulated devices and ports, so they do not share state; they spend most of their time waiting on Temporal and on
//    simulated engines that sleep, which is why they overlap well even on two cores.
// 2. The files that measure time on the live simulated engine run one at a time, alone on the machine: a busy machine
//    moves their numbers (engine steps run in real time, and a client's CPU time counts in TTFT). So does the
//    resilience test, which kills processes on purpose (see ALONE).
//
// Exit status: non-zero when either pass failed. Arguments are passed on to both passes (e.g. --test-name-pattern).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.join(dir, '..', '..');

/** Files that compare timings measured on a live simulated engine: they run alone (pass 2). */
const ALONE = new Set([
  'conformance-vllm.test.js', // vLLM's Python client against the builtin harness, 2 % apart at most
  'sim-fidelity.test.js', // the live engine against the guide's latencies, and the same run in virtual time
  'slo-search-sim.test.js', // a capacity search against an exhaustive sweep of measured p99 TTFTs
  // SIGKILLs device workers and the Temporal server, and needs ten kills to land before its sweep ends; run side by
  // side, the whole test run was lost three times out of three during its chaos test (cause not found yet).
  'resilience.test.js',
]);

const all = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .sort();
const missing = [...ALONE].filter((f) => !all.includes(f));
if (missing.length > 0) {
  console.error(`test/tools/run-tests.ts: ${missing.join(', ')} not found in dist/test (renamed? update ALONE)`);
  process.exit(2);
}
const together = all.filter((f) => !ALONE.has(f));
const alone = all.filter((f) => ALONE.has(f));
const concurrency = Number(process.env.THORBENCH_TEST_CONCURRENCY ?? 3);
if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
  console.error(
    `THORBENCH_TEST_CONCURRENCY must be a whole number ≥ 1 (got ${process.env.THORBENCH_TEST_CONCURRENCY})`,
  );
  process.exit(2);
}

function pass(label: string, files: string[], n: number): { ok: boolean; seconds: number } {
  console.log(`\n== ${label}: ${files.length} files, ${n} at a time`);
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${n}`, ...process.argv.slice(2), ...files.map((f) => path.join(dir, f))],
    { cwd: root, stdio: 'inherit' },
  );
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`== ${label}: ${r.status === 0 ? 'passed' : `FAILED (exit ${r.status ?? r.signal})`} in ${seconds} s`);
  return { ok: r.status === 0, seconds };
}

const first = pass('pass 1, side by side', together, concurrency);
const second = pass('pass 2, alone (timing-sensitive)', alone, 1);
console.log(
  `\n== test suite: ${first.ok && second.ok ? 'passed' : 'FAILED'} in ${first.seconds + second.seconds} s ` +
    `(pass 1 ${first.ok ? 'ok' : 'failed'}, pass 2 ${second.ok ? 'ok' : 'failed'})`,
);
process.exit(first.ok && second.ok ? 0 : 1);

// The test suite, as `npm test` runs it (after `npm run build`, as dist/test/tools/run-tests.js): Node's test runner
// over dist/test/*.test.js in two passes, each printing the runner's own summary, then one line for both.
//
// 1. Most files run a few at a time (THORBENCH_TEST_CONCURRENCY, default 3). Each starts its own Temporal dev server,
//    simulated devices and ports, so they do not share state; they spend most of their time waiting on Temporal and on
//    simulated engines that sleep, which is why they overlap well even on two cores. The slowest start first
//    (SLOWEST_FIRST), so that no long file begins when the others are nearly done.
// 2. The files that measure time on the live simulated engine run one at a time, alone on the machine: a busy machine
//    moves their numbers (engine steps run in real time, and a client's CPU time counts in TTFT). See ALONE.
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
]);

/**
 * The slowest side-by-side files, slowest first (their run times in a clean-clone CI run, in seconds). Every other
 * file follows in name order. Started last, any of these would run on alone at the end of pass 1.
 */
const SLOWEST_FIRST = [
  'resilience-chaos.test.js', // ~150: twelve SIGKILLs, each waiting out a heartbeat timeout and a retry back-off
  'cli-progress.test.js', // ~140: two demo runs through the CLI, one of them in a terminal
  'resilience.test.js', // ~100: engine faults, a reboot, a cancel, a Temporal server killed and restarted
  'cli.test.js', // ~80: the demo through `thorbench run`
  'sweep-scale.test.js', // ~50
  'workflows.test.js', // ~45
  'fleet-failover.test.js', // ~45
  'schedule-sim.test.js', // ~40
];

const all = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .sort();
const missing = [...ALONE, ...SLOWEST_FIRST].filter((f) => !all.includes(f));
if (missing.length > 0) {
  console.error(
    `test/tools/run-tests.ts: ${missing.join(', ')} not found in dist/test (renamed? update ALONE or SLOWEST_FIRST)`,
  );
  process.exit(2);
}
const rank = (f: string) => (SLOWEST_FIRST.includes(f) ? SLOWEST_FIRST.indexOf(f) : SLOWEST_FIRST.length);
const together = all.filter((f) => !ALONE.has(f)).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
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

// The test suite, as `npm test` runs it (after `npm run build`, as dist/test/tools/run-tests.js): each of
// dist/test/*.test.js under Node's test runner (`node --test <file>`, TAP), in two passes. A file's output is printed
// in one block when it ends; at the end come the slowest files and one summary of every file's counts.
// (Node's runner given many files would sort them by name; this one starts them in the order below.)
//
// 1. Most files run a few at a time (THORBENCH_TEST_CONCURRENCY, default 3). Each starts its own Temporal dev server,
//    simulated devices and ports, so they do not share state; they spend most of their time waiting on Temporal and on
//    simulated engines that sleep, which is why they overlap well even on two cores. The slowest start first
//    (SLOWEST_FIRST), so that no long file begins when the others are nearly done.
// 2. The files that measure time on the live simulated engine run one at a time, alone on the machine: a busy machine
//    moves their numbers (engine steps run in real time, and a client's CPU time counts in TTFT). See ALONE.
//
// Exit status: non-zero when either pass failed. Arguments are passed on to both passes (e.g. --test-name-pattern).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

interface FileRun {
  file: string;
  ok: boolean;
  seconds: number;
  /** The counts of the file's own summary (`# tests 12`, `# pass 12`, …); empty when the file printed none. */
  counts: Map<string, number>;
}

const COUNTS: readonly string[] = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];

/** Runs one test file under Node's test runner, its output kept together and printed when it ends. */
function runFile(file: string): Promise<FileRun> {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ['--test', '--test-reporter=tap', ...process.argv.slice(2), path.join(dir, file)],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => output.push(b));
  child.stderr.on('data', (b: Buffer) => output.push(b));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      const text = Buffer.concat(output).toString('utf8');
      const counts = new Map<string, number>();
      for (const m of text.matchAll(/^# (\w+) (\d+)$/gm)) if (COUNTS.includes(m[1]!)) counts.set(m[1]!, Number(m[2]));
      const ok = code === 0;
      const seconds = (Date.now() - started) / 1000;
      const status = ok ? 'ok' : `FAILED (${signal ?? `exit ${code}`}${counts.size === 0 ? ', no summary' : ''})`;
      process.stdout.write(`\n── ${file}: ${status} in ${seconds.toFixed(0)} s\n${text}`);
      resolve({ file, ok, seconds, counts });
    });
  });
}

/** The machine's CPU time so far, busy and total, in clock ticks (Linux's /proc/stat); null elsewhere. */
function cpuTicks(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** How busy the machine's CPUs were between two readings, e.g. " (CPU 87 % busy)"; empty when unknown. */
function busyPercent(before: ReturnType<typeof cpuTicks>, after: ReturnType<typeof cpuTicks>): string {
  if (!before || !after || after.total === before.total) return '';
  return ` (CPU ${Math.round((100 * (after.busy - before.busy)) / (after.total - before.total))} % busy)`;
}

/** Runs `files` n at a time, in the order given (Node's own runner would sort them by name). */
async function pass(label: string, files: string[], n: number): Promise<{ runs: FileRun[]; seconds: number }> {
  console.log(`\n== ${label}: ${files.length} files, ${n} at a time`);
  const started = Date.now();
  const ticks = cpuTicks();
  const queue = [...files];
  const runs: FileRun[] = [];
  const lane = async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) runs.push(await runFile(file));
  };
  await Promise.all(Array.from({ length: Math.min(n, files.length) }, lane));
  const seconds = Math.round((Date.now() - started) / 1000);
  const failed = runs.filter((r) => !r.ok).map((r) => r.file);
  const verdict = failed.length === 0 ? 'passed' : `FAILED (${failed.join(', ')})`;
  console.log(`\n== ${label}: ${verdict} in ${seconds} s${busyPercent(ticks, cpuTicks())}`);
  return { runs, seconds };
}

const first = await pass('pass 1, side by side', together, concurrency);
const second = await pass('pass 2, alone (timing-sensitive)', alone, 1);
const runs = [...first.runs, ...second.runs];
const ok = runs.every((r) => r.ok);

console.log('\n== where the time went (the ten slowest files)');
for (const r of [...runs].sort((a, b) => b.seconds - a.seconds).slice(0, 10))
  console.log(`${r.seconds.toFixed(0).padStart(6)} s  ${r.file}`);
console.log('\n== test suite summary');
for (const key of COUNTS) console.log(`# ${key} ${runs.reduce((sum, r) => sum + (r.counts.get(key) ?? 0), 0)}`);
console.log(`# files ${runs.length}, failed ${runs.filter((r) => !r.ok).length}`);
console.log(
  `== test suite: ${ok ? 'passed' : 'FAILED'} in ${first.seconds + second.seconds} s ` +
    `(pass 1 ${first.runs.every((r) => r.ok) ? 'ok' : 'failed'}, pass 2 ${second.runs.every((r) => r.ok) ? 'ok' : 'failed'})`,
);
process.exit(ok ? 0 : 1);

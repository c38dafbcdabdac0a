// The test suite, as `npm test` runs it (after `npm run build`, as dist/test/tools/run-tests.js): each of
// dist/test/*.test.js under Node's test runner (`node --test <file>`, TAP). A file's output is printed in one block
// when it ends; at the end come the slowest files and one summary of every file's counts. (Node's runner given many
// files would sort them by name; this one starts them in the order below.) Two groups run at the same time:
//
// 1. The timed files (TIMED) measure time on the live simulated engine: engine steps run in real time, and a client's
//    CPU time counts in TTFT, so a busy machine moves their numbers. They run one at a time, at normal priority.
// 2. Every other file runs a few at a time (THORBENCH_TEST_CONCURRENCY, default 3) at a lower priority (nice
//    BACKGROUND_NICE): Linux gives the timed files the CPU whenever they want it, and these take what is left. The
//    timed files mostly wait on engines that sleep (about a fifth of the two cores), so the rest barely slows down.
//    Each file starts its own Temporal dev server, simulated devices and ports, so files do not share state. The
//    slowest start first (SLOWEST_FIRST), so that no long file begins when the others are nearly done.
//
// Exit status: non-zero when any file failed. Arguments are passed on to every file (e.g. --test-name-pattern).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.join(dir, '..', '..');

/** Files that compare timings measured on a live simulated engine: one at a time, at normal priority. */
const TIMED = new Set([
  'conformance-vllm.test.js', // vLLM's Python client against the builtin harness, 2 % apart at most
  'sim-fidelity.test.js', // the live engine against the guide's latencies, and the same run in virtual time
  'slo-search-sim.test.js', // a capacity search against an exhaustive sweep of measured p99 TTFTs
  // a capacity search whose probes pass or miss on measured p99 TTFTs: starved at nice 19 while a timed file ran, one
  // probe below the boundary missed its SLO in a CI run, and the search never reached the probe the test kills
  'slo-search-kill-sim.test.js',
]);

/** The nice value of the files that are not timed (19 is the lowest priority). */
const BACKGROUND_NICE = 19;

/**
 * The slowest of the other files, slowest first (their run times in a clean-clone CI run, in seconds). The rest follow
 * in name order. Started last, any of these would run on alone at the end.
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
const missing = [...TIMED, ...SLOWEST_FIRST].filter((f) => !all.includes(f));
if (missing.length > 0) {
  console.error(
    `test/tools/run-tests.ts: ${missing.join(', ')} not found in dist/test (renamed? update TIMED or SLOWEST_FIRST)`,
  );
  process.exit(2);
}
const rank = (f: string) => (SLOWEST_FIRST.includes(f) ? SLOWEST_FIRST.indexOf(f) : SLOWEST_FIRST.length);
const others = all.filter((f) => !TIMED.has(f)).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
const timed = all.filter((f) => TIMED.has(f));
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
function runFile(file: string, nice: number): Promise<FileRun> {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ['--test', '--test-reporter=tap', ...process.argv.slice(2), path.join(dir, file)],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // Before the file starts anything (Node takes tens of milliseconds to boot): its servers, workers and simulated
  // engines inherit the priority.
  if (nice !== 0 && child.pid !== undefined) os.setPriority(child.pid, nice);
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

/** Runs `files` n at a time at priority `nice`, in the order given. */
async function group(
  label: string,
  files: string[],
  n: number,
  nice: number,
): Promise<{ runs: FileRun[]; seconds: number }> {
  console.log(`\n== ${label}: ${files.length} files, ${n} at a time${nice === 0 ? '' : `, at nice ${nice}`}`);
  const started = Date.now();
  const queue = [...files];
  const runs: FileRun[] = [];
  const lane = async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) runs.push(await runFile(file, nice));
  };
  await Promise.all(Array.from({ length: Math.min(n, files.length) }, lane));
  const seconds = Math.round((Date.now() - started) / 1000);
  const failed = runs.filter((r) => !r.ok).map((r) => r.file);
  console.log(`\n== ${label}: ${failed.length === 0 ? 'passed' : `FAILED (${failed.join(', ')})`} in ${seconds} s`);
  return { runs, seconds };
}

const started = Date.now();
const ticks = cpuTicks();
const [timedRuns, otherRuns] = await Promise.all([
  group('timed files', timed, 1, 0),
  group('other files', others, concurrency, BACKGROUND_NICE),
]);
const seconds = Math.round((Date.now() - started) / 1000);
const runs = [...timedRuns.runs, ...otherRuns.runs];
const ok = runs.every((r) => r.ok);

console.log('\n== where the time went (the ten slowest files)');
for (const r of [...runs].sort((a, b) => b.seconds - a.seconds).slice(0, 10))
  console.log(`${r.seconds.toFixed(0).padStart(6)} s  ${r.file}`);
console.log('\n== test suite summary');
for (const key of COUNTS) console.log(`# ${key} ${runs.reduce((sum, r) => sum + (r.counts.get(key) ?? 0), 0)}`);
console.log(`# files ${runs.length}, failed ${runs.filter((r) => !r.ok).length}`);
console.log(
  `== test suite: ${ok ? 'passed' : 'FAILED'} in ${seconds} s${busyPercent(ticks, cpuTicks())} ` +
    `(timed files ${timedRuns.seconds} s, other files ${otherRuns.seconds} s)`,
);
process.exit(ok ? 0 : 1);

/**
 * `npm run bench:orchestration -- --cells N [--json]`: what thorbench's orchestration costs per cell.
 *
 * A sweep of N cells runs on one simulated Thor in no-op mode (sim/noop-device.ts: every device step answers at
 * once) through the real sweep and cell workflows, task queues, results store and continue-as-new, on the embedded
 * dev server (`temporal server start-dev`, persisted to SQLite, as `thorbench run` starts it), with both workers in
 * this process as `thorbench run` runs them.
 *
 * - wall_s: from starting the sweep to its result.
 * - step_s: the sum of the steps' own durations as the cell records have them (workflows/cell.ts: from scheduling a
 *   step's activity to the workflow seeing its result, so an activity's round trip through the server is in it).
 * - overhead_per_cell_s: (wall_s − step_s) / cells: what happens between steps — starting the cell's workflow,
 *   recording the cell, the sweep's bookkeeping.
 * - wall_per_cell_s: wall_s / cells, everything a no-op cell costs.
 * Also: the runs the sweep went through, the largest run's history, the server's history/payload size warnings, the
 * CPU time the server and the workers spent per cell, and the machine's load meanwhile (other jobs on the machine
 * slow everything down, the CPU time much less).
 *
 * A benchmark, not a test: numbers depend on the machine and its load. Measured figures are in the README
 * ("Orchestration cost").
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { historyWarnings, cellsExperiment, sweepRuns } from '../helpers/orchestration.js';
import { startSimWorkers } from '../helpers/sim-workers.js';
import { startTestServer } from '../helpers/temporal.js';
import { tempDir } from '../helpers/files.js';
import type { sweep } from '../../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../../workflows/task-queues.js';

interface Result {
  cells: number;
  wall_s: number;
  step_s: number;
  overhead_per_cell_s: number;
  wall_per_cell_s: number;
  /** Runs of the sweep (1 + continue-as-new), and the largest run's history. */
  runs: number;
  max_run_events: number;
  max_run_bytes: number;
  history_warnings: number;
  recorded: number;
  duplicates: number;
  /** The machine's 1-minute load average, sampled every 5 s during the sweep (this machine has os.cpus() cores). */
  load_avg: number;
  /**
   * CPU seconds per cell of the Temporal server and of this process (both workers), from start to result: what a
   * cell costs whatever else the machine runs. The server's is null where /proc cannot say.
   */
  server_cpu_per_cell_s: number | null;
  workers_cpu_per_cell_s: number;
}

function cellsArg(argv: string[]): number {
  const i = argv.indexOf('--cells');
  const n = i >= 0 ? Number(argv[i + 1]) : 100;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--cells must be a positive integer (got ${argv[i + 1]})`);
  return n;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** CPU seconds (user + system) a process has used, from /proc; null where there is none. */
function processCpuS(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th, in clock ticks (100/s).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function ownCpuS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const cells = cellsArg(process.argv);
  const dir = tempDir('bench-orchestration');
  const server = await startTestServer(path.join(dir, 'server'));
  const sim = await startSimWorkers(server, dir, { id: 'bench', speed: 1, noop: true });
  const load: number[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    const sweepId = `bench-orchestration-${cells}`;
    sampler = setInterval(() => load.push(os.loadavg()[0]!), 5_000);
    const t0 = performance.now();
    const cpu0 = { server: processCpuS(server.server.pid), workers: ownCpuS() };
    const handle = await server.client.workflow.start<typeof sweep>('sweep', {
      taskQueue: SWEEP_TASK_QUEUE,
      workflowId: sweepId,
      args: [cellsExperiment('bench-orchestration', cells)],
    });
    const summary = await handle.result();
    const wallS = (performance.now() - t0) / 1000;
    const serverCpuS = processCpuS(server.server.pid);
    const workersCpuS = ownCpuS() - cpu0.workers;
    clearInterval(sampler);
    load.push(os.loadavg()[0]!);
    if (summary.counts.succeeded !== cells)
      throw new Error(`bench:orchestration: ${JSON.stringify(summary.counts)} of ${cells} cells`);
    const records = await sim.store.listCells(sweepId);
    const stepS = records.reduce((sum, r) => sum + r.steps.reduce((t, s) => t + s.durationMs, 0), 0) / 1000;
    const runs = await sweepRuns(server.client, sweepId);
    const result: Result = {
      cells,
      wall_s: round3(wallS),
      step_s: round3(stepS),
      overhead_per_cell_s: round3((wallS - stepS) / cells),
      wall_per_cell_s: round3(wallS / cells),
      runs: runs.length,
      max_run_events: Math.max(...runs.map((r) => r.events)),
      max_run_bytes: Math.max(...runs.map((r) => r.bytes)),
      history_warnings: historyWarnings(server.server.logFile).length,
      recorded: await sim.store.countRows(sweepId),
      duplicates: (await sim.store.duplicateKeys(sweepId)).length,
      load_avg: Math.round((load.reduce((a, b) => a + b, 0) / load.length) * 10) / 10,
      server_cpu_per_cell_s:
        serverCpuS === null || cpu0.server === null ? null : round3((serverCpuS - cpu0.server) / cells),
      workers_cpu_per_cell_s: round3(workersCpuS / cells),
    };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else
      process.stdout.write(
        `${cells} no-op cells in ${result.wall_s} s: steps ${result.step_s} s, orchestration ${result.overhead_per_cell_s} s per cell ` +
          `(${result.wall_per_cell_s} s per cell in all); ${result.runs} run(s), the largest ${result.max_run_events} events ` +
          `(${Math.round(result.max_run_bytes / 1024)} KiB); ${result.recorded} records, ${result.duplicates} duplicated; ` +
          `${result.history_warnings} history-size warnings; CPU per cell: server ${result.server_cpu_per_cell_s} s, workers ` +
          `${result.workers_cpu_per_cell_s} s; load average ${result.load_avg} on ${os.cpus().length} cores\n`,
      );
  } finally {
    clearInterval(sampler);
    await sim.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:orchestration failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});

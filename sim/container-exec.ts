/**
 * Processes `docker exec` started in a simulated container (sim/exec-process.ts). Like on a real Docker host they
 * outlive the docker client that started them, so the simulator keeps a register of them — pid, kernel start time,
 * container — like the on-device processes of sim/reboot.ts, and ends them where Docker does: all of a container's at
 * `docker rm -f`, every one at a reboot, the leftover benchmarks at the vllm harness's reap
 * (activities/harness/reap-bench.ts). A process is signalled only while its start time is the registered one, so a
 * reused pid is never signalled.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REAP_KILL_WAIT_S, type ReapReport } from '../activities/harness/reap-bench.js';
import { readJsonFiles, writeJsonAtomic } from './atomic-file.js';
import type { SimLayout } from './layout.js';
import { processStartTime, processState, signalGroup, waitForExitSync } from './process-util.js';

export interface ExecProcess {
  /** Also its process group: it runs detached, with the real vLLM client (if any) in its group. */
  pid: number;
  startTime: string;
  containerId: string;
  containerName: string;
  /** The command run in the container, e.g. `vllm bench serve ...`. */
  argv: string[];
  registeredAt: string;
}

function entryFile(layout: SimLayout, pid: number): string {
  return path.join(layout.execDir, `${pid}.json`);
}

/** Registers the calling process as run by `docker exec` in the container. */
export function registerSelfAsExec(
  layout: SimLayout,
  containerId: string,
  containerName: string,
  argv: string[],
): void {
  const startTime = processStartTime(process.pid);
  if (startTime === undefined) throw new Error('cannot read this process start time from /proc/self/stat');
  fs.mkdirSync(layout.execDir, { recursive: true });
  const entry: ExecProcess = {
    pid: process.pid,
    startTime,
    containerId,
    containerName,
    argv,
    registeredAt: new Date().toISOString(),
  };
  writeJsonAtomic(entryFile(layout, process.pid), entry);
}

export function unregisterExec(layout: SimLayout, pid: number): void {
  fs.rmSync(entryFile(layout, pid), { force: true });
}

function isRegisteredProcess(p: ExecProcess): boolean {
  return processState(p.pid) === 'running' && processStartTime(p.pid) === p.startTime;
}

/** The registered processes of a container (of every container when undefined) still running; drops stale entries. */
export function liveExecs(layout: SimLayout, containerId?: string): ExecProcess[] {
  const entries = readJsonFiles<ExecProcess>(layout.execDir, '.json', (file) => fs.rmSync(file, { force: true }));
  const live: ExecProcess[] = [];
  for (const p of entries) {
    if (!isRegisteredProcess(p)) unregisterExec(layout, p.pid);
    else if (containerId === undefined || p.containerId === containerId) live.push(p);
  }
  return live;
}

function signalAll(procs: ExecProcess[], signal: NodeJS.Signals): void {
  for (const p of procs) if (isRegisteredProcess(p)) signalGroup(p.pid, signal);
}

/** Waits up to `ms` for the processes to end; returns those still running. */
function waitAll(procs: ExecProcess[], ms: number): ExecProcess[] {
  const deadline = Date.now() + ms;
  for (const p of procs) waitForExitSync(p.pid, Math.max(0, deadline - Date.now()));
  return procs.filter(isRegisteredProcess);
}

/** SIGKILLs a container's exec'd processes (every container's when undefined), as `docker rm -f` and a reboot do. */
export function killContainerExecs(layout: SimLayout, containerId?: string): void {
  const procs = liveExecs(layout, containerId);
  signalAll(procs, 'SIGKILL');
  waitAll(procs, 5000);
  for (const p of procs) unregisterExec(layout, p.pid);
}

/** True for `vllm bench serve ...`, what the reap ends. */
export function isBenchServe(argv: readonly string[]): boolean {
  return argv[0] === 'vllm' && argv[1] === 'bench' && argv[2] === 'serve';
}

/** What the reap program does, on the container's exec'd `vllm bench serve` processes: SIGTERM, grace, SIGKILL. */
export function reapBenchServe(layout: SimLayout, containerId: string, graceMs: number): ReapReport {
  const found = liveExecs(layout, containerId).filter((p) => isBenchServe(p.argv));
  signalAll(found, 'SIGTERM');
  const outlivedTerm = waitAll(found, graceMs);
  signalAll(outlivedTerm, 'SIGKILL');
  const left = waitAll(outlivedTerm, REAP_KILL_WAIT_S * 1000);
  const pids = (procs: ExecProcess[]) => procs.map((p) => p.pid).sort((a, b) => a - b);
  return { found: pids(found), killed: pids(outlivedTerm), left: pids(left) };
}

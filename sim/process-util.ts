/**
 * Process checks the simulator needs to tell the truth about containers: is the engine of a container still
 * running? A pid alone is not enough: the engine is orphaned (its parent, the fake `docker run`, exits at once),
 * so a dead engine may linger as a zombie if nothing reaps it, and pids get reused. So "alive" means: the pid
 * exists, is not a zombie, and is the process we started (its environment carries the container id).
 */
import fs from 'node:fs';
import { sleepSync } from './atomic-file.js';

export type ProcState = 'running' | 'zombie' | 'gone';

/** Fields of /proc/<pid>/stat after the command name (which may itself contain spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

export function processState(pid: number): ProcState {
  if (!Number.isInteger(pid) || pid <= 0) return 'gone';
  const fields = statFields(pid);
  if (fields) return fields[0] === 'Z' || fields[0] === 'X' ? 'zombie' : 'running';
  try {
    process.kill(pid, 0);
    return 'running';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'running' : 'gone';
  }
}

/** Kernel start time of a process (clock ticks since boot), to recognise a reused pid. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** True when pid is running and its environment has NAME=value (or, if unreadable, its command line matches). */
export function isOurProcess(pid: number, envName: string, value: string, cmdlineHint: string): boolean {
  if (processState(pid) !== 'running') return false;
  try {
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return env.includes(`${envName}=${value}`);
  } catch {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cmdlineHint);
    } catch {
      return processState(pid) === 'running';
    }
  }
}

/** Sends a signal to a whole process group (the engine runs as a group leader); a gone group is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  // kill(0) and kill(-0) signal the caller's own process group, kill(-1) every process it may signal.
  if (!Number.isInteger(pgid) || pgid <= 1) throw new RangeError(`not an engine's process group: ${pgid}`);
  for (const target of [-pgid, pgid]) {
    try {
      process.kill(target, signal);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ESRCH' && code !== 'EPERM') throw err;
    }
  }
}

/** Waits (synchronously, polling) until pid is no longer running; returns whether it ended in time. */
export function waitForExitSync(pid: number, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  while (processState(pid) === 'running') {
    if (Date.now() > deadline) return false;
    sleepSync(10);
  }
  return true;
}

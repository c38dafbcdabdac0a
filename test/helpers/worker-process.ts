/**
 * A device worker in its own process, supervised the way systemd supervises the real one (Restart=always): when
 * it dies — killed by a test, or by a simulated reboot — it is started again after a short delay.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { SIM_DIR_ENV } from '../../sim/layout.js';
import { processState } from '../../sim/process-util.js';
import { REPO_ROOT, repoPath } from './files.js';

export class SupervisedWorker {
  private child: ChildProcess | null = null;
  private stopped = false;
  /** Epoch ms of every (re)start. */
  readonly starts: number[] = [];
  exits = 0;
  output = '';

  constructor(
    private readonly args: string[],
    private readonly env: Record<string, string>,
    private readonly restartDelayMs = 300,
  ) {}

  start(): void {
    if (this.stopped) return;
    const child = spawn(process.execPath, [repoPath('bin', 'thorbench.js'), 'worker', ...this.args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts.push(Date.now());
    const keep = (b: Buffer) => {
      this.output = (this.output + b.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => {
      this.exits++;
      if (this.child === child) this.child = null;
      if (!this.stopped) setTimeout(() => this.start(), this.restartDelayMs);
    });
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** SIGKILL, like an OOM kill or a power cut of the worker process. */
  kill(): boolean {
    if (!this.child?.pid) return false;
    this.child.kill('SIGKILL');
    return true;
  }

  /** SIGKILL for good: the device is gone (power cut, network lost) and nothing restarts its worker. */
  killForGood(): boolean {
    this.stopped = true;
    return this.kill();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    });
  }
}

/** Processes whose environment names this simulator directory (engines, fake commands) that are still alive. */
export async function processesUsingSimDir(simDir: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = await readFile(`/proc/${entry}/environ`, 'utf8');
      // Zombies are already dead: only their parent has not reaped them.
      if (environ.split('\0').includes(`${SIM_DIR_ENV}=${simDir}`) && processState(Number(entry)) === 'running')
        found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

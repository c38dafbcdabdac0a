/**
 * The one place thorbench runs a process. Every command is an argv array (never a shell string), has a timeout
 * after which it is killed, gets explicit stdin (nvpmodel waits on a hidden prompt otherwise), and fails with a
 * CommandError that carries the argv, exit code, signal and the tail of its output.
 *
 * Two ways to run one: `run` waits for the command and returns its whole output; `stream` is for long-running
 * commands (tegrastats during a benchmark) and hands over stdout line by line until the command is stopped.
 *
 * Privileged commands go through `sudo -n` and must match PRIVILEGED_ALLOW_LIST exactly: the same list the
 * shipped sudoers file grants (deploy/sudoers.d/thorbench), so a command that is not in it fails here, before it
 * reaches sudo. `run` and `stream` refuse an argv that starts with `sudo`: the only way to sudo is
 * `runPrivileged`, which checks the allow-list.
 */
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { DeviceProfile } from './device-profile.js';

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    message: string,
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly signal: string | undefined,
    readonly stdout: string,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

/** A privileged command refused locally because it is not in the allow-list. */
export class PrivilegeError extends Error {
  override readonly name = 'PrivilegeError';
}

export interface RunResult {
  argv: string[];
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  timeoutMs: number;
  /** Text fed to stdin; default empty stdin (never inherited). */
  input?: string;
  /** Resolve instead of throwing on a non-zero exit code. */
  allowFailure?: boolean;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

/**
 * Which privileged actions exist. There is no `reboot`: a power-mode switch that needs one is confirmed at
 * nvpmodel's own prompt, so the worker never holds the right to reboot the device by itself.
 */
export type PrivilegedCommand = 'nvpmodel' | 'jetsonClocks' | 'sysctl';

/**
 * Exact argument lists that may run through sudo. `<id>` matches a power mode id (0-15), `<store>` the worker's
 * jetson_clocks store file. MAINTENANCE: deploy/sudoers.d/thorbench grants the same list.
 */
export const PRIVILEGED_ALLOW_LIST: Record<PrivilegedCommand, readonly (readonly string[])[]> = {
  nvpmodel: [['-q'], ['-p', '--verbose'], ['-m', '<id>']],
  jetsonClocks: [[], ['--show'], ['--store', '<store>'], ['--restore', '<store>']],
  sysctl: [['-w', 'vm.drop_caches=3']],
};

export function isAllowed(cmd: PrivilegedCommand, args: readonly string[], storeFile: string): boolean {
  return PRIVILEGED_ALLOW_LIST[cmd].some(
    (pattern) =>
      pattern.length === args.length &&
      pattern.every((p, i) => {
        const a = args[i]!;
        if (p === '<id>') return /^(?:[0-9]|1[0-5])$/.test(a);
        if (p === '<store>') return a === storeFile;
        return p === a;
      }),
  );
}

/** Path of the file `jetson_clocks --store/--restore` uses on this device. */
export function clocksStoreFile(profile: DeviceProfile): string {
  return `${profile.stateDir}/l4t_dfs.conf`;
}

function tail(text: string, lines = 20): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** argv[0] and argv[1..], refusing an empty argv and, unless it comes from privilegedArgv, a `sudo`. */
function splitArgv(argv: readonly string[], privileged: boolean): [string, string[]] {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  if (!privileged && path.basename(file) === 'sudo') {
    throw new PrivilegeError(
      `refusing to run ${argv.join(' ')}: privileged commands go through runPrivileged and its allow-list`,
    );
  }
  return [file, args];
}

/** Runs argv[0] with argv[1..]; never through a shell. */
export async function run(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  return runArgv(argv, opts, false);
}

/** The running command's output streams, for a caller that reads them as they arrive (runStreaming). */
type Observe = (subprocess: { stdout: NodeJS.ReadableStream | null; stderr: NodeJS.ReadableStream | null }) => void;

async function runArgv(
  argv: readonly string[],
  opts: RunOptions,
  privileged: boolean,
  observe?: Observe,
): Promise<RunResult> {
  const [file, args] = splitArgv(argv, privileged);
  const subprocess = execa(file, args, {
    timeout: opts.timeoutMs,
    input: opts.input ?? '',
    reject: false,
    shell: false,
    stripFinalNewline: false,
    killSignal: 'SIGKILL',
    forceKillAfterDelay: false,
    cancelSignal: opts.signal,
    env: opts.env,
    extendEnv: true,
  });
  observe?.(subprocess as unknown as Parameters<Observe>[0]);
  const result = await subprocess;
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (result.timedOut) {
    throw new CommandError(
      `${argv.join(' ')} timed out after ${opts.timeoutMs} ms and was killed`,
      argv,
      result.exitCode,
      result.signal ?? undefined,
      stdout,
      stderr,
      true,
    );
  }
  if (result.failed && result.exitCode === undefined) {
    const why = result.isCanceled
      ? 'was cancelled'
      : result.signal
        ? `was killed by ${result.signal}`
        : `could not start: ${result.message ?? ''}`;
    throw new CommandError(
      `${argv.join(' ')} ${why}`,
      argv,
      undefined,
      result.signal ?? undefined,
      stdout,
      stderr,
      false,
    );
  }
  const exitCode = result.exitCode ?? 0;
  if (exitCode !== 0 && !opts.allowFailure) {
    throw new CommandError(
      `${argv.join(' ')} exited with ${exitCode}: ${tail(stderr || stdout, 5).trim()}`,
      argv,
      exitCode,
      result.signal ?? undefined,
      stdout,
      stderr,
      false,
    );
  }
  return { argv: [...argv], stdout, stderr, exitCode };
}

/** The argv for a privileged device command: `sudo -n <path> args` on a real device run by a non-root user. */
export function privilegedArgv(profile: DeviceProfile, cmd: PrivilegedCommand, args: readonly string[]): string[] {
  if (!isAllowed(cmd, args, clocksStoreFile(profile))) {
    throw new PrivilegeError(
      `refusing to run ${profile.commands[cmd]} ${args.join(' ')}: not in thorbench's sudo allow-list (activities/exec.ts)`,
    );
  }
  const argv = [profile.commands[cmd], ...args];
  return profile.sudo ? ['sudo', '-n', ...argv] : argv;
}

/** The user the worker runs as, for messages that say what to change. */
export function workerUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'the worker user';
  }
}

/** Runs a privileged device command with the profile's environment. */
export async function runPrivileged(
  profile: DeviceProfile,
  cmd: PrivilegedCommand,
  args: readonly string[],
  opts: RunOptions,
): Promise<RunResult> {
  const argv = privilegedArgv(profile, cmd, args);
  try {
    return await runArgv(argv, { ...opts, env: { ...profile.env, ...opts.env } }, true);
  } catch (err) {
    if (
      err instanceof CommandError &&
      profile.sudo &&
      /a password is required|not allowed to execute|may not run sudo/i.test(err.stderr)
    ) {
      throw new PrivilegeError(
        `sudo refused "${argv.slice(2).join(' ')}" to the user "${workerUser()}": install deploy/sudoers.d/thorbench, which grants exactly thorbench's commands to the user thorbench (edit the user name if the worker runs as another, and keep every mode id a sweep selects), see README, "Running on a real Thor"`,
      );
    }
    throw err;
  }
}

/** Runs an unprivileged device command (docker, tegrastats, sync) with the profile's environment. */
export async function runDevice(profile: DeviceProfile, argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  return run(argv, { ...opts, env: { ...profile.env, ...opts.env } });
}

export interface StreamingRunOptions extends RunOptions {
  /**
   * Called with every line of output as it arrives. Lines end at "\n" or "\r" (progress bars redraw with "\r"),
   * so a progress bar's every redraw is one line. Must not throw.
   */
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** Splits a byte stream into lines at \n or \r, carrying the unfinished rest over to the next chunk. */
function lineSplitter(emit: (line: string) => void): { push(text: string): void; end(): void } {
  let rest = '';
  return {
    push(text) {
      const parts = (rest + text).split(/\r\n|\r|\n/);
      rest = parts.pop() ?? '';
      for (const part of parts) if (part !== '') emit(part);
    },
    end() {
      if (rest !== '') emit(rest);
      rest = '';
    },
  };
}

/**
 * Like run() — bounded by its timeout, its whole output returned — and reports each line of stdout and stderr while
 * the command runs (`vllm bench serve`'s progress bar). Commands that run until stopped use stream().
 */
export async function runStreaming(argv: readonly string[], opts: StreamingRunOptions): Promise<RunResult> {
  return runArgv(argv, opts, false, (subprocess) => {
    for (const name of ['stdout', 'stderr'] as const) {
      const output = subprocess[name];
      if (!output) continue;
      const splitter = lineSplitter((line) => opts.onLine(line, name));
      output.setEncoding('utf8');
      output.on('data', (chunk: string) => splitter.push(chunk));
      output.on('end', () => splitter.end());
    }
  });
}

export async function runDeviceStreaming(
  profile: DeviceProfile,
  argv: readonly string[],
  opts: StreamingRunOptions,
): Promise<RunResult> {
  return runStreaming(argv, { ...opts, env: { ...profile.env, ...opts.env } });
}

export interface StreamOptions {
  /** Called with every line of stdout, without its line ending, as it arrives. */
  onLine: (line: string) => void;
  /** Aborting stops the command, like stop(). */
  signal?: AbortSignal;
  /** Kill the command if it is still running after this long; default: run until stopped. */
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface StreamResult {
  argv: string[];
  /** Exit code, or null when the command ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  /** True when it ended because stop() was called or the AbortSignal fired. */
  stopped: boolean;
  /** The last lines of stderr. */
  stderrTail: string;
}

export interface StreamingCommand {
  readonly pid: number | undefined;
  /**
   * Settles once the command has ended and every line has been handed to onLine: resolves when it exited with 0
   * or was stopped; rejects with a CommandError when it could not start, failed, or ran past its timeout.
   */
  readonly done: Promise<StreamResult>;
  /** Asks the command to end (SIGTERM, SIGKILL 5 s later) and waits for it. */
  stop(): Promise<StreamResult>;
}

/** How long a stopped command gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 5_000;

/** Runs a long-running command (argv[0] with argv[1..], never through a shell), handing over stdout line by line. */
export function stream(argv: readonly string[], opts: StreamOptions): StreamingCommand {
  const [file, args] = splitArgv(argv, false);
  let stopRequested = false;
  const stderrLines: string[] = [];
  const child = execa(file, args, {
    stdin: 'ignore',
    // Transforms see the output a line at a time, as it arrives; nothing is buffered for the result.
    // execa transforms are generators; these consume the lines, passing none on.
    stdout: {
      // eslint-disable-next-line require-yield
      *transform(line: unknown) {
        opts.onLine(String(line));
      },
    },
    stderr: {
      // eslint-disable-next-line require-yield
      *transform(line: unknown) {
        stderrLines.push(String(line));
        if (stderrLines.length > 20) stderrLines.shift();
      },
    },
    buffer: false,
    reject: false,
    shell: false,
    timeout: opts.timeoutMs,
    cancelSignal: opts.signal,
    killSignal: 'SIGTERM',
    forceKillAfterDelay: STOP_GRACE_MS,
    env: opts.env,
    extendEnv: true,
  });
  const done = child.then((result): StreamResult => {
    const stderrTail = stderrLines.join('\n');
    const signal = result.signal ?? null;
    const end: StreamResult = {
      argv: [...argv],
      exitCode: result.exitCode ?? null,
      signal,
      stopped: stopRequested || result.isCanceled,
      stderrTail,
    };
    const fail = (why: string, timedOut = false): CommandError =>
      new CommandError(
        `${argv.join(' ')} ${why}`,
        argv,
        result.exitCode,
        signal ?? undefined,
        '',
        stderrTail,
        timedOut,
      );
    if (result.timedOut) throw fail(`ran past its timeout of ${opts.timeoutMs} ms and was killed`, true);
    if (result.exitCode === undefined && !signal) throw fail(`could not start: ${result.message ?? ''}`);
    if (end.stopped) return end;
    if (result.exitCode === undefined) throw fail(`was killed by ${signal}`);
    if (result.exitCode !== 0) throw fail(`exited with ${result.exitCode}: ${tail(stderrTail, 5).trim()}`);
    return end;
  });
  return {
    pid: child.pid,
    done,
    stop() {
      stopRequested = true;
      child.kill('SIGTERM');
      return done;
    },
  };
}

/** Streams an unprivileged device command (tegrastats) with the profile's environment. */
export function streamDevice(profile: DeviceProfile, argv: readonly string[], opts: StreamOptions): StreamingCommand {
  return stream(argv, { ...opts, env: { ...profile.env, ...opts.env } });
}

/**
 * How activities classify what went wrong. Deterministic failures (a model that crashes the engine, a power mode
 * the device does not have, a missing sudo rule) are thrown non-retryable with a typed reason, so the cell is
 * recorded as failed and the sweep moves on; everything else is thrown as-is and retried by the step's policy.
 */
import { ApplicationFailure } from '@temporalio/common';
import { type FailureType } from '../schema/outcome.js';
import { CommandError, PrivilegeError, workerUser } from './exec.js';

/** Extra facts attached to an engine failure (first detail of the ApplicationFailure). */
export interface EngineFailureDetails {
  exitCode: number | null;
  oomKilled: boolean;
  logTail: string | null;
}

export function nonRetryable(type: FailureType, message: string, details?: EngineFailureDetails): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: details ? [details] : undefined });
}

export function retryable(type: FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: false });
}

/**
 * Maps errors from the process runner onto failure types: a missing sudo rule will not fix itself (non-retryable,
 * `PrivilegeDenied`); a timed-out or failing command may (retryable `CommandFailed`, or `StepTimeout`).
 */
export function classifyCommandError(err: unknown): unknown {
  if (err instanceof PrivilegeError) return nonRetryable('PrivilegeDenied', err.message);
  if (err instanceof CommandError) {
    if (err.timedOut) return retryable('StepTimeout', err.message);
    if (err.exitCode === undefined && /ENOENT|could not start/.test(err.message))
      return nonRetryable('CommandFailed', `${err.message} (is ${err.argv[0]} installed on this device?)`);
    // sudo found no such program: retrying will not install it.
    const notFound = /^sudo: (\S+): command not found/m.exec(err.stderr);
    if (notFound) return nonRetryable('CommandFailed', `${err.message} (is ${notFound[1]} installed on this device?)`);
    // Only the docker group (or root) may use the daemon's socket: a setup problem, the same for every cell.
    if (/permission denied while trying to connect to the docker daemon socket/i.test(err.stderr)) {
      const user = workerUser();
      return nonRetryable(
        'PrivilegeDenied',
        `${err.message} (the worker's user "${user}" may not use docker: sudo usermod -aG docker ${user}, then restart the worker)`,
      );
    }
    return retryable('CommandFailed', err.message);
  }
  return err;
}

/** Runs fn and rethrows its failure classified. */
export async function classified<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classifyCommandError(err);
  }
}

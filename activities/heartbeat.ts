/**
 * Keeps an activity's heartbeat going while it waits on something that cannot report progress itself (a
 * `docker run` pulling an image, a health poll). Without heartbeats a killed worker is only noticed when the
 * step's startToClose expires; with them Temporal notices within heartbeatTimeout and retries on a live worker.
 */
import { Context } from '@temporalio/activity';

const DEFAULT_INTERVAL_MS = 5_000;

/** True when called inside an activity (tests may call activity functions directly). */
function inActivity(): boolean {
  try {
    Context.current();
    return true;
  } catch {
    return false;
  }
}

export function beat(details?: unknown): void {
  if (inActivity()) Context.current().heartbeat(details);
}

/** The activity's cancellation signal, or a never-aborting one outside an activity. */
export function activitySignal(): AbortSignal {
  return inActivity() ? Context.current().cancellationSignal : new AbortController().signal;
}

export async function whileBeating<T>(work: Promise<T>, details?: () => unknown, intervalMs = DEFAULT_INTERVAL_MS): Promise<T> {
  beat(details?.());
  const timer = setInterval(() => beat(details?.()), intervalMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

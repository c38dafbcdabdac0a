/**
 * Keeps an activity's heartbeat going while it waits on something that cannot report progress itself (a
 * `docker run` pulling an image, a health poll). Without heartbeats a killed worker is only noticed when the
 * step's startToClose expires; with them Temporal notices within heartbeatTimeout and retries on a live worker.
 */
import { Context } from '@temporalio/activity';

/** Local and cheap: the SDK throttles what it sends to the server to 80% of the heartbeat timeout. */
const DEFAULT_INTERVAL_MS = 1_000;

/** True when called inside an activity (tests may call activity functions directly). */
function inActivity(): boolean {
  try {
    Context.current();
    return true;
  } catch {
    return false;
  }
}

/** The last progress an activity reported, re-sent by the periodic heartbeat so the Web UI keeps showing it. */
const lastDetails = new WeakMap<Context, unknown>();

export function beat(details?: unknown): void {
  if (!inActivity()) return;
  const ctx = Context.current();
  if (details !== undefined) lastDetails.set(ctx, details);
  ctx.heartbeat(details ?? lastDetails.get(ctx));
}

/** The activity's cancellation signal, or a never-aborting one outside an activity. */
export function activitySignal(): AbortSignal {
  return inActivity() ? Context.current().cancellationSignal : new AbortController().signal;
}

/**
 * Heartbeats every `intervalMs` while `work` runs, the first after `intervalMs`: Temporal's heartbeat timeout runs
 * from the activity's start, so a worker killed before the first beat is noticed all the same, and a step that ends
 * sooner costs the server no heartbeat write (docs/architecture.md, "Orchestration cost").
 */
export async function whileBeating<T>(
  work: Promise<T>,
  details?: () => unknown,
  intervalMs = DEFAULT_INTERVAL_MS,
): Promise<T> {
  const timer = setInterval(() => beat(details?.()), intervalMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/**
 * Wraps every activity of a group so it heartbeats while it runs. Every step then has a heartbeat timeout, so a
 * worker killed during even a short step (nvpmodel, jetson_clocks) is noticed in seconds, not at startToClose.
 */
export function heartbeating<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = (...args: never[]) => whileBeating(fn(...args));
  }
  return wrapped as T;
}

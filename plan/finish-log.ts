/**
 * The cells of a sweep that finished most recently, in the order they did, for progress queries that ask for the
 * cells finished since a position (ProgressRequest in workflows/messages.ts): a live view then gets each finished
 * cell once, in answers that stay small however large the sweep. `ids[0]` was the `start`-th cell to finish
 * (counting from 0). The log keeps at least the last FINISH_LOG_KEEP cells, and continue-as-new carries that many.
 */
export interface FinishLog {
  start: number;
  ids: string[];
}

export const FINISH_LOG_KEEP = 500;

/** A log whose first cell will be the `finishedBefore`-th to finish. */
export function emptyFinishLog(finishedBefore: number): FinishLog {
  return { start: finishedBefore, ids: [] };
}

/** Appends the cell that finished; past twice FINISH_LOG_KEEP, the oldest are dropped down to FINISH_LOG_KEEP. */
export function logFinished(log: FinishLog, id: string): void {
  log.ids.push(id);
  if (log.ids.length < 2 * FINISH_LOG_KEEP) return;
  log.start += log.ids.length - FINISH_LOG_KEEP;
  log.ids = log.ids.slice(-FINISH_LOG_KEEP);
}

/** The cells at or after position `since`, as far back as the log goes, and the position of the first. */
export function finishedSince(log: FinishLog, since: number): { ids: string[]; from: number } {
  const from = Math.max(since, log.start);
  return { ids: log.ids.slice(from - log.start), from };
}

/** What continue-as-new carries: the last FINISH_LOG_KEEP cells. */
export function carriedFinishLog(log: FinishLog): FinishLog {
  const ids = log.ids.slice(-FINISH_LOG_KEEP);
  return { start: log.start + log.ids.length - ids.length, ids };
}

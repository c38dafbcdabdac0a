/**
 * The regression watch of a sweep: which baseline sweep it is compared against when it finishes, how noise is
 * judged without repeats, and which metrics are watched. A schedule (`thorbench schedule create --baseline`) puts
 * it in the memo of every sweep it starts, under WATCH_MEMO_KEY, so the experiment itself stays the sweep's only
 * input and `temporal workflow start` with a `--memo` can ask for the same. Deterministic and pure: the sweep
 * workflow reads it.
 */

/** Memo key of the regression watch on a sweep (and on a schedule's workflow action). */
export const WATCH_MEMO_KEY = 'thorbenchWatch';

export interface RegressionWatch {
  /** Sweep id of the baseline in the results database. */
  baseline: string;
  /** Relative change flagged where there are no repeats to judge noise by; absent = the default (5 %). */
  threshold?: number;
  /** The metrics watched (vLLM metric names); absent = every metric with a good direction. */
  metrics?: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The watch a memo asks for: null when there is none, an error message when it is malformed (a sweep is never
 * compared against something it cannot name).
 */
export function watchFromMemo(memo: Record<string, unknown> | undefined): RegressionWatch | null | { error: string } {
  const raw = memo?.[WATCH_MEMO_KEY];
  if (raw === undefined || raw === null) return null;
  if (!isObj(raw) || typeof raw.baseline !== 'string' || raw.baseline === '') {
    return { error: `memo ${WATCH_MEMO_KEY} must be { "baseline": "<sweep id>", "threshold"?: <fraction> }` };
  }
  const watch: RegressionWatch = { baseline: raw.baseline };
  const t = raw.threshold;
  if (t !== undefined) {
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t >= 1) {
      return {
        error: `memo ${WATCH_MEMO_KEY}.threshold must be a fraction from 0 to below 1, e.g. 0.05 (got ${String(t)})`,
      };
    }
    watch.threshold = t;
  }
  const m = raw.metrics;
  if (m !== undefined) {
    if (!Array.isArray(m) || m.length === 0 || !m.every((x) => typeof x === 'string' && x !== '')) {
      return { error: `memo ${WATCH_MEMO_KEY}.metrics must be a non-empty list of metric names` };
    }
    watch.metrics = m as string[];
  }
  return watch;
}

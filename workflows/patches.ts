/**
 * Patch ids (Temporal's `patched()`): code that adds or changes workflow commands runs only in workflows that
 * started under it, so sweeps started by older code replay unchanged (test/replay.test.ts keeps their histories).
 */

/**
 * Search attributes set from inside the sweep and on cells, the sweep's memo, cells telling the sweep which step
 * they run, step summaries, and skipped cells as child workflows of their own.
 */
export const WEB_UI_PATCH = 'web-ui-metadata';

/** The device's power mode and clocks read back right after the benchmark, for the validity verdict. */
export const READ_BACK_PATCH = 'read-back-after-benchmark';

/** Engine groups go only to devices that hold their model; cells of a model no device holds fail first. */
export const MODELS_PRESENT_PATCH = 'models-present-check';
/**
 * A sweep started with a baseline (a schedule's regression watch) compares itself with it after its last cell,
 * records the verdict and sets the ThorbenchRegression search attribute.
 */
export const REGRESSION_WATCH_PATCH = 'regression-watch';
/** SLO capacity searches: search slots in the plan run probe cells chosen at run time (plan/search.ts). */
export const SLO_SEARCH_PATCH = 'slo-capacity-search';

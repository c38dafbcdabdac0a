/**
 * Patch ids (Temporal's `patched()`): code that adds or changes workflow commands runs only in workflows that
 * started under it, so sweeps started by older code replay unchanged (test/replay.test.ts keeps their histories).
 */

/**
 * Search attributes set from inside the sweep and on cells, the sweep's memo, cells telling the sweep which step
 * they run, step summaries, and skipped cells as child workflows of their own.
 */
export const WEB_UI_PATCH = 'web-ui-metadata';

/** Each model group goes only to a device that holds its model (plan/model-eligibility.ts). */
export const MODELS_PRESENT_PATCH = 'models-present-check';

/** The device's power mode and clocks read back right after the benchmark, for the validity verdict. */
export const READ_BACK_PATCH = 'read-back-after-benchmark';

/**
 * A sweep started with a baseline (a schedule's regression watch) compares itself with it after its last cell,
 * records the verdict and sets the ThorbenchRegression search attribute.
 */
export const REGRESSION_WATCH_PATCH = 'regression-watch';

/** SLO capacity searches: search slots in the plan run probe cells chosen at run time (plan/search.ts). */
export const SLO_SEARCH_PATCH = 'slo-capacity-search';

/**
 * Device failover (docs/architecture.md, "Failover"): device steps get a schedule-to-start timeout of
 * `device.failoverAfterMs`, a cell whose device is lost reports it instead of failing, and the sweep moves the lost
 * device's unfinished engine groups to the remaining devices and watches for the device to come back.
 */
export const FAILOVER_PATCH = 'device-failover';

/**
 * Reboot epochs (plan/plan.ts): the sweep describes its first device before the first cell and plans from that
 * device's power mode and clocks, one engine per model and power-gating group. Older sweeps keep the plan they
 * started with (planSweepBeforeEpochs).
 */
export const POWER_EPOCHS_PATCH = 'power-epochs';

/** A cell whose power mode changed under a running engine warms the engine up again before its benchmark. */
export const WARMUP_AFTER_POWER_CHANGE_PATCH = 'warmup-after-power-change';

/**
 * Cheaper cells (docs/architecture.md, "Orchestration cost"): a cell tells its sweep about a step only once the step
 * has run for half a second, and writes its record with a local activity on the sweep worker.
 */
export const LEAN_CELL_PATCH = 'lean-cell';

/**
 * Cells that never run are workflows of their own, like skipped ones (WEB_UI_PATCH), so search attributes find them
 * too: a model on no device fails its cells as child workflows, and a cancelled sweep has its unstarted cells record
 * themselves as cancelled, started together (in batches below the server's limit on pending children).
 */
export const UNRUN_CELLS_PATCH = 'unrun-cells-as-workflows';

/**
 * Sweeps of tens of thousands of cells: the finished cells carried across continue-as-new, and the succeeded cells a
 * run reads back from the results store, travel as packed ids (plan/packed-ids.ts) instead of whole ids and maps.
 */
export const COMPACT_CARRY_PATCH = 'compact-carry';

/**
 * Search attributes that make sweeps and their cells findable in the Temporal Web UI and with
 * `temporal workflow list --query`, e.g. `ThorbenchModels = "qwen3-8b-fp8"`, or
 * `ThorbenchSweep = "demo-sim-1a2b3c4d" AND ThorbenchCellStatus = "failed" AND ThorbenchQuantizations = "fp8"`.
 * A sweep sets its own from inside the workflow (however it was started) and gives each cell its own at start; a
 * cell keeps `ThorbenchCellStatus` current. Only attributes the server has registered are set (the sweep asks first),
 * so a server that lacks them costs a warning, never a wedged workflow. The embedded dev server registers them all;
 * so does docker-compose's namespace script (deploy/temporal/create-namespace.sh).
 *
 * SQL visibility stores (the dev server's SQLite, compose's Postgres) have 3 KeywordList slots per namespace: the
 * lists are the sweep's matrix (models, quantizations, power modes); everything else is a Keyword.
 */
import { SearchAttributeType, type SearchAttributePair, defineSearchAttributeKey } from '@temporalio/common';
import type { PlannedCell } from '../plan/plan.js';
import { type Experiment, powerKey } from '../schema/experiment.js';
import type { CellStatus } from '../schema/outcome.js';

export const SEARCH_ATTRIBUTES = {
  experiment: defineSearchAttributeKey('ThorbenchExperiment', SearchAttributeType.KEYWORD),
  models: defineSearchAttributeKey('ThorbenchModels', SearchAttributeType.KEYWORD_LIST),
  quantizations: defineSearchAttributeKey('ThorbenchQuantizations', SearchAttributeType.KEYWORD_LIST),
  powerModes: defineSearchAttributeKey('ThorbenchPowerModes', SearchAttributeType.KEYWORD_LIST),
  /** Cells: the sweep (its workflow id) they belong to. */
  sweep: defineSearchAttributeKey('ThorbenchSweep', SearchAttributeType.KEYWORD),
  /** Cells: the device they run on. */
  device: defineSearchAttributeKey('ThorbenchDevice', SearchAttributeType.KEYWORD),
  /** Cells: the load scenario's name. */
  scenario: defineSearchAttributeKey('ThorbenchScenario', SearchAttributeType.KEYWORD),
  /** Cells: "locked" (jetson_clocks) or "default". */
  clocks: defineSearchAttributeKey('ThorbenchClocks', SearchAttributeType.KEYWORD),
  /** Cells: where the cell stands, kept current by the cell workflow. */
  cellStatus: defineSearchAttributeKey('ThorbenchCellStatus', SearchAttributeType.KEYWORD),
  /**
   * Sweeps compared against a baseline (a schedule's `--baseline`): true when a metric regressed beyond noise,
   * false when none did; absent on sweeps without a baseline.
   */
  regression: defineSearchAttributeKey('ThorbenchRegression', SearchAttributeType.BOOL),
} as const;

/** A cell's status in visibility: `pending` from its start until the sweep worker first runs it, then `running`. */
export type CellVisibilityStatus = 'pending' | 'running' | CellStatus;

/** The server's name for each attribute type used here (`temporal operator search-attribute create --type`). */
export function searchAttributeTypeName(key: { type: SearchAttributeType }): 'Keyword' | 'KeywordList' | 'Bool' {
  if (key.type === SearchAttributeType.BOOL) return 'Bool';
  return key.type === SearchAttributeType.KEYWORD ? 'Keyword' : 'KeywordList';
}

/** `Name=Type` arguments for `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTE_FLAGS: string[] = Object.values(SEARCH_ATTRIBUTES).flatMap((k) => [
  '--search-attribute',
  `${k.name}=${searchAttributeTypeName(k)}`,
]);

export function sweepSearchAttributes(exp: Experiment): SearchAttributePair[] {
  return [
    { key: SEARCH_ATTRIBUTES.experiment, value: exp.name },
    { key: SEARCH_ATTRIBUTES.models, value: exp.matrix.model.map((m) => m.id) },
    { key: SEARCH_ATTRIBUTES.quantizations, value: [...new Set(exp.matrix.model.map((m) => m.quantization))] },
    { key: SEARCH_ATTRIBUTES.powerModes, value: exp.matrix.power.map(powerKey) },
  ];
}

/**
 * A cell's attributes at its start: the sweep's names with the cell's single values, plus the cell's own. A cell on
 * no device (its model is on none) has no ThorbenchDevice.
 */
export function cellSearchAttributes(
  sweepId: string,
  experiment: string,
  deviceId: string | null,
  c: PlannedCell,
): SearchAttributePair[] {
  return [
    { key: SEARCH_ATTRIBUTES.experiment, value: experiment },
    { key: SEARCH_ATTRIBUTES.models, value: [c.model.id] },
    { key: SEARCH_ATTRIBUTES.quantizations, value: [c.model.quantization] },
    { key: SEARCH_ATTRIBUTES.powerModes, value: [c.powerKey] },
    { key: SEARCH_ATTRIBUTES.sweep, value: sweepId },
    ...(deviceId === null ? [] : [{ key: SEARCH_ATTRIBUTES.device, value: deviceId }]),
    { key: SEARCH_ATTRIBUTES.scenario, value: c.scenario.name },
    { key: SEARCH_ATTRIBUTES.clocks, value: c.clocks },
    { key: SEARCH_ATTRIBUTES.cellStatus, value: 'pending' satisfies CellVisibilityStatus },
  ];
}

/** Only the attributes the server knows: setting an unregistered one would fail every workflow task. */
export function onlyRegistered(pairs: SearchAttributePair[], registered: ReadonlySet<string>): SearchAttributePair[] {
  return pairs.filter((p) => registered.has(p.key.name));
}

/**
 * What the Temporal Web UI shows for a cell and its steps (user metadata: a child workflow's static summary and
 * details, an activity's summary), so a sweep's timeline reads as its matrix:
 * `FP8 · MAXN · clocks locked · high-load (c=8, 100 prompts)`, `benchmark high-load: 100 prompts at concurrency 8`.
 * Pure and deterministic.
 */
import type { Plan, PlannedCell } from '../plan/plan.js';
import type { EngineSpec, ScenarioSpec, StepName, WarmupSpec } from '../schema/experiment.js';

function concurrency(s: ScenarioSpec): string {
  return s.maxConcurrency === undefined ? 'unbounded concurrency' : `concurrency ${s.maxConcurrency}`;
}

function prompts(n: number): string {
  return `${n} prompt${n === 1 ? '' : 's'}`;
}

function powerLabel(c: PlannedCell): string {
  return c.power.mode ?? `mode ${c.power.id}`;
}

/**
 * One line per cell. The model id leads only when two models of the plan share a quantization (the quantization
 * alone would not say which), and the repeat ends it only when the plan repeats cells.
 */
export function cellSummary(c: PlannedCell, plan: Plan): string {
  const models = new Set(
    plan.cells.filter((x) => x.model.quantization === c.model.quantization).map((x) => x.model.id),
  );
  const repeats = plan.cells.some((x) => x.repeat > 1);
  const s = c.scenario;
  const parts = [
    ...(models.size > 1 ? [c.model.id] : []),
    c.model.quantization.toUpperCase(),
    powerLabel(c),
    `clocks ${c.clocks}`,
    `${s.name} (c=${s.maxConcurrency ?? '∞'}, ${prompts(s.numPrompts)})`,
    ...(repeats ? [`repeat ${c.repeat}`] : []),
  ];
  return parts.join(' · ');
}

/** The cell's details page: everything that defines it, in Temporal's Markdown (no device: its model is on none). */
export function cellDetails(
  c: PlannedCell,
  plan: Plan,
  sweepId: string,
  deviceId: string | null,
  engine: EngineSpec,
): string {
  const s = c.scenario;
  const rate = s.requestRate === undefined ? 'all at once' : `${s.requestRate} req/s (burstiness ${s.burstiness})`;
  const where = deviceId === null ? 'on no device' : `on device \`${deviceId}\``;
  return [
    `**${c.id}** — cell ${c.position + 1} of ${plan.cells.length} in sweep \`${sweepId}\`, ${where}`,
    '',
    `- model: \`${c.model.id}\` (${c.model.path}, ${c.model.quantization}${c.model.size ? `, ${c.model.size}` : ''})`,
    `- power mode: ${powerLabel(c)}; clocks: ${c.clocks}`,
    `- scenario: ${s.name} — ${s.inputLen} input / ${s.outputLen} output tokens, ${prompts(s.numPrompts)}, ` +
      `${concurrency(s)}, ${rate}`,
    `- engine: ${engine.image}; ${c.startsEngine ? 'starts the engine' : 'reuses the engine'}` +
      (c.stopsEngine ? ', removes it afterwards' : ''),
    `- repeat ${c.repeat}`,
  ].join('\n');
}

/** What each step's activity does, for this cell. */
export function stepSummary(step: StepName, c: PlannedCell, engine: EngineSpec, warmup: WarmupSpec | null): string {
  const s = c.scenario;
  switch (step) {
    case 'flushCaches':
      return 'flush caches: sync, drop the page cache';
    case 'ensurePowerMode':
      return `power mode ${powerLabel(c)}`;
    case 'rebootForPowerMode':
      return `reboot into ${powerLabel(c)}`;
    case 'ensureClocks':
      return c.clocks === 'locked' ? 'clocks locked (jetson_clocks)' : 'clocks default (DVFS)';
    case 'describeDevice':
      return 'describe the device: L4T release, boot, power mode, clocks';
    case 'startEngine':
      return `start ${c.model.id} in ${engine.image}`;
    case 'waitForHealth':
      return `wait until ${c.model.id} serves on port ${engine.port}`;
    case 'warmup':
      return `warm-up: ${prompts(warmup?.numPrompts ?? 0)}`;
    case 'benchmark':
      return `benchmark ${s.name}: ${prompts(s.numPrompts)} at ${concurrency(s)}`;
    case 'readBackDevice':
      return 'read back the power mode and clocks after the run';
    case 'teardown':
      return `remove the ${c.model.id} engine`;
  }
}

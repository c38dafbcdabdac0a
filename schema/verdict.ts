/**
 * The validity verdict of a recorded cell, in the spirit of MLPerf LoadGen's VALID/INVALID: a cell whose numbers
 * cannot be trusted keeps them, but says so and why. Each rule is a pure function of the record and the
 * experiment's `validity` section (schema/experiment.ts); the verdict lists every rule the cell broke.
 *
 * Evidence a record does not carry at all (a key absent because an older thorbench recorded it) is not held
 * against it; evidence recorded as unavailable (null) is.
 *
 * Deterministic: imported by workflow code.
 */
import type { ValiditySpec } from './experiment.js';
import type { CellRecord, Verdict } from './outcome.js';

/** A record as the workflows make it, before it is judged and stamped (activities/results.ts). */
export type UnjudgedCellRecord = Omit<CellRecord, 'verdict' | 'thorbenchVersion' | 'energy' | 'thermal'> &
  Partial<Pick<CellRecord, 'verdict' | 'thorbenchVersion' | 'energy' | 'thermal'>>;

/** What the rules read: energy and thermal are absent in records made before they were kept. */
type Judged = UnjudgedCellRecord;
type Rule = (c: Judged, v: ValiditySpec) => string | null;

const fmt = (n: number, digits = 2): string => String(Number(n.toFixed(digits)));

/** A cell that did not finish its benchmark has no result to trust. */
export const ruleSucceeded: Rule = (c) => {
  if (c.status === 'succeeded' && c.metrics !== null) return null;
  return `no benchmark result: the cell was ${c.status}${c.failure ? ` (${c.failure.type})` : ''}`;
};

export const ruleMinCompleted: Rule = (c, v) => {
  const completed = c.metrics?.completed;
  if (typeof completed !== 'number' || completed >= v.minCompleted) return null;
  return `only ${completed} request(s) completed; validity.minCompleted is ${v.minCompleted}`;
};

export const ruleMinDuration: Rule = (c, v) => {
  const d = c.metrics?.duration;
  if (typeof d !== 'number' || d >= v.minDurationS) return null;
  return `the benchmark ran ${fmt(d)} s; validity.minDurationS is ${v.minDurationS}`;
};

export const ruleFailedRatio: Rule = (c, v) => {
  if (!c.metrics) return null;
  const failed = c.metrics.failed ?? 0;
  const total = c.metrics.completed + failed;
  if (failed <= 0 || total <= 0 || failed / total <= v.maxFailedRatio) return null;
  const share = `${fmt((100 * failed) / total, 1)} %`;
  return `${failed} of ${total} requests failed (${share}); validity.maxFailedRatio is ${v.maxFailedRatio}`;
};

/** The engine was started for this cell and the benchmark ran on it cold (no `warmup` configured). */
export const ruleWarmup: Rule = (c, v) => {
  if (!v.requireWarmup || c.status !== 'succeeded' || c.engine?.startedForCell !== true) return null;
  if (c.steps.some((s) => s.step === 'warmup' && s.result.kind === 'done')) return null;
  return (
    'no warm-up before the run: the engine was started for this cell and no warmup is configured ' +
    '(add a "warmup" section)'
  );
};

export const ruleClocks: Rule = (c) => {
  if (c.status !== 'succeeded' || !c.device || c.device.clocksAfter === undefined) return null;
  const after = c.device.clocksAfter;
  if (after === null) return 'the clocks could not be read back after the run (jetson_clocks --show)';
  if (c.clocks === 'locked' && !after.locked) {
    const gpu = after.gpuMhz !== null ? `, GPU at ${after.gpuMhz} of ${after.gpuMaxMhz ?? '?'} MHz` : '';
    return `the cell asked for locked clocks, but jetson_clocks --show found them unlocked after the run${gpu}`;
  }
  if (c.clocks === 'default' && after.locked)
    return 'the cell asked for default clocks (DVFS), but they were locked after the run';
  return null;
};

export const rulePowerMode: Rule = (c) => {
  if (c.status !== 'succeeded' || !c.device || c.device.powerModeAfter === undefined) return null;
  const after = c.device.powerModeAfter;
  if (after === null) return 'the power mode could not be read back after the run (nvpmodel -q)';
  if (after.name.toLowerCase() === c.power || `mode${after.id}` === c.power) return null;
  return `the power mode after the run was ${after.name} (id ${after.id}), not the requested ${c.power}`;
};

export const ruleTemperature: Rule = (c, v) => {
  const t = c.thermal;
  if (!t || t.maxTempC === null || t.maxTempC < v.maxTemperatureC) return null;
  const sensor = t.maxTempSensor ?? 'a sensor';
  return `${sensor} reached ${fmt(t.maxTempC, 1)} °C during the run; validity.maxTemperatureC is ${v.maxTemperatureC}`;
};

/** With locked clocks the GPU clock must not move: a drop during the run is the SoC throttling. */
export const ruleThrottling: Rule = (c) => {
  const t = c.thermal;
  const lockedAt = c.device?.clocksAfter?.gpuMaxMhz ?? null;
  if (c.clocks !== 'locked' || !t || t.gpuMhzMin === null || lockedAt === null) return null;
  // tegrastats prints whole MHz: allow its rounding.
  if (t.gpuMhzMin >= lockedAt - 1) return null;
  return `the GPU clock fell to ${t.gpuMhzMin} MHz during the run while locked at ${lockedAt} MHz: the SoC throttled`;
};

export const ruleEnergy: Rule = (c, v) => {
  if (!v.requireEnergy || c.simulated || !c.device || c.status !== 'succeeded' || c.energy === undefined) return null;
  if (c.energy?.status === 'measured') return null;
  return `no energy figure on a real device: ${c.energy?.reason ?? 'no telemetry was recorded'}`;
};

/** Every rule, in the order a report lists the reasons. */
export const VALIDITY_RULES: readonly Rule[] = [
  ruleSucceeded,
  ruleMinCompleted,
  ruleMinDuration,
  ruleFailedRatio,
  ruleWarmup,
  ruleClocks,
  rulePowerMode,
  ruleTemperature,
  ruleThrottling,
  ruleEnergy,
];

export function judgeCell(record: Judged, validity: ValiditySpec): Verdict {
  const reasons = VALIDITY_RULES.map((rule) => rule(record, validity)).filter((r): r is string => r !== null);
  return { valid: reasons.length === 0, reasons };
}

/** The record as stored: energy and thermal said explicitly, judged, stamped with the thorbench that recorded it. */
export function completeRecord(
  input: UnjudgedCellRecord,
  validity: ValiditySpec,
  thorbenchVersion: string | null,
): CellRecord {
  return {
    ...input,
    energy: input.energy ?? null,
    thermal: input.thermal ?? null,
    verdict: input.verdict ?? judgeCell(input, validity),
    thorbenchVersion: input.thorbenchVersion ?? thorbenchVersion,
  };
}

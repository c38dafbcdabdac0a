import { type Plan, type PlanStart, planSweep } from '../../plan/plan.js';
import { fmtDuration } from '../../report/format.js';
import { PowerModeSpec, type SearchSpec } from '../../schema/experiment.js';
import { EXIT_INVALID, ExitError } from '../errors.js';
import { loadExperiment, sweepIdFor } from '../experiment-file.js';

/** "search maxConcurrency 1..64 for p99_ttft_ms ≤ 500: at most 12 probes × 3 repeats". */
function searchMark(spec: SearchSpec, slot: { repeats: number; maxProbes: number }): string {
  const slos = Object.entries(spec.slo).map(([k, v]) => `${k} ≤ ${v}`);
  const repeats = slot.repeats > 1 ? ` × ${slot.repeats} repeats` : '';
  const range = `${spec.vary} ${spec.min}..${spec.max}`;
  return `search ${range} for ${slos.join(', ')}: at most ${slot.maxProbes} probes${repeats}`;
}

export function planJson(plan: Plan, sweepId: string) {
  return {
    experiment: plan.experiment,
    sweepId,
    ...plan.counts,
    estimatedSeconds: plan.estimatedSeconds,
    order: plan.cells.map((c) => c.id),
    steps: plan.cells.map((c) => ({
      id: c.id,
      position: c.position,
      engineGroup: c.engineGroup,
      changesPowerMode: c.changesPowerMode,
      mayReboot: c.mayReboot,
      changesClocks: c.changesClocks,
      startsEngine: c.startsEngine,
      stopsEngine: c.stopsEngine,
      ...(c.search && c.scenario.search ? { search: { ...c.scenario.search, ...c.search } } : {}),
    })),
  };
}

/** `--current-power 70W` or `--current-power 3`: the power mode the sweep's device is in (its clocks unknown). */
export function parseCurrentPower(value: string): PlanStart {
  const spec = /^\d+$/.test(value) ? { id: Number(value) } : { mode: value };
  const parsed = PowerModeSpec.safeParse(spec);
  if (!parsed.success)
    throw new ExitError(`--current-power: "${value}" is not an nvpmodel mode name (MAXN, 120W…) or id`, EXIT_INVALID);
  return { power: parsed.data };
}

/**
 * `thorbench plan <file> [--json] [--current-power MODE]`: the ordered cells and what each transition costs, from
 * the power mode the device is in (a sweep reads it from the device; without it, the plan assumes MAXN/120W).
 */
export async function plan(opts: {
  file: string;
  json: boolean;
  currentPower?: string;
  out: (line: string) => void;
}): Promise<void> {
  const { experiment } = await loadExperiment(opts.file);
  const p = planSweep(experiment, opts.currentPower === undefined ? undefined : parseCurrentPower(opts.currentPower));
  const sweepId = sweepIdFor(experiment);
  if (opts.json) {
    opts.out(JSON.stringify(planJson(p, sweepId), null, 2));
    return;
  }
  const k = p.counts;
  opts.out(`Plan for ${experiment.name} (sweep id ${sweepId})`);
  if (k.searches > 0)
    opts.out(
      `  ${k.searches} capacity searches (probes chosen while the sweep runs): at most ${k.maxProbeCells} probe cells`,
    );
  opts.out(
    `  ${k.cells} cells, ${k.modelLoads} model loads, ${k.powerModeChanges} power-mode changes, ${k.clockChanges} clock changes, ${k.reboots} possible reboots, ${k.warmups} warm-ups`,
  );
  opts.out(`  estimated ${fmtDuration(p.estimatedSeconds * 1000)} on a Jetson AGX Thor`);
  opts.out('');
  for (const c of p.cells) {
    const marks = [
      c.mayReboot ? 'reboot?' : null,
      c.changesPowerMode ? `power ${c.power.mode ?? c.power.id}` : null,
      c.changesClocks ? `clocks ${c.clocks}` : null,
      c.startsEngine ? `load ${c.model.id}` : null,
      c.changesPowerMode && !c.startsEngine ? 'warm-up' : null,
      c.stopsEngine ? 'unload' : null,
    ].filter(Boolean);
    if (c.search && c.scenario.search) marks.push(searchMark(c.scenario.search, c.search));
    opts.out(`  ${String(c.position + 1).padStart(4)}  ${c.id}${marks.length ? `   [${marks.join(', ')}]` : ''}`);
  }
}

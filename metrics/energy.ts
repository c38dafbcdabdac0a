/**
 * Energy over the benchmark window, a Thor-only extension (docs/metrics.md, "Energy"): the board input rail `VIN` (the
 * carrier's INA238, module + carrier + fan + storage; docs/thor.md, "tegrastats") is sampled with timestamps and
 * integrated with the trapezoid rule over exactly the benchmark window. Do not add VIN to the module rails: VIN already
 * contains them.
 *
 * Deterministic: no Node.js APIs.
 */

export interface PowerSample {
  /** Sample time, seconds, on the same clock as the window bounds. */
  tS: number;
  watts: number;
}

export interface EnergyResult {
  /** Joules over the whole window. */
  energyJ: number;
  /** energyJ / window length. */
  avgPowerW: number;
  /** Samples whose time lies inside the window (interpolation may also use one neighbour outside each edge). */
  sampleCount: number;
  /**
   * Seconds of the window the samples span. When the telemetry started late or stopped early, the uncovered edges are
   * assumed to draw the average power of the covered part; compare coveredS with the window to judge that.
   */
  coveredS: number;
}

/** Linear interpolation of the sampled power at time t, for t within the samples' span. `s` is sorted by time. */
function powerAt(s: readonly PowerSample[], t: number): number {
  let lo = 0;
  let hi = s.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (s[mid]!.tS <= t) lo = mid;
    else hi = mid;
  }
  const a = s[lo]!;
  const b = s[hi]!;
  if (t <= a.tS || b.tS === a.tS) return a.watts;
  if (t >= b.tS) return b.watts;
  return a.watts + ((b.watts - a.watts) * (t - a.tS)) / (b.tS - a.tS);
}

/**
 * Integrates power over [windowStartS, windowEndS]: trapezoids between samples, with the power at each window edge
 * interpolated from the samples around it. Returns null when the samples do not span any part of the window (fewer
 * than two usable samples): no energy figure is better than an invented one.
 */
export function integrateEnergy(
  samples: readonly PowerSample[],
  windowStartS: number,
  windowEndS: number,
): EnergyResult | null {
  if (!(windowEndS > windowStartS)) {
    throw new RangeError(`integrateEnergy: window end (${windowEndS}) must be after window start (${windowStartS})`);
  }
  const s = samples.filter((x) => Number.isFinite(x.tS) && Number.isFinite(x.watts)).sort((a, b) => a.tS - b.tS);
  if (s.length < 2) return null;
  const from = Math.max(windowStartS, s[0]!.tS);
  const to = Math.min(windowEndS, s[s.length - 1]!.tS);
  if (!(to > from)) return null;

  const inside = s.filter((x) => x.tS > from && x.tS < to);
  const points: PowerSample[] = [{ tS: from, watts: powerAt(s, from) }, ...inside, { tS: to, watts: powerAt(s, to) }];
  let covered = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    covered += ((a.watts + b.watts) / 2) * (b.tS - a.tS);
  }
  const coveredS = to - from;
  const avgPowerW = covered / coveredS;
  return {
    energyJ: avgPowerW * (windowEndS - windowStartS),
    avgPowerW,
    sampleCount: s.filter((x) => x.tS >= windowStartS && x.tS <= windowEndS).length,
    coveredS,
  };
}

export interface EnergyMetrics {
  energy_j: number | null;
  avg_power_w: number | null;
  energy_per_output_token_j: number | null;
  output_throughput_per_w: number | null;
}

/**
 * The energy keys of BenchmarkMetrics. All null without telemetry; per-token and per-watt figures are null when there
 * is nothing to divide by (no output tokens, zero power) rather than Infinity.
 */
export function energyMetrics(
  energy: EnergyResult | null,
  totalOutputTokens: number,
  durationS: number,
): EnergyMetrics {
  if (energy === null)
    return { energy_j: null, avg_power_w: null, energy_per_output_token_j: null, output_throughput_per_w: null };
  return {
    energy_j: energy.energyJ,
    avg_power_w: energy.avgPowerW,
    energy_per_output_token_j: totalOutputTokens > 0 ? energy.energyJ / totalOutputTokens : null,
    output_throughput_per_w:
      energy.avgPowerW > 0 && durationS > 0 ? totalOutputTokens / durationS / energy.avgPowerW : null,
  };
}

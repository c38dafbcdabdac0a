/**
 * What the telemetry of one benchmark window says: energy from the board input rail (metrics/energy.ts), and the
 * temperatures and GPU clocks the validity verdict checks (schema/verdict.ts). When no energy can be given, the
 * result says why, so a record never carries energy by a missing key.
 *
 * Deterministic: no Node.js APIs.
 */
import type { EnergyStatus, ThermalSummary } from '../schema/outcome.js';
import { type EnergyMetrics, energyMetrics, integrateEnergy } from './energy.js';

/** The rail energy is integrated from: VIN, the whole board's input (reference notes in metrics/energy.ts). */
export const ENERGY_RAIL = 'VIN';

/** One parsed tegrastats line with its arrival time. */
export interface WindowSample {
  /** Epoch milliseconds. */
  tMs: number;
  /** Instantaneous power per rail, mW. */
  rails: Record<string, number>;
  /** Temperatures by sensor, °C (absent in samples recorded before they were kept). */
  temps?: Record<string, number>;
  /** GPU clocks, MHz (one per GPC on Thor). */
  gpuMhz?: number[];
}

export interface WindowTelemetry {
  /** The energy keys of BenchmarkMetrics, null when energy is unavailable. */
  metrics: EnergyMetrics;
  energy: EnergyStatus;
  thermal: ThermalSummary;
}

/** Sensors that read -256 °C (or anything this cold) are switched off, not cold. */
const SENSOR_OFF_BELOW_C = -100;

/**
 * The samples that describe [startMs, endMs]: those inside, plus the nearest one on each side (which the edges of
 * the window are interpolated from).
 */
function bracketing(samples: readonly WindowSample[], startMs: number, endMs: number): WindowSample[] {
  const sorted = [...samples].sort((a, b) => a.tMs - b.tMs);
  const before = sorted.filter((s) => s.tMs < startMs).at(-1);
  const after = sorted.find((s) => s.tMs > endMs);
  const inside = sorted.filter((s) => s.tMs >= startMs && s.tMs <= endMs);
  return [...(before ? [before] : []), ...inside, ...(after ? [after] : [])];
}

export function summarizeThermal(samples: readonly WindowSample[], startMs: number, endMs: number): ThermalSummary {
  const window = bracketing(samples, startMs, endMs);
  let maxTempC: number | null = null;
  let maxTempSensor: string | null = null;
  let gpuMhzMin: number | null = null;
  let gpuMhzMax: number | null = null;
  for (const s of window) {
    for (const [sensor, c] of Object.entries(s.temps ?? {})) {
      if (!Number.isFinite(c) || c < SENSOR_OFF_BELOW_C) continue;
      if (maxTempC === null || c > maxTempC) {
        maxTempC = c;
        maxTempSensor = sensor;
      }
    }
    // GPU clocks only from inside the window: outside it the GPU may idle or be rail-gated (0 MHz), not throttled.
    if (s.tMs < startMs || s.tMs > endMs) continue;
    for (const mhz of s.gpuMhz ?? []) {
      if (!Number.isFinite(mhz) || mhz <= 0) continue;
      gpuMhzMin = gpuMhzMin === null ? mhz : Math.min(gpuMhzMin, mhz);
      gpuMhzMax = gpuMhzMax === null ? mhz : Math.max(gpuMhzMax, mhz);
    }
  }
  return { samples: window.length, maxTempC, maxTempSensor, gpuMhzMin, gpuMhzMax };
}

/**
 * Energy and thermal summary of a benchmark window. `telemetryError` is what the recorder reported (tegrastats
 * missing, unparsable lines); it becomes the reason when no energy could be computed.
 */
export function summarizeWindow(input: {
  samples: readonly WindowSample[];
  telemetryError: string | null;
  startMs: number;
  endMs: number;
  totalOutputTokens: number;
  durationS: number;
}): WindowTelemetry {
  const { samples, startMs, endMs } = input;
  const thermal = summarizeThermal(samples, startMs, endMs);
  const unavailable = (reason: string): WindowTelemetry => ({
    metrics: energyMetrics(null, input.totalOutputTokens, input.durationS),
    energy: { status: 'unavailable', reason },
    thermal,
  });
  if (!(endMs > startMs)) return unavailable('the benchmark window is empty');
  if (samples.length === 0) {
    return unavailable(
      input.telemetryError
        ? `no tegrastats samples: ${input.telemetryError}`
        : 'tegrastats printed no line during the benchmark',
    );
  }
  const rail = samples.filter((s) => typeof s.rails[ENERGY_RAIL] === 'number');
  if (rail.length === 0) {
    const seen = [...new Set(samples.flatMap((s) => Object.keys(s.rails)))];
    return unavailable(
      `tegrastats printed no ${ENERGY_RAIL} rail (${seen.length > 0 ? `it printed ${seen.join(', ')}` : 'no rail at all'}); ` +
        "VIN is the carrier board's input monitor, which a custom carrier may lack",
    );
  }
  const power = rail.map((s) => ({ tS: s.tMs / 1000, watts: s.rails[ENERGY_RAIL]! / 1000 }));
  const energy = integrateEnergy(power, startMs / 1000, endMs / 1000);
  if (energy === null) {
    return unavailable(
      `${rail.length} ${ENERGY_RAIL} sample(s), none spanning the ${((endMs - startMs) / 1000).toFixed(2)} s benchmark window`,
    );
  }
  return {
    metrics: energyMetrics(energy, input.totalOutputTokens, input.durationS),
    energy: {
      status: 'measured',
      rail: ENERGY_RAIL,
      samples: energy.sampleCount,
      coveredS: energy.coveredS,
      windowS: (endMs - startMs) / 1000,
    },
    thermal,
  };
}

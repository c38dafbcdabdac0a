/**
 * Power telemetry during a benchmark: our own `tegrastats --interval` child (never `tegrastats --start/--stop`,
 * which are global to the device), sampled for the benchmark window and stopped afterwards. The board input rail
 * VIN is what energy is integrated from (docs/metrics.md, "Energy"); the other rails are kept in the artifact.
 */
import { parseTegrastatsLine } from '../parsers/thor.js';
import type { DeviceProfile } from './device-profile.js';
import { type StreamingCommand, streamDevice } from './exec.js';

export interface TelemetrySample {
  /** Epoch milliseconds when the line arrived. */
  tMs: number;
  /** Instantaneous power per rail, mW. */
  rails: Record<string, number>;
  /** Temperatures by sensor, °C. */
  temps: Record<string, number>;
  /** GR3D/GPC clocks, MHz. */
  gpuMhz: number[];
}

export interface TelemetryRecorder {
  /**
   * Resolves once a first line has arrived (or tegrastats failed, or `timeoutMs` passed): a benchmark started after
   * it has a sample before its window, so the window's first edge is interpolated, not extrapolated.
   */
  firstSample(timeoutMs?: number): Promise<void>;
  /** Stops tegrastats; with `trailingSample`, first waits for one more line (the window's last edge), briefly. */
  stop(options?: { trailingSample?: boolean }): Promise<{ samples: TelemetrySample[]; error: string | null }>;
}

export function startTelemetry(profile: DeviceProfile, intervalMs = 500): TelemetryRecorder {
  const samples: TelemetrySample[] = [];
  let error: string | null = null;
  // Waiters for the next sample (or for tegrastats ending): resolved by the line reader and on exit.
  let waiters: (() => void)[] = [];
  const wake = (): void => {
    const ready = waiters;
    waiters = [];
    for (const w of ready) w();
  };
  const nextSample = (timeoutMs: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  const onLine = (line: string): void => {
    try {
      const parsed = parseTegrastatsLine(line);
      const rails: Record<string, number> = {};
      for (const [name, v] of Object.entries(parsed.rails)) rails[name] = v.instMw;
      samples.push({ tMs: Date.now(), rails, temps: parsed.temps, gpuMhz: parsed.gpuFreqsMhz });
      wake();
    } catch (err) {
      error ??= `unparsable tegrastats line: ${(err as Error).message}`;
    }
  };
  let ended = false;
  let command: StreamingCommand | null = null;
  try {
    command = streamDevice(profile, [profile.commands.tegrastats, '--interval', String(intervalMs)], { onLine });
  } catch (err) {
    error = `tegrastats could not start: ${(err as Error).message}`;
    ended = true;
  }
  // A tegrastats that fails while the benchmark runs is reported at stop(), not as an unhandled rejection.
  const exit = command?.done.then(
    () => null,
    (err: Error) => err.message,
  );
  void exit?.then(() => {
    ended = true;
    wake();
  });
  return {
    async firstSample(timeoutMs = Math.max(2_000, 3 * intervalMs)) {
      if (samples.length > 0 || ended) return;
      await nextSample(timeoutMs);
    },
    async stop(options = {}) {
      if (options.trailingSample && !ended) await nextSample(2 * intervalMs + 500);
      if (command) {
        await command.stop().catch(() => undefined);
        error ??= (await exit) ?? null;
      }
      return { samples, error };
    },
  };
}

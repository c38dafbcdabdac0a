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
  rails: Record<string, number>;
}

export interface TelemetryRecorder {
  stop(): Promise<{ samples: TelemetrySample[]; error: string | null }>;
}

export function startTelemetry(profile: DeviceProfile, intervalMs = 500): TelemetryRecorder {
  const samples: TelemetrySample[] = [];
  let error: string | null = null;
  const onLine = (line: string): void => {
    try {
      const parsed = parseTegrastatsLine(line);
      const rails: Record<string, number> = {};
      for (const [name, v] of Object.entries(parsed.rails)) rails[name] = v.instMw;
      samples.push({ tMs: Date.now(), rails });
    } catch (err) {
      error ??= `unparsable tegrastats line: ${(err as Error).message}`;
    }
  };
  let command: StreamingCommand | null = null;
  try {
    command = streamDevice(profile, [profile.commands.tegrastats, '--interval', String(intervalMs)], { onLine });
  } catch (err) {
    error = `tegrastats could not start: ${(err as Error).message}`;
  }
  // A tegrastats that fails while the benchmark runs is reported at stop(), not as an unhandled rejection.
  const ended = command?.done.then(
    () => null,
    (err: Error) => err.message,
  );
  return {
    async stop() {
      if (command) {
        await command.stop().catch(() => undefined);
        error ??= (await ended) ?? null;
      }
      return { samples, error };
    },
  };
}

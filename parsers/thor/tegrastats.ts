/**
 * Parser for one `tegrastats` line: power rails (for the energy metrics), RAM, GPU clocks and temperatures.
 *
 * Real Thor line (R38.4, from NVIDIA's tegrastats field reference; docs/thor.md):
 * `04-21-2026 15:50:52 RAM 105265/125772MB (lfb 34x4MB) CPU [0%@972,...] EMC_FREQ 0%@2750 GR3D_FREQ @[314,314,314] ...
 *  cpu@37.343C tj@38.875C ... VDD_GPU 1962mW/1962mW VDD_CPU_SOC_MSS 5887mW/5887mW VIN_SYS_5V0 5635mW/5635mW VIN 19780mW/19780mW`
 * JetPack 7.2 prints three values per rail (`5139mW/5139mW/5139mW`); older Jetsons print no unit (`VDD_IN 14025/14416`).
 * The first value is always the instantaneous reading.
 *
 * Deterministic: no Node.js APIs.
 */
import { ParseError } from '../parse-error.js';

export interface RailReading {
  /** Instantaneous power, mW. */
  instMw: number;
  /** tegrastats' running average, mW. */
  avgMw: number;
}

export interface TegrastatsSample {
  /** `MM-DD-YYYY HH:MM:SS` as printed (local time of the device), or null when tegrastats printed none. */
  timestamp: string | null;
  /** Power rails by name (Thor: VDD_GPU, VDD_CPU_SOC_MSS, VIN_SYS_5V0, VIN). */
  rails: Record<string, RailReading>;
  ramUsedMb: number | null;
  ramTotalMb: number | null;
  /** GR3D_FREQ clocks, MHz: one per GPC on Thor (`@[314,314,314]`), one on older Jetsons. Empty when the GPU is off. */
  gpuFreqsMhz: number[];
  /** GR3D utilisation %, when printed (not on Thor R38). */
  gpuUtilPct: number | null;
  /** Temperatures by sensor name, °C. A sensor that is off reads -256 on some Jetsons; it is kept as printed. */
  temps: Record<string, number>;
}

const TIMESTAMP_RE = /^\s*(\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2})\b/;
const RAM_RE = /\bRAM (\d+)\/(\d+)MB\b/;
const GR3D_RE = /\bGR3D_FREQ (?:(\d+)%)?@(?:\[([\d,]*)\]|(\d+))/;
const TEMP_RE = /(?:^|\s)([A-Za-z][\w]*)@(-?\d+(?:\.\d+)?)C(?=\s|$)/g;
// A rail is NAME v1/v2[/v3], every value either all in mW or unit-less; the lookahead keeps RAM 1/2MB out.
const RAIL_RE = /(?:^|\s)([A-Z][A-Z0-9_]*) (\d+)(mW)?\/(\d+)(?:mW)?(?:\/(\d+)(?:mW)?)?(?=\s|$)/g;

/** Names that match the rail pattern but are not power rails. */
const NOT_RAILS = new Set(['RAM', 'SWAP', 'IRAM']);

export function parseTegrastatsLine(line: string): TegrastatsSample {
  const timestamp = TIMESTAMP_RE.exec(line)?.[1] ?? null;

  const rails: Record<string, RailReading> = {};
  for (const m of line.matchAll(RAIL_RE)) {
    if (NOT_RAILS.has(m[1]!)) continue;
    rails[m[1]!] = { instMw: Number(m[2]), avgMw: Number(m[4]) };
  }

  const ram = RAM_RE.exec(line);
  const gr3d = GR3D_RE.exec(line);
  let gpuFreqsMhz: number[] = [];
  if (gr3d?.[2] !== undefined)
    gpuFreqsMhz = gr3d[2]
      .split(',')
      .filter((f) => f !== '')
      .map(Number);
  else if (gr3d?.[3] !== undefined) gpuFreqsMhz = [Number(gr3d[3])];

  const temps: Record<string, number> = {};
  for (const m of line.matchAll(TEMP_RE)) temps[m[1]!] = Number(m[2]);

  if (!ram && Object.keys(rails).length === 0) {
    throw ParseError.of(
      'tegrastats line',
      'found neither "RAM <used>/<total>MB" nor any "<RAIL> <mW>mW/<mW>mW" power field',
      line,
    );
  }
  return {
    timestamp,
    rails,
    ramUsedMb: ram ? Number(ram[1]) : null,
    ramTotalMb: ram ? Number(ram[2]) : null,
    gpuFreqsMhz,
    gpuUtilPct: gr3d?.[1] !== undefined ? Number(gr3d[1]) : null,
    temps,
  };
}

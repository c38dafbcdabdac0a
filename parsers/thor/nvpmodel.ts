/**
 * Parsers for `nvpmodel` output: the current mode (`-q`), the mode table (`-p --verbose`) and the reboot prompt that
 * `-m <id>` prints when the target mode gates GPU TPCs or CPU cores differently from the current one.
 *
 * Formats follow the real tool as captured on Thor (fixtures/thor/nvpmodel-q.*.txt) and the regexes jetson-stats
 * (jtop/core/nvpmodel.py) built against real output; see docs/thor.md, "nvpmodel".
 *
 * Deterministic: no Node.js APIs.
 */
import { ParseError, splitLines } from '../parse-error.js';

export interface PowerModeRef {
  /** Mode name as nvpmodel prints it: MAXN, 120W, 90W, MODE_30W_ALL... */
  name: string;
  id: number;
}

const QUERY_RE = /NV Power Mode:\s*(\w+)/;

/**
 * Parses `nvpmodel -q`: `NV Power Mode: 120W` followed by the id on the next line. Warning lines
 * (`NVPM WARN: fan mode is not set!`) may precede it, so the mode line is searched for, as jtop does.
 */
export function parseNvpmodelQuery(text: string): PowerModeRef {
  const source = 'nvpmodel -q output';
  const lines = splitLines(text);
  const at = lines.findIndex((line) => QUERY_RE.test(line));
  if (at < 0)
    throw ParseError.of(
      source,
      'no "NV Power Mode: <name>" line (is nvpmodel installed and allowed to run via sudo -n?)',
      text,
    );
  const name = QUERY_RE.exec(lines[at]!)![1]!;
  const idLine = (lines[at + 1] ?? '').trim();
  if (!/^\d+$/.test(idLine)) {
    throw ParseError.of(source, `expected the mode id (an integer) on the line after "NV Power Mode: ${name}"`, text);
  }
  return { name, id: Number(idLine) };
}

export interface PowerModeEntry {
  id: number;
  name: string;
  /**
   * The mode's TPC power-gating mask, or null when the conf does not gate TPCs (older Jetsons). Two modes with
   * different masks cannot be switched between without a reboot.
   */
  tpcPgMask: number | null;
}

export interface NvpmodelTable {
  /** The conf's boot default (`PM_CONFIG DEFAULT`), or null when the output does not show it. */
  defaultMode: PowerModeRef | null;
  modes: PowerModeEntry[];
}

const DEFAULT_RE = /PM_CONFIG:\s*DEFAULT=(\w+)\((\d+)\)/;
const MODEL_RE = /POWER_MODEL:\s*ID=(\d+)\s+NAME=(\w+)/;
const TPC_RE = /TPC_POWER_GATING\s+TPC_PG_MASK\s+(\d+)/;

/**
 * Parses `nvpmodel -p --verbose`: one `POWER_MODEL: ID=n NAME=x` line per mode, each followed by that mode's settings,
 * among them `TPC_POWER_GATING TPC_PG_MASK <mask>`. The mask belongs to the nearest POWER_MODEL line above it.
 */
export function parseNvpmodelVerbose(text: string): NvpmodelTable {
  let defaultMode: PowerModeRef | null = null;
  const modes: PowerModeEntry[] = [];
  for (const line of splitLines(text)) {
    const def = DEFAULT_RE.exec(line);
    if (def) {
      defaultMode = { name: def[1]!, id: Number(def[2]) };
      continue;
    }
    const model = MODEL_RE.exec(line);
    if (model) {
      modes.push({ id: Number(model[1]), name: model[2]!, tpcPgMask: null });
      continue;
    }
    const tpc = TPC_RE.exec(line);
    const current = modes[modes.length - 1];
    if (tpc && current && current.tpcPgMask === null) current.tpcPgMask = Number(tpc[1]);
  }
  if (modes.length === 0) {
    throw ParseError.of(
      'nvpmodel -p --verbose output',
      'no "POWER_MODEL: ID=<n> NAME=<name>" lines (run it with --verbose)',
      text,
    );
  }
  return { defaultMode, modes };
}

export interface RebootPrompt {
  /** nvpmodel refused to switch live: the target mode needs a reboot. */
  rebootRequired: boolean;
  /** The mode id nvpmodel named in the reboot warning. */
  targetMode: number | null;
  /** The prompt was answered with anything but YES (or not at all): the mode was not changed. */
  refused: boolean;
}

/**
 * Reads what `nvpmodel -m <id>` printed. The exit code of a "reboot required" switch is undocumented, so the text is
 * the evidence (docs/thor.md, "The reboot prompt"): `NVPM WARN: Reboot required for changing to this power mode: 2`,
 * then `DO YOU WANT TO REBOOT NOW?`, then `NVPM ERROR: bad input!` when stdin did not say YES.
 */
export function detectRebootPrompt(output: string): RebootPrompt {
  const required = /Reboot required for changing to this power mode:\s*(\d+)/i.exec(output);
  const prompted = /DO YOU WANT TO REBOOT NOW\?/i.test(output);
  const refused = /NVPM ERROR:\s*bad input!/i.test(output) || /no request for power mode/i.test(output);
  return {
    rebootRequired: required !== null || prompted,
    targetMode: required ? Number(required[1]) : null,
    refused,
  };
}

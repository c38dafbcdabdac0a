/**
 * Raw artifacts of a cell, kept beside the results database: `<resultsDir>/<sweep>/<cell>/` holds the harness's
 * result JSON, per-request data, telemetry samples and the engine's log tail.
 *
 * Why atomic writes: a worker can be killed at any instant, and a retried step reads these files back (the
 * harness reuses a finished `result.json` instead of benchmarking again). Every file is written under a temporary
 * name, flushed, then renamed over the final name, so a reader sees either the whole old file, the whole new file
 * or nothing, never half a file. The temporaries a killed writer leaves behind are removed by
 * removePartialArtifacts before the retry writes again.
 *
 * A device worker of a fleet runs on another machine than the sweep worker and the reports: with a shared
 * (PostgreSQL) results store it also sends each finished artifact to the store (storeArtifacts), and readers
 * take an artifact from the store first, then from the directory the record names (readCellArtifact).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import type { CellRecord, EnergyStatus, ThermalSummary } from '../schema/outcome.js';
import { isTempFile, jsonText, TEMP_MARKER, writeFileAtomic } from './atomic-file.js';
import type { ResultsStore } from './store.js';

/** Sweep ids, cell ids and artifact names: one path segment, starting with a letter or digit, so nothing escapes. */
export const ARTIFACT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Sweep ids may also hold ":": a Temporal Schedule names each sweep it starts `<schedule's workflow id>-<RFC 3339
 * time>` (`nightly-2026-11-29T03:00:00Z`), and the sweep id is the workflow id. ":" is an ordinary file name
 * character on the Linux hosts that keep results.
 */
export const SWEEP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/**
 * The largest artifact the results store keeps (per file). Per-request arrays of a long run stay well below it; a
 * larger file stays only on the device's disk, and storeArtifacts reports it instead of filling the database.
 */
export const MAX_STORED_ARTIFACT_BYTES = 32 * 1024 * 1024;

/** File names are bounded by the file system; 200 leaves room for the temporary suffix. */
const MAX_SEGMENT = 200;

function checkSegment(value: string, what: string, pattern = ARTIFACT_ID_PATTERN): void {
  if (typeof value !== 'string' || !pattern.test(value) || value.length > MAX_SEGMENT) {
    const chars = pattern === SWEEP_ID_PATTERN ? '".", "_", ":" or "-"' : '".", "_" or "-"';
    throw new Error(
      `${what} ${JSON.stringify(value)} cannot name an artifact path: use 1-${MAX_SEGMENT} letters, digits, ${chars}, starting with a letter or digit`,
    );
  }
}

function checkName(name: string): void {
  checkSegment(name, 'artifact name');
  if (name.includes(TEMP_MARKER))
    throw new Error(
      `artifact name ${JSON.stringify(name)} contains "${TEMP_MARKER}", which marks temporary files; choose another name`,
    );
}

/** `<resultsDir>/<sweepId>/<cellId>`; both ids are validated so the path stays under resultsDir. */
export function cellArtifactsDir(resultsDir: string, sweepId: string, cellId: string): string {
  checkSegment(sweepId, 'sweep id', SWEEP_ID_PATTERN);
  checkSegment(cellId, 'cell id');
  return path.join(resultsDir, sweepId, cellId);
}

/**
 * Writes `dir/name` atomically (creating dir). Objects are written as indented JSON. Returns the file's path.
 */
export async function writeArtifact(dir: string, name: string, data: string | object): Promise<string> {
  checkName(name);
  const finalPath = path.join(dir, name);
  await writeFileAtomic(finalPath, typeof data === 'string' ? data : jsonText(data));
  return finalPath;
}

/** The text of `dir/name`, or null when it does not exist. */
export async function readArtifactText(dir: string, name: string): Promise<string | null> {
  checkName(name);
  try {
    return await fs.readFile(path.join(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** A cell's benchmark result, the file whose presence says the benchmark finished (written after its other files). */
export const BENCHMARK_RESULT_FILE = 'result.json';

export interface BenchmarkResultArtifact {
  /** Which harness measured: `vllm`, `thorbench-builtin`, or the no-op simulator's. */
  backend: string;
  simulated: boolean;
  /** The no-op simulator's virtual-time run (sim/noop-device.ts). */
  noop?: true;
  device: string;
  attempt: number | null;
  command: readonly string[];
  scenario: unknown;
  metrics: BenchmarkMetrics;
  energy: EnergyStatus;
  thermal: ThermalSummary | null;
  /** vllm harness: leftover `vllm bench serve` processes of an earlier attempt ended before this run. */
  reapedLeftovers?: number;
}

/** Writes the result last, once everything else of the run is on disk: its presence means the run finished. */
export function writeBenchmarkResult(dir: string, result: BenchmarkResultArtifact): Promise<string> {
  return writeArtifact(dir, BENCHMARK_RESULT_FILE, result);
}

/**
 * The result of a benchmark that already finished in `dir` (a retried activity reuses it instead of measuring
 * again), or null. Energy and thermal may be missing from results written before they were kept.
 */
export async function readFinishedBenchmark(
  dir: string,
): Promise<(Pick<BenchmarkResultArtifact, 'metrics'> & Partial<BenchmarkResultArtifact>) | null> {
  const previous = await readArtifact(dir, BENCHMARK_RESULT_FILE);
  if (previous && typeof previous === 'object' && 'metrics' in previous)
    return previous as Pick<BenchmarkResultArtifact, 'metrics'> & Partial<BenchmarkResultArtifact>;
  return null;
}

/**
 * Reads `dir/name`: parsed JSON for `*.json` names, text otherwise, null when the file does not exist.
 */
export async function readArtifact(dir: string, name: string): Promise<unknown> {
  const text = await readArtifactText(dir, name);
  if (text === null || !name.endsWith('.json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(
      `artifact ${path.join(dir, name)} is not valid JSON (${(err as Error).message}); it was not written by thorbench: delete it to let the step run again`,
      { cause: err },
    );
  }
}

/** Names of the finished artifacts in dir (temporaries excluded), sorted; empty when dir does not exist. */
export async function listArtifacts(dir: string): Promise<string[]> {
  const entries = await readDirOrEmpty(dir);
  return entries
    .filter((e) => e.isFile() && !isTempFile(e.name))
    .map((e) => e.name)
    .sort();
}

/**
 * Deletes temporaries (`*.tmp-<pid>-<hex>`) a killed writer left in dir and returns their names. Call it at the
 * start of a step that writes artifacts, before writing: finished files are never touched.
 */
export async function removePartialArtifacts(dir: string): Promise<string[]> {
  const entries = await readDirOrEmpty(dir);
  const partial = entries
    .filter((e) => e.isFile() && isTempFile(e.name))
    .map((e) => e.name)
    .sort();
  for (const name of partial) await fs.rm(path.join(dir, name), { force: true });
  return partial;
}

async function readDirOrEmpty(dir: string) {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** What storeArtifacts did with the files of one cell directory. */
export interface StoredArtifacts {
  stored: string[];
  /** Files left on disk only, with the reason. */
  skipped: { name: string; reason: string }[];
}

/**
 * Sends every finished artifact in `dir` to the results store under (sweepId, cellId). Idempotent: a retried
 * upload replaces the same rows. Files over MAX_STORED_ARTIFACT_BYTES are skipped and listed, not sent.
 */
export async function storeArtifacts(
  store: ResultsStore,
  sweepId: string,
  cellId: string,
  dir: string,
): Promise<StoredArtifacts> {
  const result: StoredArtifacts = { stored: [], skipped: [] };
  for (const name of await listArtifacts(dir)) {
    const file = path.join(dir, name);
    const { size } = await fs.stat(file);
    if (size > MAX_STORED_ARTIFACT_BYTES) {
      result.skipped.push({ name, reason: `${size} bytes, over the store's limit of ${MAX_STORED_ARTIFACT_BYTES}` });
      continue;
    }
    await store.putArtifact(sweepId, cellId, name, await fs.readFile(file));
    result.stored.push(name);
  }
  return result;
}

/**
 * An artifact of a recorded cell as text: from the results store when a device sent it there, else from the
 * cell's artifacts directory when this machine has it; null when neither has it.
 */
export async function readCellArtifact(store: ResultsStore, cell: CellRecord, name: string): Promise<string | null> {
  const stored = await store.getArtifact(cell.sweepId, cell.cellId, name);
  if (stored !== null) return stored.toString('utf8');
  return cell.artifactsDir === null ? null : readArtifactText(cell.artifactsDir, name);
}

/** readCellArtifact, parsed as readArtifact does: JSON for `*.json` names, text otherwise, null when absent. */
export async function readCellArtifactData(store: ResultsStore, cell: CellRecord, name: string): Promise<unknown> {
  const text = await readCellArtifact(store, cell, name);
  if (text === null || !name.endsWith('.json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(
      `artifact ${name} of cell ${cell.cellId} (sweep ${cell.sweepId}) is not valid JSON (${(err as Error).message})`,
      { cause: err },
    );
  }
}

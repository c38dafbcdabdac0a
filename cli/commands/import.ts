/**
 * `thorbench import <files...> --into <sweep> [--cell <cell-id>] [--label key=value,...]`: records results of
 * `vllm bench serve` run elsewhere (printed result blocks, `--save-result` JSON) as succeeded cells of a sweep, so
 * they sit in the same reports as thorbench's own. Every record is marked as imported (harness kind "import",
 * not simulated, no device or engine facts) and keeps its source and per-request data as artifacts.
 *
 * All or nothing: every file is read and checked before anything is written, and the records go into the results
 * database in one transaction; a file that is not a vLLM result is refused with exit 2, naming the file and line.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { requestArrays } from '../../metrics/request-record.js';
import { ImportFileError, type ImportedResult, readVllmResults } from '../../parsers/vllm-import.js';
import { DEFAULT_VALIDITY, QUANTIZATIONS } from '../../schema/experiment.js';
import type { BenchmarkMetrics } from '../../schema/metrics.js';
import type { CellRecord } from '../../schema/outcome.js';
import { completeRecord } from '../../schema/verdict.js';
import { THORBENCH_VERSION } from '../../activities/thorbench-version.js';
import { ARTIFACT_ID_PATTERN, cellArtifactsDir, storeArtifacts, writeArtifact } from '../../store/artifacts.js';
import { openResultsStore } from '../../store/store.js';
import type { CliEnv } from '../context.js';
import { EXIT_INVALID, ExitError } from '../errors.js';
import { splitList } from '../../parsers/parse-error.js';

/** What `--label` may set, with the rule each value must follow. */
const LABEL_RULES: Record<string, { re: RegExp; hint: string }> = {
  power: { re: /^[A-Za-z0-9_]{1,32}$/, hint: 'an nvpmodel mode name such as MAXN or 120W' },
  clocks: { re: /^(locked|default)$/, hint: '"locked" (jetson_clocks) or "default"' },
  model: {
    re: /^[a-z0-9][a-z0-9._-]{0,62}$/,
    hint: 'a model id such as qwen3-8b-fp8 (lower-case letters, digits, ".", "_", "-")',
  },
  quantization: { re: new RegExp(`^(${QUANTIZATIONS.join('|')})$`), hint: `one of ${QUANTIZATIONS.join(', ')}` },
  size: { re: /^[0-9.]+ ?[KMGT]?B?$/i, hint: 'a size on disk such as 8.9G' },
  scenario: { re: /^[a-z0-9][a-z0-9._-]{0,62}$/, hint: 'a scenario name such as high-load' },
};

export type ImportLabels = Partial<Record<keyof typeof LABEL_RULES, string>>;

/** `--label power=MAXN,clocks=locked --label model=qwen3-8b-fp8` → labels; exit 2 naming a bad one. */
export function parseLabels(values: readonly string[]): ImportLabels {
  const labels: Record<string, string> = {};
  for (const part of values.flatMap(splitList)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    const rule = LABEL_RULES[key];
    if (rule === undefined) {
      throw new ExitError(
        `--label ${part}: unknown label "${key}"; labels are ${Object.keys(LABEL_RULES).join(', ')}`,
        EXIT_INVALID,
      );
    }
    if (eq < 0 || !rule.re.test(value))
      throw new ExitError(`--label ${part}: ${key} must be ${rule.hint}`, EXIT_INVALID);
    if (key in labels && labels[key] !== value)
      throw new ExitError(`--label: ${key} is given twice (${labels[key]}, ${value})`, EXIT_INVALID);
    labels[key] = value;
  }
  return labels;
}

/** A cell id from a file name: without directory and extension, lower-cased, other characters as "-". */
export function cellIdFromFile(file: string): string {
  const base = path.basename(file).replace(/\.(txt|log|out|json|jsonl)$/i, '');
  const id = base
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
  return id === '' ? 'imported' : id;
}

/** A cell id ending in `.r<N>` is repeat N of `<id without it>` (as thorbench names repeats); otherwise repeat 1. */
export function repeatOf(cellId: string): number {
  const m = /\.r(\d+)$/.exec(cellId);
  return m && Number(m[1]) >= 1 ? Number(m[1]) : 1;
}

interface Planned {
  file: string;
  result: ImportedResult;
  cellId: string;
}

function checkId(id: string, what: string): void {
  if (!ARTIFACT_ID_PATTERN.test(id) || id.length > 200) {
    throw new ExitError(
      `${what} "${id}" is not usable: use 1-200 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      EXIT_INVALID,
    );
  }
}

/**
 * The metrics recorded for a result: what vLLM printed or saved; with per-request arrays, the recomputation fills
 * the keys the file lacks (an older vLLM saved no peak metrics), while every saved value stands.
 */
function recordedMetrics(r: ImportedResult): BenchmarkMetrics {
  const filled = r.recomputed ? pickMissing(r.recomputed.metrics, r.metrics) : {};
  return { ...filled, ...r.metrics } as BenchmarkMetrics;
}

export interface ImportOptions {
  files: readonly string[];
  into: string;
  cell?: string;
  labels?: readonly string[];
  env: CliEnv;
  out: (line: string) => void;
  /** The argv as given, recorded as the harness command of each imported cell. */
  argv?: readonly string[];
  now?: () => Date;
}

export async function importResults(opts: ImportOptions): Promise<{ imported: string[]; unchanged: string[] }> {
  checkId(opts.into, 'sweep id (--into)');
  if (opts.cell !== undefined) checkId(opts.cell, '--cell');
  const labels = parseLabels(opts.labels ?? []);
  if (opts.files.length === 0) throw new ExitError('give at least one file to import', EXIT_INVALID);

  // 1. Read and check everything before writing anything.
  const perFile: { file: string; abs: string; sha256: string; results: ImportedResult[] }[] = [];
  for (const file of opts.files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ExitError(
        `${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        EXIT_INVALID,
      );
    }
    try {
      perFile.push({
        file,
        abs: path.resolve(file),
        sha256: createHash('sha256').update(text).digest('hex'),
        results: readVllmResults(file, text),
      });
    } catch (err) {
      if (err instanceof ImportFileError) throw new ExitError(`${err.message}\nNothing was imported.`, EXIT_INVALID);
      throw err;
    }
  }
  const total = perFile.reduce((n, f) => n + f.results.length, 0);
  if (opts.cell !== undefined && perFile.length > 1) {
    throw new ExitError(
      `--cell names one cell, but ${perFile.length} files were given; ` +
        'import them one at a time or let the file names name the cells',
      EXIT_INVALID,
    );
  }
  const planned: Planned[] = perFile.flatMap(({ file, results }) => {
    const base = opts.cell ?? cellIdFromFile(file);
    // Several results in one file: <base>.b1, <base>.b2, … in file order.
    return results.map((result) => ({ file, result, cellId: results.length > 1 ? `${base}.b${result.index}` : base }));
  });
  const seen = new Map<string, string>();
  for (const p of planned) {
    checkId(p.cellId, 'cell id');
    const other = seen.get(p.cellId);
    if (other !== undefined)
      throw new ExitError(
        `${p.file} and ${other} would both become cell "${p.cellId}"; ` +
          'rename one file or import them separately with --cell',
        EXIT_INVALID,
      );
    seen.set(p.cellId, p.file);
  }

  const store = await openResultsStore(opts.env.results);
  const createdDirs: string[] = [];
  try {
    const sweep = await store.getSweep(opts.into);
    const existingCells = sweep ? await store.listCells(opts.into) : [];
    const unchanged: string[] = [];
    const toRecord: Planned[] = [];
    for (const p of planned) {
      const existing = await store.getCell(opts.into, p.cellId, repeatOf(p.cellId));
      if (existing === null) toRecord.push(p);
      else if (
        existing.status === 'succeeded' &&
        existing.harness?.kind === 'import' &&
        isDeepStrictEqual(existing.metrics, recordedMetrics(p.result))
      )
        unchanged.push(p.cellId);
      else {
        throw new ExitError(
          `sweep "${opts.into}" already has cell "${p.cellId}" ` +
            `(${existing.status}${existing.harness ? `, from ${existing.harness.kind}` : ''}) with other numbers; ` +
            `import ${p.file} under another id with --cell, or into another sweep. Nothing was imported.`,
          EXIT_INVALID,
        );
      }
    }

    const now = (opts.now ?? (() => new Date()))().toISOString();
    const experimentName = sweep?.experimentName ?? opts.into;
    let position = existingCells.reduce((max, c) => Math.max(max, c.position), -1);
    const records: CellRecord[] = [];
    const files = new Map(perFile.map((f) => [f.file, f]));
    // 2. Artifacts first (a directory per cell), removed again if recording fails.
    for (const p of toRecord) {
      const dir = cellArtifactsDir(opts.env.resultsDir, opts.into, p.cellId);
      if (!existsSync(dir)) createdDirs.push(dir);
      const r = p.result;
      const source = files.get(p.file)!;
      await writeArtifact(
        dir,
        r.format === 'vllm-save-result-json' ? 'vllm-result.json' : 'vllm-result.txt',
        r.text.endsWith('\n') ? r.text : `${r.text}\n`,
      );
      if (r.requests) {
        await writeArtifact(dir, 'requests.json', requestArrays(r.requests));
      }
      if (r.recomputed) await writeArtifact(dir, 'recomputed.json', r.recomputed);
      await writeArtifact(dir, 'import.json', {
        file: source.abs,
        sha256: source.sha256,
        format: r.format,
        result: `${r.index} of ${r.count}`,
        lines: [r.firstLine, r.lastLine],
        labels,
        run: r.runInfo,
        importedAt: now,
      });
      const metrics = recordedMetrics(r);
      const modelFromRun = typeof r.runInfo.model_id === 'string' ? r.runInfo.model_id : null;
      // Judged like any record; the rules that need a device (clocks, power mode, energy) have nothing to read.
      const energy = { status: 'unavailable' as const, reason: 'imported from vllm bench serve output: no telemetry' };
      records.push(
        completeRecord(
          {
            sweepId: opts.into,
            experimentName,
            cellId: p.cellId,
            repeat: repeatOf(p.cellId),
            position: ++position,
            power: (labels.power ?? 'unknown').toLowerCase(),
            clocks: labels.clocks === 'locked' ? 'locked' : 'default',
            modelId: labels.model ?? modelFromRun ?? 'unknown',
            quantization: labels.quantization ?? 'unknown',
            modelSize: labels.size ?? null,
            scenario: labels.scenario ?? 'imported',
            status: 'succeeded',
            failure: null,
            metrics,
            harness: {
              kind: 'import',
              command: ['thorbench', 'import', ...(opts.argv ?? [source.abs, '--into', opts.into])],
            },
            device: null,
            engine: null,
            steps: [],
            artifactsDir: dir,
            simulated: false,
            startedAt: now,
            finishedAt: now,
            energy,
            thermal: null,
          },
          DEFAULT_VALIDITY,
          THORBENCH_VERSION,
        ),
      );
    }

    // 3. One transaction: the sweep (created when new) and every cell, or nothing.
    await store.transaction(async (tx) => {
      if (sweep === null) {
        await tx.upsertSweep({
          sweepId: opts.into,
          experimentName,
          experimentJson: {
            name: opts.into,
            description: 'Results imported with thorbench import (vllm bench serve output)',
            imported: true,
          },
          workflowId: null,
          simulated: false,
          plannedCells: records.length,
          startedAt: now,
        });
        await tx.finishSweep(opts.into, 'completed', now);
      }
      for (const record of records) {
        await tx.recordCell(record);
        // A shared (PostgreSQL) store keeps the artifacts too, so reports on other machines can read them.
        if (tx.backend === 'postgres') await storeArtifacts(tx, opts.into, record.cellId, record.artifactsDir!);
      }
    });

    for (const p of toRecord) {
      const r = p.result;
      const where = r.count > 1 ? ` (result ${r.index} of ${r.count}, lines ${r.firstLine}-${r.lastLine})` : '';
      const diffs = r.recomputed?.differences ?? [];
      const keys = diffs.map((d) => d.key).join(', ');
      const how = diffs.length === 0 ? 'identically' : `with ${diffs.length} differences: ${keys}`;
      const detail = r.recomputed ? `; ${r.requests!.length} per-request records, recomputed ${how}` : '';
      opts.out(`imported ${p.cellId} from ${p.file}${where}${detail}`);
    }
    for (const id of unchanged) opts.out(`unchanged ${id}: already imported with the same numbers`);
    const created = sweep === null ? ' (new sweep)' : '';
    const count = `${toRecord.length} of ${total} results imported${created}`;
    opts.out(`sweep ${opts.into}: ${count}; see \`thorbench report ${opts.into}\``);
    return { imported: toRecord.map((p) => p.cellId), unchanged };
  } catch (err) {
    for (const dir of createdDirs) await rm(dir, { recursive: true, force: true });
    throw err;
  } finally {
    await store.close();
  }
}

/** Keys of `computed` that `saved` lacks. */
function pickMissing(computed: object, saved: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(computed).filter(([k]) => !(k in saved)));
}

/**
 * The experiment file: one declarative description of a benchmark sweep.
 *
 * This zod schema is the single source of truth: the CLI validates files with it, the sweep workflow parses
 * its input with it (so `temporal workflow start --input-file` gets the same checks), and device activities
 * validate again at their boundary. Everything that ends up on a command line is constrained here.
 *
 * Deterministic: imported by workflow code. No Node.js APIs.
 */
import { z } from 'zod';

/** Identifiers that appear in cell ids, container names and file paths. */
const slug = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    'must be lower-case letters, digits, ".", "_" or "-" (1-63 chars, starting with a letter or digit)',
  );

/** Environment variable names passed to the engine container. */
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must match [A-Z_][A-Z0-9_]*');

/** A value that reaches a command line as one argv element: printable, no control characters, bounded. */
const argValue = z
  .string()
  .max(1024)
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');

/**
 * A relative path inside `engine.modelsDir`. No absolute paths, no `..`, no shell metacharacters: the path is
 * mounted into the container as /models/<path>.
 */
const modelPath = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9._\-/]+$/, 'may only contain letters, digits, ".", "_", "-" and "/"')
  .refine((p) => !p.startsWith('/'), 'must be relative to engine.modelsDir, not absolute')
  .refine(
    (p) => !p.split('/').some((part) => part === '..' || part === '.' || part === ''),
    'must stay inside engine.modelsDir (no "..", "." or empty segments)',
  );

/** Absolute host directory (models, caches). */
const hostDir = z
  .string()
  .max(512)
  .regex(/^\/[A-Za-z0-9._\-/]*$/, 'must be an absolute path of letters, digits, ".", "_", "-" and "/"')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

/** Container image reference, e.g. nvcr.io/nvidia/vllm:25.09-py3 */
const imageRef = z
  .string()
  .max(256)
  .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/, 'must be a docker image reference such as nvcr.io/nvidia/vllm:25.09-py3');

/** Quantization formats the guide benchmarks; `bf16` and `fp16` are the unquantized baselines. */
export const QUANTIZATIONS = [
  'bf16',
  'fp16',
  'fp8',
  'fp4',
  'gptq-int4',
  'gptq-int8',
  'awq',
  'w4a16',
  'w8a16',
  'gguf',
] as const;
export const Quantization = z.enum(QUANTIZATIONS);
export type Quantization = z.infer<typeof Quantization>;

/**
 * vLLM `serve` flags an experiment may add. Flags that thorbench itself sets (model, port, served name, memory
 * utilisation, max model len) are not here: set them through their own fields.
 */
export const ALLOWED_SERVE_FLAGS = [
  '--quantization',
  '--dtype',
  '--kv-cache-dtype',
  '--max-num-seqs',
  '--max-num-batched-tokens',
  '--enable-prefix-caching',
  '--no-enable-prefix-caching',
  '--enable-chunked-prefill',
  '--no-enable-chunked-prefill',
  '--enforce-eager',
  '--tokenizer',
  '--trust-remote-code',
  '--tensor-parallel-size',
  '--swap-space',
  '--block-size',
  '--seed',
  '--load-format',
  '--compilation-config',
  '--generation-config',
  '--reasoning-parser',
] as const;

const serveArg = argValue.refine(
  (a) => !a.startsWith('-') || ALLOWED_SERVE_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)),
  {
    message: `flag is not in the allow-list of vLLM serve flags (${ALLOWED_SERVE_FLAGS.join(', ')})`,
  },
);

export const PowerModeSpec = z
  .object({
    /** nvpmodel mode name as printed by `nvpmodel -q` (MAXN, 120W, 90W, 70W...). */
    mode: z
      .string()
      .regex(/^[A-Za-z0-9_]{1,32}$/, 'must be an nvpmodel mode name such as MAXN or 120W')
      .optional(),
    /** nvpmodel mode id. Resolved against the device's own table when only `mode` is given. */
    id: z.number().int().min(0).max(31).optional(),
  })
  .strict()
  .refine((p) => p.mode !== undefined || p.id !== undefined, 'give a power mode name ("mode") or an id ("id")');
export type PowerModeSpec = z.infer<typeof PowerModeSpec>;

export const Clocks = z.enum(['locked', 'default']);
export type Clocks = z.infer<typeof Clocks>;

export const ModelSpec = z
  .object({
    /** Readable id used in cell ids and reports, e.g. qwen3-8b-fp8. */
    id: slug,
    /** Path under engine.modelsDir, e.g. Qwen/Qwen3-8B-FP8. */
    path: modelPath,
    quantization: Quantization,
    /** Size on disk as the guide reports it, e.g. "8.9G" (informational, shown in reports). */
    size: z
      .string()
      .max(16)
      .regex(/^[0-9.]+ ?[KMGT]?B?$/i)
      .optional(),
    /** Name the engine serves the model under (vLLM --served-model-name). */
    servedName: z
      .string()
      .regex(/^[A-Za-z0-9._\-/]{1,128}$/)
      .default('model'),
    /** Extra environment for the engine container, e.g. VLLM_DISABLED_KERNELS. */
    env: z.record(envName, argValue).default({}),
    /** Extra `vllm serve` arguments; flags must be in ALLOWED_SERVE_FLAGS. */
    serveArgs: z.array(serveArg).max(64).default([]),
    /** Override engine.maxModelLen for this model. */
    maxModelLen: z.number().int().min(16).max(1_048_576).optional(),
    /** Override engine.gpuMemoryUtilization for this model. */
    gpuMemoryUtilization: z.number().gt(0).max(1).optional(),
  })
  .strict();
export type ModelSpec = z.infer<typeof ModelSpec>;

/**
 * An SLO key: a latency statistic as vLLM names it (`p99_ttft_ms`, `p90_tpot_ms`, `mean_itl_ms`, `median_e2el_ms`).
 * Group 1 is the statistic (`mean`, `median` or `p<P>`), group 2 the latency metric.
 */
export const SLO_KEY_RE = /^(mean|median|p\d+(?:\.\d+)?)_(ttft|tpot|itl|e2el)_ms$/;

/**
 * A capacity search instead of a fixed load: for each configuration the sweep finds the highest `vary` in
 * [min, max] at which every SLO holds (plan/search.ts), each probe a recorded cell.
 */
export const SearchSpec = z
  .object({
    vary: z.enum(['maxConcurrency', 'requestRate']),
    min: z.number().positive().max(1_000_000),
    max: z.number().positive().max(1_000_000),
    /** Upper bounds in milliseconds, keyed by vLLM metric names; a probe passes when it meets every one. */
    slo: z.record(z.string(), z.number().positive()).superRefine((slo, ctx) => {
      if (Object.keys(slo).length === 0)
        ctx.addIssue({ code: 'custom', message: 'give at least one SLO, e.g. { "p99_ttft_ms": 500 }' });
      for (const key of Object.keys(slo)) {
        if (SLO_KEY_RE.test(key)) continue;
        const message =
          'must be a latency metric as vLLM names it: mean_, median_ or p<P>_, then ttft, tpot, itl or e2el, ' +
          'then _ms (e.g. p99_ttft_ms)';
        ctx.addIssue({ code: 'custom', path: [key], message });
      }
    }),
    /** A probe with fewer completed requests does not pass: its percentiles would be noise. */
    minRequests: z.number().int().min(1).max(1_000_000).default(1),
    /** requestRate only: stop when the bracket's upper bound is within this factor of its lower one (0.05 = 5 %). */
    precision: z.number().gt(0).max(1).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.min > s.max) ctx.addIssue({ code: 'custom', path: ['max'], message: `must be at least min (${s.min})` });
    if (s.vary === 'maxConcurrency') {
      const whole = 'must be a whole number of concurrent requests';
      if (!Number.isInteger(s.min)) ctx.addIssue({ code: 'custom', path: ['min'], message: whole });
      if (!Number.isInteger(s.max)) ctx.addIssue({ code: 'custom', path: ['max'], message: whole });
      const message = 'applies to requestRate only (concurrency is searched to one request)';
      if (s.precision !== undefined) ctx.addIssue({ code: 'custom', path: ['precision'], message });
    }
  });
export type SearchSpec = z.infer<typeof SearchSpec>;

/** Goodput SLOs in milliseconds under these names, each optional and none negative (metrics/slo.ts reads both). */
function goodputSlos<K extends string>(...names: K[]) {
  const shape = Object.fromEntries(names.map((n) => [n, z.number().nonnegative().optional()]));
  return z.object(shape as { [P in K]: z.ZodOptional<z.ZodNumber> }).strict();
}

export const ScenarioSpec = z
  .object({
    name: slug,
    /** Random prompt length in tokens (vllm bench serve --random-input-len). */
    inputLen: z.number().int().min(1).max(1_048_576),
    /** Generated tokens per request; ignore_eos makes every request produce exactly this many. */
    outputLen: z.number().int().min(1).max(131_072),
    numPrompts: z.number().int().min(1).max(1_000_000),
    /** Max in-flight requests; omitted = unbounded (vLLM's default). */
    maxConcurrency: z.number().int().min(1).max(100_000).optional(),
    /** Requests per second; omitted = all at once (vLLM's `inf`). */
    requestRate: z.number().positive().max(1_000_000).optional(),
    /** Gamma shape of inter-arrival times when requestRate is set; 1 = Poisson. */
    burstiness: z.number().positive().max(1000).default(1),
    /** Seed of the prompt generator and arrival schedule. */
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0),
    /** SLOs for goodput, in ms (vllm bench serve --goodput); replaces harness.goodput for this scenario. */
    goodput: goodputSlos('ttftMs', 'tpotMs', 'e2elMs').optional(),
    /** Search for the highest load meeting SLOs instead of running one fixed load (plan/search.ts). */
    search: SearchSpec.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (!s.search) return;
    const fixed = s.search.vary === 'maxConcurrency' ? s.maxConcurrency : s.requestRate;
    if (fixed !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [s.search.vary],
        message: `the search varies ${s.search.vary}: remove the fixed value`,
      });
    if (s.numPrompts < s.search.minRequests)
      ctx.addIssue({
        code: 'custom',
        path: ['numPrompts'],
        message: `fewer than search.minRequests (${s.search.minRequests}): no probe could pass`,
      });
  });
export type ScenarioSpec = z.infer<typeof ScenarioSpec>;

export const WarmupSpec = z
  .object({
    inputLen: z.number().int().min(1).max(1_048_576),
    outputLen: z.number().int().min(1).max(131_072),
    numPrompts: z.number().int().min(0).max(100_000),
    maxConcurrency: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();
export type WarmupSpec = z.infer<typeof WarmupSpec>;

const durationMs = z
  .number()
  .int()
  .min(1_000)
  .max(7 * 24 * 3600 * 1000);

/**
 * The steps of a cell, in pipeline order, each with an optional timeout override in milliseconds. This object is
 * where step names are written: workflows, records and reports derive them from it. Defaults live in
 * workflows/step-options.ts.
 */
const stepTimeoutFields = {
  flushCaches: durationMs,
  ensurePowerMode: durationMs,
  /** How long a rebooted device may take to come back in the requested power mode. */
  rebootForPowerMode: durationMs,
  ensureClocks: durationMs,
  describeDevice: durationMs,
  startEngine: durationMs,
  waitForHealth: durationMs,
  warmup: durationMs,
  benchmark: durationMs,
  /** Reads the power mode and clocks back right after the benchmark, for the verdict (schema/verdict.ts). */
  readBackDevice: durationMs,
  teardown: durationMs,
};
export type StepName = keyof typeof stepTimeoutFields;
/** Every step of a cell, in pipeline order. */
export const STEP_NAMES = Object.keys(stepTimeoutFields) as StepName[];

export const StepTimeouts = z.object(stepTimeoutFields).partial().strict();
export type StepTimeouts = z.infer<typeof StepTimeouts>;

export const EngineSpec = z
  .object({
    kind: z.literal('vllm').default('vllm'),
    image: imageRef.default('nvcr.io/nvidia/vllm:25.09-py3'),
    port: z.number().int().min(1024).max(65535).default(8000),
    modelsDir: hostDir.default('/data/models'),
    gpuMemoryUtilization: z.number().gt(0).max(1).default(0.9),
    maxModelLen: z.number().int().min(16).max(1_048_576).optional(),
    /** Extra host directories mounted read-write, e.g. a vLLM compile cache: host path -> container path. */
    cacheDirs: z.record(hostDir, hostDir).default({}),
    /**
     * Start a fresh engine at every power-mode change. By default (false) one engine serves a model across the
     * power-mode changes that need no reboot, with a warm-up after each change (plan/plan.ts, "reboot epochs").
     * Absent means false, and stays absent in the engine spec a device worker receives, so device workers of older
     * versions (whose engine schema is strict) still accept the experiments that do not use it.
     */
    restartOnPowerModeChange: z.boolean().optional(),
  })
  .strict();
export type EngineSpec = z.infer<typeof EngineSpec>;

/**
 * What runs the load:
 * - vllm (default): vLLM's own `vllm bench serve` inside the engine container (`docker exec`), the tool every figure
 *   of the guide comes from; thorbench reads every metric from the JSON it saves (activities/harness.ts).
 * - builtin: thorbench's own load generator with vLLM's metric definitions (activities/harness/), for engines whose
 *   image has no `vllm bench`.
 */
export const HARNESS_KINDS = ['vllm', 'builtin'] as const;
export type HarnessKind = (typeof HARNESS_KINDS)[number];

export const HarnessSpec = z
  .object({
    kind: z.enum(HARNESS_KINDS).default('vllm'),
    /**
     * Percentiles reported for TTFT, TPOT, ITL and E2EL (vllm bench serve --metric-percentiles), each in [0, 100]; any
     * value such as 99.9 gives keys spelled as vLLM spells them (`p99.9_ttft_ms`). thorbench measures p99 as well
     * when the list leaves it out (metrics/slo.ts selectedPercentiles): reports and the results store show p99.
     */
    percentiles: z
      .array(z.number().min(0).max(100))
      .min(1)
      .max(32)
      .refine((ps) => new Set(ps).size === ps.length, 'must not repeat a percentile')
      .default([50, 90, 95, 99]),
    /**
     * Goodput SLOs in milliseconds, as vLLM's `--goodput ttft:500 tpot:50 e2el:3000`: request_goodput counts the
     * successful requests meeting every SLO given, per second. A scenario's own `goodput` replaces these.
     */
    goodput: goodputSlos('ttft', 'tpot', 'e2el')
      .refine((g) => g.ttft !== undefined || g.tpot !== undefined || g.e2el !== undefined, 'give ttft, tpot or e2el')
      .optional(),
  })
  .strict();
export type HarnessSpec = z.infer<typeof HarnessSpec>;

/**
 * When a recorded cell counts as valid (schema/verdict.ts applies the rules; a report marks invalid cells and says
 * why). A cell that broke a rule keeps its numbers: it is flagged, not dropped.
 */
export const ValiditySpec = z
  .object({
    /** Fewer completed requests than this make the cell invalid: a percentile of a handful of requests is noise. */
    minCompleted: z.number().int().min(0).max(1_000_000).default(1),
    /** A benchmark window shorter than this (seconds) is invalid: too short for steady state and power sampling. */
    minDurationS: z
      .number()
      .min(0)
      .max(7 * 24 * 3600)
      .default(0),
    /** Largest share of failed requests (failed / (completed + failed)) a valid cell may have; 0 = none may fail. */
    maxFailedRatio: z.number().min(0).max(1).default(0),
    /** A cell whose engine was started for it and not warmed up (no `warmup` section) is invalid. */
    requireWarmup: z.boolean().default(true),
    /**
     * Any tegrastats temperature at or above this (°C) during the benchmark makes the cell invalid: near the junction
     * limit the SoC throttles and the numbers stop describing the configuration. Throttling itself is also caught
     * from the GPU clock when the clocks are locked (schema/verdict.ts).
     */
    maxTemperatureC: z.number().min(0).max(200).default(99),
    /** On a real (non-simulated) device, a cell without an energy figure is invalid. */
    requireEnergy: z.boolean().default(true),
  })
  .strict();
export type ValiditySpec = z.infer<typeof ValiditySpec>;
/** The rules an experiment without a `validity` section is judged by. */
export const DEFAULT_VALIDITY: ValiditySpec = ValiditySpec.parse({});

/** How long a device may leave the sweep's work untouched before its groups move elsewhere: 10 minutes. */
export const DEFAULT_FAILOVER_AFTER_MS = 10 * 60_000;

export const CellSelector = z
  .object({
    power: z.string().optional(),
    clocks: Clocks.optional(),
    model: z.string().optional(),
    scenario: z.string().optional(),
  })
  .strict();
export type CellSelector = z.infer<typeof CellSelector>;

export const Experiment = z
  .object({
    $schema: z.string().optional(),
    name: slug,
    description: z.string().max(4096).optional(),
    device: z
      .object({
        /** "any": whichever device worker answers first; or the device ids to shard cells across. */
        select: z.union([z.literal('any'), z.array(slug).min(1).max(64)]).default('any'),
        /**
         * A device whose worker has not picked up or heartbeated the sweep's work for this long (ms) is lost: its
         * unfinished engine groups move to the remaining devices (docs/architecture.md, "Failover").
         */
        failoverAfterMs: z
          .number()
          .int()
          .min(1_000)
          .max(7 * 24 * 3_600_000)
          .default(DEFAULT_FAILOVER_AFTER_MS),
      })
      .strict()
      .default({ select: 'any', failoverAfterMs: DEFAULT_FAILOVER_AFTER_MS }),
    engine: EngineSpec.default(EngineSpec.parse({})),
    harness: HarnessSpec.default({ kind: 'vllm', percentiles: [50, 90, 95, 99] }),
    matrix: z
      .object({
        power: z.array(PowerModeSpec).min(1).max(8),
        clocks: z.array(Clocks).min(1).max(2),
        model: z.array(ModelSpec).min(1).max(64),
        scenario: z.array(ScenarioSpec).min(1).max(64),
      })
      .strict(),
    warmup: WarmupSpec.optional(),
    steps: z
      .object({
        /** sync + drop_caches before each engine start (the guide's advice: memory is not returned otherwise). */
        flushCaches: z.boolean().default(true),
        /** Restore the power mode and clocks found before the sweep when it ends. */
        restoreDevice: z.boolean().default(false),
        timeouts: StepTimeouts.default({}),
        /** A step whose worker stops heartbeating for this long is retried on a live worker (ms). */
        heartbeatTimeout: z.number().int().min(2_000).max(3_600_000).default(30_000),
      })
      .strict()
      .default({ flushCaches: true, restoreDevice: false, timeouts: {}, heartbeatTimeout: 30_000 }),
    repeats: z.number().int().min(1).max(100).default(1),
    validity: ValiditySpec.default(DEFAULT_VALIDITY),
    exclude: z.array(CellSelector).max(1000).default([]),
  })
  .strict()
  .superRefine((exp, ctx) => {
    const dup = (items: string[], path: (string | number)[], what: string): void => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        if (seen.has(item))
          ctx.addIssue({
            code: 'custom',
            path: [...path, i],
            message: `duplicate ${what} "${item}": cell ids would collide`,
          });
        seen.add(item);
      });
    };
    dup(
      exp.matrix.model.map((m) => m.id),
      ['matrix', 'model'],
      'model id',
    );
    dup(
      exp.matrix.scenario.map((s) => s.name),
      ['matrix', 'scenario'],
      'scenario name',
    );
    dup(exp.matrix.clocks, ['matrix', 'clocks'], 'clocks setting');
    dup(exp.matrix.power.map(powerKey), ['matrix', 'power'], 'power mode');
    // An SLO on a percentile the harness does not compute could never be judged.
    const measured = new Set([...exp.harness.percentiles, 99].map((p) => String(p)));
    exp.matrix.scenario.forEach((s, j) => {
      for (const key of Object.keys(s.search?.slo ?? {})) {
        const stat = SLO_KEY_RE.exec(key)?.[1] ?? '';
        if (!stat.startsWith('p')) continue;
        const p = Number(stat.slice(1));
        const path = ['matrix', 'scenario', j, 'search', 'slo', key];
        const now = exp.harness.percentiles.join(', ');
        if (String(p) !== stat.slice(1))
          ctx.addIssue({ code: 'custom', path, message: `spell the percentile as vLLM does: p${p}_…` });
        else if (!measured.has(String(p)))
          ctx.addIssue({
            code: 'custom',
            path,
            message: `percentile ${p} is not measured: add ${p} to harness.percentiles (now ${now})`,
          });
      }
    });
    exp.matrix.model.forEach((m, i) => {
      const len = m.maxModelLen ?? exp.engine.maxModelLen;
      if (len === undefined) return;
      exp.matrix.scenario.forEach((s, j) => {
        if (s.inputLen + s.outputLen > len)
          ctx.addIssue({
            code: 'custom',
            path: ['matrix', 'scenario', j, 'inputLen'],
            message: `inputLen + outputLen (${s.inputLen + s.outputLen}) exceeds maxModelLen ${len} of model "${m.id}" (matrix.model.${i})`,
          });
      });
    });
  });
export type Experiment = z.infer<typeof Experiment>;
/** What a user writes (defaults not yet applied). */
export type ExperimentInput = z.input<typeof Experiment>;

/** Readable, stable key of a power mode in cell ids: the lower-cased name, or `mode<id>`. */
export function powerKey(p: PowerModeSpec): string {
  return p.mode !== undefined ? p.mode.toLowerCase() : `mode${p.id}`;
}

/** One problem in an experiment file, with the JSON path of the offending field. */
export interface ExperimentProblem {
  path: string;
  message: string;
}

/** Formats zod's issue path the way users read JSON paths: matrix.model[2].path */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

export type ParseResult = { ok: true; experiment: Experiment } | { ok: false; problems: ExperimentProblem[] };

/** Validates an already-decoded experiment object. Never throws. */
export function parseExperiment(input: unknown): ParseResult {
  const result = Experiment.safeParse(input);
  if (result.success) return { ok: true, experiment: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
  };
}

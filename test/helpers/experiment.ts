/**
 * Experiments for tests, built from small parts: a name plus whichever of power modes, clocks, models and
 * scenarios the test is about; everything else is the schema's default unless given. `simExperiment` adds what a
 * run on the simulated Thor needs to stay quick (a free engine port, a short context, a tiny warmup).
 */
import { Experiment, type ExperimentInput } from '../../schema/experiment.js';

type Matrix = ExperimentInput['matrix'];
type ModelInput = Matrix['model'][number];
type ScenarioInput = Matrix['scenario'][number];

/** Models the simulated Thor serves (paths as the guide downloads them). */
export const TEST_MODELS = {
  fp8: { id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8', quantization: 'fp8', servedName: 'qwen3' },
  awq: { id: 'qwen3-8b-awq', path: 'Qwen/Qwen3-8B-AWQ', quantization: 'awq', servedName: 'qwen3' },
  fp4: { id: 'qwen3-8b-fp4', path: 'nv-community/Qwen3-8B-FP4', quantization: 'fp4', servedName: 'qwen3' },
} as const satisfies Record<string, ModelInput>;

/** A model with only what the schema requires: everything else (its served name, env, arguments) defaulted. */
export const BARE_MODEL = { id: 'm', path: 'a/b', quantization: 'fp8' } as const satisfies ModelInput;

/** A scenario small enough for a test: a few short requests. */
export const TINY_SCENARIO = {
  name: 'tiny',
  inputLen: 32,
  outputLen: 4,
  numPrompts: 2,
  maxConcurrency: 1,
} as const satisfies ScenarioInput;

export interface ExperimentParts extends Partial<Omit<ExperimentInput, 'name' | 'matrix'>> {
  /** Default: MAXN. */
  power?: readonly Matrix['power'][number][];
  /** Default: default and locked. */
  clocks?: readonly Matrix['clocks'][number][];
  /** Default: Qwen3-8B-FP8. */
  models?: readonly ModelInput[];
  /** Default: the tiny scenario. */
  scenarios?: readonly ScenarioInput[];
}

/** An experiment as a user would write it (unparsed). */
export function experimentInput(name: string, parts: ExperimentParts = {}): ExperimentInput {
  const { power, clocks, models, scenarios, ...rest } = parts;
  return {
    name,
    matrix: {
      power: [...(power ?? [{ mode: 'MAXN' }])],
      clocks: [...(clocks ?? ['default', 'locked'])],
      model: [...(models ?? [TEST_MODELS.fp8])],
      scenario: [...(scenarios ?? [TINY_SCENARIO])],
    },
    ...rest,
  };
}

/** The same, parsed by the schema (defaults filled in). */
export function experiment(name: string, parts: ExperimentParts = {}): Experiment {
  return Experiment.parse(experimentInput(name, parts));
}

/** An experiment for the simulated Thor: the engine on `port` with a 4096-token context, a tiny warmup. */
export function simExperiment(name: string, port: number, parts: ExperimentParts = {}): ExperimentInput {
  return experimentInput(name, {
    warmup: { inputLen: 32, outputLen: 4, numPrompts: 2 },
    ...parts,
    engine: { port, maxModelLen: 4096, ...parts.engine },
  });
}

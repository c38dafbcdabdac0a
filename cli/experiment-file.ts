/**
 * Reads an experiment file (JSON, or YAML by extension) and validates it. Problems are reported one per line with
 * the JSON path of the field, and the command exits 2 before anything starts.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { type Experiment, type ExperimentProblem, parseExperiment } from '../schema/experiment.js';
import { EXIT_INVALID, ExitError } from './errors.js';

export interface LoadedExperiment {
  file: string;
  /** The decoded document as written (what the sweep workflow receives). */
  raw: unknown;
  experiment: Experiment;
}

export class InvalidExperimentError extends ExitError {
  constructor(
    readonly file: string,
    readonly problems: ExperimentProblem[],
  ) {
    super(
      `${file}: invalid experiment (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
      EXIT_INVALID,
    );
  }
}

export function decodeExperimentText(file: string, text: string): unknown {
  const yaml = /\.ya?ml$/i.test(file);
  try {
    return yaml ? parseYaml(text, { maxAliasCount: 100 }) : JSON.parse(text);
  } catch (err) {
    throw new InvalidExperimentError(file, [
      { path: '(file)', message: `not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message}` },
    ]);
  }
}

export async function loadExperiment(file: string): Promise<LoadedExperiment> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ExitError(
      `cannot read experiment file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      EXIT_INVALID,
    );
  }
  const raw = decodeExperimentText(file, text);
  const parsed = parseExperiment(raw);
  if (!parsed.ok) throw new InvalidExperimentError(file, parsed.problems);
  return { file, raw, experiment: parsed.experiment };
}

/**
 * The sweep id (= workflow id) of an experiment: its name plus a hash of its validated content, so starting the
 * same experiment twice finds the first sweep instead of running it again, and editing the file makes a new one.
 */
export function sweepIdFor(exp: Experiment): string {
  return `${exp.name}-${createHash('sha256').update(JSON.stringify(exp)).digest('hex').slice(0, 8)}`;
}

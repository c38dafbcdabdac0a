import { loadExperiment } from '../experiment-file.js';
import { planSweep } from '../../plan/plan.js';

/** `thorbench validate <file>`: exit 0 and a one-line summary when valid; exit 2 with every problem otherwise. */
export async function validate(opts: { file: string; out: (line: string) => void }): Promise<void> {
  const { experiment } = await loadExperiment(opts.file);
  const plan = planSweep(experiment);
  opts.out(
    `${opts.file}: valid experiment "${experiment.name}" (${plan.counts.cells} cells${
      plan.counts.searches > 0 ? `, ${plan.counts.searches} capacity searches` : ''
    })`,
  );
}

/**
 * `docker ps` of the simulated Thor, as thorbench runs it (activities/engine.ts): `-a`, `--filter label=K[=V]`
 * (every label filter must hold, as in docker) and a `--format` template. Other options, filters and the default
 * table are not simulated and say so.
 */
import { listContainerStates } from '../containers.js';
import { TemplateError, psFields, renderTemplate } from '../docker-format.js';
import type { SimLayout } from '../layout.js';
import type { SimContainer } from '../sim-state.js';
import type { CommandIO } from './cli.js';
import { splitArgs, usageError } from './docker-common.js';

/** True when the container has every label the filters name (with the value, when one is given). */
function matchesLabels(c: SimContainer, labelFilters: string[]): boolean {
  return labelFilters.every((v) => {
    const eq = v.indexOf('=');
    const k = eq < 0 ? v : v.slice(0, eq);
    return k in c.labels && (eq < 0 || c.labels[k] === v.slice(eq + 1));
  });
}

export function dockerPs(args: string[], layout: SimLayout, io: CommandIO): number {
  const labelFilters: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const filter =
      a === '--filter' || a === '-f' ? args[++i] : a.startsWith('--filter=') ? a.slice('--filter='.length) : null;
    if (filter === null) {
      rest.push(a);
      continue;
    }
    if (filter === undefined) return usageError(io, 'ps', `flag needs an argument: ${a}`);
    if (!filter.startsWith('label=')) {
      io.err(
        `Error response from daemon: invalid filter '${filter}' (thorbench simulator supports label filters only)\n`,
      );
      return 1;
    }
    labelFilters.push(filter.slice('label='.length));
  }
  const parsed = splitArgs(rest, ['--format'], ['-a', '--all']);
  if (typeof parsed === 'string') return usageError(io, 'ps', parsed);
  if (parsed.names.length > 0) return usageError(io, 'ps', `"docker ps" accepts no arguments.`);
  const format = parsed.flags.get('--format');
  if (format === undefined || format.startsWith('table'))
    return usageError(io, 'ps', 'thorbench simulator: docker ps needs --format TEMPLATE (tables are not simulated)');
  const all = parsed.flags.has('-a') || parsed.flags.has('--all');
  // Newest first, like docker.
  const selected = listContainerStates(layout)
    .filter((c) => (all || c.status === 'running') && matchesLabels(c, labelFilters))
    .reverse();
  try {
    for (const c of selected) io.out(`${renderTemplate(format, psFields(c))}\n`);
  } catch (err) {
    if (err instanceof TemplateError) return usageError(io, 'ps', err.message);
    throw err;
  }
  return 0;
}

/**
 * `docker ps` of the simulated Thor: `-a`, `-q`, `--no-trunc`, `--filter label=K[=V]|name=|id=|status=` (label
 * filters all must hold, other keys match any of their values, as in docker), `--format` templates and the
 * default table.
 */
import { listContainerStates } from '../containers.js';
import { TemplateError, alignColumns, psFields, renderTemplate } from '../docker-format.js';
import type { SimLayout } from '../layout.js';
import type { SimContainer } from '../sim-state.js';
import type { CommandIO } from './cli.js';
import { splitArgs, usageError } from './docker-common.js';

function matchesFilters(c: SimContainer, filters: string[]): boolean | string {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    if (eq <= 0) return `Error response from daemon: invalid filter '${f}'`;
    const key = f.slice(0, eq);
    byKey.set(key, [...(byKey.get(key) ?? []), f.slice(eq + 1)]);
  }
  for (const [key, values] of byKey) {
    if (key === 'label') {
      // Every label filter must hold.
      for (const v of values) {
        const eq = v.indexOf('=');
        const k = eq < 0 ? v : v.slice(0, eq);
        if (!(k in c.labels)) return false;
        if (eq >= 0 && c.labels[k] !== v.slice(eq + 1)) return false;
      }
    } else if (key === 'name') {
      if (!values.some((v) => new RegExp(v).test(c.name))) return false;
    } else if (key === 'id') {
      if (!values.some((v) => c.id.startsWith(v))) return false;
    } else if (key === 'status') {
      if (!values.includes(c.status)) return false;
    } else return `Error response from daemon: invalid filter '${key}' (thorbench simulator supports label, name, id, status)`;
  }
  return true;
}

export function dockerPs(args: string[], layout: SimLayout, io: CommandIO): number {
  const filters: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--filter' || a === '-f') {
      const v = args[++i];
      if (v === undefined) return usageError(io, 'ps', `flag needs an argument: ${a}`);
      filters.push(v);
    } else if (a.startsWith('--filter=')) filters.push(a.slice('--filter='.length));
    else rest.push(a);
  }
  const parsed = splitArgs(rest, ['--format', '-n', '--last'], ['-a', '--all', '-q', '--quiet', '--no-trunc', '-s', '--size', '-l', '--latest']);
  if (typeof parsed === 'string') return usageError(io, 'ps', parsed);
  if (parsed.names.length > 0) return usageError(io, 'ps', `"docker ps" accepts no arguments.`);
  const all = parsed.flags.has('-a') || parsed.flags.has('--all');
  const now = new Date();
  const selected: SimContainer[] = [];
  for (const c of listContainerStates(layout)) {
    if (!all && c.status !== 'running') continue;
    const m = matchesFilters(c, filters);
    if (typeof m === 'string') {
      io.err(`${m}\n`);
      return 1;
    }
    if (m) selected.push(c);
  }
  selected.reverse(); // newest first, like docker
  const noTrunc = parsed.flags.has('--no-trunc');
  if (parsed.flags.has('-q') || parsed.flags.has('--quiet')) {
    for (const c of selected) io.out(`${noTrunc ? c.id : c.id.slice(0, 12)}\n`);
    return 0;
  }
  let format = parsed.flags.get('--format');
  try {
    if (format === undefined || format === 'table') format = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';
    if (format.startsWith('table')) {
      const body = format.slice('table'.length).trim();
      const header = body.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_, f: string) => PS_HEADERS[f] ?? f.replace(/^\./, '').toUpperCase());
      const rows = [header, ...selected.map((c) => renderTemplate(body, psFields(c, now), c.labels))].map((r) => r.replace(/\\t/g, '\t').split('\t'));
      io.out(`${alignColumns(rows)}\n`);
    } else {
      for (const c of selected) io.out(`${renderTemplate(format, psFields(c, now), c.labels)}\n`);
    }
  } catch (err) {
    if (err instanceof TemplateError) return usageError(io, 'ps', err.message);
    throw err;
  }
  return 0;
}

const PS_HEADERS: Record<string, string> = {
  '.ID': 'CONTAINER ID',
  '.Image': 'IMAGE',
  '.Command': 'COMMAND',
  '.RunningFor': 'CREATED',
  '.CreatedAt': 'CREATED AT',
  '.Status': 'STATUS',
  '.Ports': 'PORTS',
  '.Names': 'NAMES',
  '.State': 'STATE',
  '.Labels': 'LABELS',
};

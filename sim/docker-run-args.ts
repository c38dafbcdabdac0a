/**
 * Parses `docker run` arguments the way the docker CLI does (pflag rules: `--flag value`, `--flag=value`,
 * `-f value`, `-fvalue`, bundled short booleans like `-dit`; options stop at the image), for the flags thorbench
 * and the guide use. Unknown flags are rejected with docker's own wording rather than silently ignored.
 * Pure: environment lookups for `-e NAME` (no value) go through the `hostEnv` argument.
 */
import type { SimMount } from './sim-state.js';

export interface DockerRunSpec {
  detach: boolean;
  autoRemove: boolean;
  name?: string;
  labels: Record<string, string>;
  /** K=V in the order given. */
  env: string[];
  mounts: SimMount[];
  restart: string;
  runtime: string;
  network: string;
  ipc: string;
  image: string;
  /** Command after the image. */
  command: string[];
}

/** Flags taking a value: long name → short alias. */
const VALUE_FLAGS: Record<string, string | undefined> = {
  name: undefined,
  label: 'l',
  env: 'e',
  'env-file': undefined,
  volume: 'v',
  restart: undefined,
  runtime: undefined,
  ipc: undefined,
  net: undefined,
  network: undefined,
  'shm-size': undefined,
  ulimit: undefined,
  gpus: undefined,
  publish: 'p',
  entrypoint: undefined,
  workdir: 'w',
  user: 'u',
  device: undefined,
  memory: 'm',
  cpus: undefined,
  hostname: 'h',
  'add-host': undefined,
  pull: undefined,
  platform: undefined,
  'security-opt': undefined,
  'cap-add': undefined,
  'group-add': undefined,
  'stop-signal': undefined,
  'stop-timeout': undefined,
  'log-driver': undefined,
  'log-opt': undefined,
  mount: undefined,
};
const BOOL_FLAGS: Record<string, string | undefined> = {
  detach: 'd',
  rm: undefined,
  interactive: 'i',
  tty: 't',
  init: undefined,
  privileged: undefined,
  'read-only': undefined,
};

const SHORT_VALUE = new Map(
  Object.entries(VALUE_FLAGS)
    .filter(([, s]) => s)
    .map(([l, s]) => [s!, l]),
);
const SHORT_BOOL = new Map(
  Object.entries(BOOL_FLAGS)
    .filter(([, s]) => s)
    .map(([l, s]) => [s!, l]),
);

export class DockerUsageError extends Error {
  override readonly name = 'DockerUsageError';
}

export interface ParseRunOptions {
  hostEnv: Record<string, string | undefined>;
  /** Reads an --env-file. */
  readFile: (file: string) => string;
}

function parseMount(text: string): SimMount {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1])
    throw new DockerUsageError(`invalid volume specification: '${text}'`);
  const mode = parts[2] ?? 'rw';
  if (mode !== 'rw' && mode !== 'ro') throw new DockerUsageError(`invalid mode: ${mode}`);
  return { host: parts[0], container: parts[1], readOnly: mode === 'ro' };
}

export function parseDockerRun(args: string[], opts: ParseRunOptions): DockerRunSpec {
  const spec: DockerRunSpec = {
    detach: false,
    autoRemove: false,
    labels: {},
    env: [],
    mounts: [],
    restart: 'no',
    runtime: 'runc',
    network: 'bridge',
    ipc: 'private',
    image: '',
    command: [],
  };
  const addEnv = (kv: string): void => {
    const eq = kv.indexOf('=');
    if (eq === 0) throw new DockerUsageError(`invalid environment variable: ${kv}`);
    if (eq > 0) spec.env.push(kv);
    else {
      const v = opts.hostEnv[kv];
      if (v !== undefined) spec.env.push(`${kv}=${v}`);
    }
  };
  const apply = (flag: string, value: string): void => {
    switch (flag) {
      case 'name':
        spec.name = value;
        break;
      case 'label': {
        const eq = value.indexOf('=');
        spec.labels[eq < 0 ? value : value.slice(0, eq)] = eq < 0 ? '' : value.slice(eq + 1);
        break;
      }
      case 'env':
        addEnv(value);
        break;
      case 'env-file':
        for (const line of opts.readFile(value).split('\n')) {
          const t = line.trim();
          if (t && !t.startsWith('#')) addEnv(t);
        }
        break;
      case 'volume':
        spec.mounts.push(parseMount(value));
        break;
      case 'restart':
        spec.restart = value;
        break;
      case 'runtime':
        spec.runtime = value;
        break;
      case 'net':
      case 'network':
        spec.network = value;
        break;
      case 'ipc':
        spec.ipc = value;
        break;
      default:
        // Accepted and recorded nowhere: resource limits, users, ports... have no effect on the simulated engine.
        break;
    }
  };
  const setBool = (flag: string): void => {
    if (flag === 'detach') spec.detach = true;
    if (flag === 'rm') spec.autoRemove = true;
  };

  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const flag = a.slice(2, eq < 0 ? undefined : eq);
      if (flag in VALUE_FLAGS) {
        const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
        if (value === undefined) throw new DockerUsageError(`flag needs an argument: --${flag}`);
        apply(flag, value);
      } else if (flag in BOOL_FLAGS) {
        if (eq < 0 || a.slice(eq + 1) === 'true') setBool(flag);
      } else throw new DockerUsageError(`unknown flag: --${flag}`);
      continue;
    }
    // Short flags, possibly bundled: -dit, -e K=V, -eK=V
    for (let j = 1; j < a.length; j++) {
      const ch = a[j]!;
      const long = SHORT_VALUE.get(ch);
      if (long) {
        const rest = a.slice(j + 1);
        const value = rest !== '' ? rest : args[++i];
        if (value === undefined) throw new DockerUsageError(`flag needs an argument: '${ch}' in -${ch}`);
        apply(long, value);
        break;
      }
      const b = SHORT_BOOL.get(ch);
      if (!b) throw new DockerUsageError(`unknown shorthand flag: '${ch}' in ${a}`);
      setBool(b);
    }
  }
  const image = args[i];
  if (image === undefined) throw new DockerUsageError('"docker run" requires at least 1 argument.');
  spec.image = image;
  spec.command = args.slice(i + 1);
  return spec;
}

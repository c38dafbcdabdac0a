/**
 * What the fake docker prints: `docker inspect` objects shaped like the real ones, the fields of `docker ps`, and
 * the subset of Go templates thorbench's `--format` arguments use: `{{.Field.Path}}` and `{{json .Field}}`.
 * Pure functions.
 */
import { createHash } from 'node:crypto';
import type { SimContainer } from './sim-state.js';

/** Label every simulated container carries (as if the image set it), so nothing mistakes it for a real run. */
export const SIMULATED_LABEL = 'thorbench.simulated';

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function imageId(image: string): string {
  return `sha256:${createHash('sha256').update(image).digest('hex')}`;
}

/** `nvcr.io/nvidia/vllm:25.09-py3` → `nvcr.io/nvidia/vllm` (a colon before the last "/" is a registry port). */
function repository(image: string): string {
  const name = image.includes('@') ? image.slice(0, image.indexOf('@')) : image;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/**
 * The object `docker image inspect` prints for an image the simulated Thor holds: shaped like the real one (arm64,
 * a registry digest that differs from the config id, as in docker), with digests derived from the reference so
 * they are stable across runs and machines.
 */
export function imageInspectObject(image: string): Record<string, unknown> {
  const pinned = /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1];
  const manifest = pinned ?? `sha256:${createHash('sha256').update(`manifest:${image}`).digest('hex')}`;
  return {
    Id: imageId(image),
    RepoTags: pinned ? [] : [image],
    RepoDigests: [`${repository(image)}@${manifest}`],
    Parent: '',
    Comment: 'buildkit.dockerfile.v0',
    Created: '2025-09-19T07:21:45.123456789Z',
    DockerVersion: '',
    Author: '',
    Config: {
      Env: [
        'PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      ],
      Entrypoint: ['/opt/nvidia/nvidia_entrypoint.sh'],
      WorkingDir: '/workspace',
      Labels: { [SIMULATED_LABEL]: 'true' },
    },
    Architecture: 'arm64',
    Os: 'linux',
    Size: 18_734_592_017,
    RootFS: { Type: 'layers', Layers: [`sha256:${createHash('sha256').update(`layer:${image}`).digest('hex')}`] },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

/** The object `docker inspect` prints for a container (one element of its JSON array). */
export function inspectObject(c: SimContainer): Record<string, unknown> {
  const running = c.status === 'running';
  return {
    Id: c.id,
    Created: c.createdAt,
    Path: c.argv[0] ?? '',
    Args: c.argv.slice(1),
    State: {
      Status: c.status,
      Running: running,
      Paused: false,
      Restarting: false,
      OOMKilled: c.oomKilled,
      Dead: false,
      Pid: running ? c.pid : 0,
      ExitCode: running ? 0 : c.exitCode,
      Error: c.error,
      StartedAt: c.startedAt,
      FinishedAt: c.finishedAt ?? ZERO_TIME,
    },
    Image: imageId(c.image),
    LogPath: c.logFile,
    Name: `/${c.name}`,
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    HostConfig: {
      Binds: c.mounts.map((m) => `${m.host}:${m.container}${m.readOnly ? ':ro' : ''}`),
      NetworkMode: c.networkMode,
      IpcMode: c.ipcMode,
      Runtime: c.runtime,
      RestartPolicy: { Name: c.restartPolicy, MaximumRetryCount: 0 },
      AutoRemove: c.autoRemove,
    },
    Mounts: c.mounts.map((m) => ({
      Type: 'bind',
      Source: m.host,
      Destination: m.container,
      Mode: m.readOnly ? 'ro' : '',
      RW: !m.readOnly,
      Propagation: 'rprivate',
    })),
    Config: {
      Hostname: c.networkMode === 'host' ? 'thor-sim' : c.id.slice(0, 12),
      Env: c.env,
      Cmd: c.argv,
      Image: c.image,
      Entrypoint: null,
      WorkingDir: '',
      Labels: { ...c.labels },
    },
  };
}

/** Fields `docker ps --format` knows. */
export function psFields(c: SimContainer): Record<string, unknown> {
  return {
    ID: c.id.slice(0, 12),
    Names: c.name,
    Image: c.image,
    State: c.status,
    Labels: Object.entries(c.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  };
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

function lookup(root: unknown, path: string): unknown {
  if (path === '.') return root;
  let v: unknown = root;
  for (const key of path.slice(1).split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    return `map[${Object.entries(v as Record<string, unknown>)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, x]) => `${k}:${goString(x)}`)
      .join(' ')}]`;
  }
  return String(v);
}

function evalAction(action: string, data: Record<string, unknown>): string {
  const tokens = action.split(/\s+/).filter(Boolean);
  const [head, ...rest] = tokens;
  if (head === undefined) throw new TemplateError('template: empty action {{}}');
  if (head === 'json' && rest.length === 1 && rest[0]!.startsWith('.'))
    return JSON.stringify(lookup(data, rest[0]!) ?? null);
  if (head.startsWith('.') && rest.length === 0) return goString(lookup(data, head));
  throw new TemplateError(
    `template: {{${action}}} is not supported by the thorbench simulator (use {{.Field}} or {{json .Field}})`,
  );
}

/** Renders a Go-template-like format for one object. `\t` and `\n` written literally are turned into tab/newline. */
export function renderTemplate(format: string, data: Record<string, unknown>): string {
  const text = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  let out = '';
  let pos = 0;
  for (;;) {
    const open = text.indexOf('{{', pos);
    if (open < 0) return out + text.slice(pos);
    const close = text.indexOf('}}', open);
    if (close < 0) throw new TemplateError(`template: unclosed action in "${format}"`);
    out +=
      text.slice(pos, open) +
      evalAction(
        text
          .slice(open + 2, close)
          .trim()
          .replace(/^-\s*|\s*-$/g, ''),
        data,
      );
    pos = close + 2;
  }
}

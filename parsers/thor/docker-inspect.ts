/**
 * Parser for `docker inspect <name>` (a JSON array with one object per container): the engine container's state, which
 * decides between "still loading", "crashed" and "OOM-killed" and is recorded with a failed cell.
 *
 * Deterministic: no Node.js APIs.
 */
import { z } from 'zod';
import { firstDockerObject } from './docker-json.js';

export interface ContainerState {
  /** Container name without docker's leading slash. */
  name: string;
  id: string;
  /** created | running | paused | restarting | removing | exited | dead */
  status: string;
  running: boolean;
  /** Host pid of the main process; null when not running (docker reports 0). */
  pid: number | null;
  exitCode: number;
  /** Sticky and container-wide: set when any process in the cgroup was OOM-killed (moby #43564). */
  oomKilled: boolean;
  /** Docker's own error (e.g. a runtime failure at start); null when empty. */
  error: string | null;
  /** ISO-8601; null when docker reports its zero time (never started / never finished). */
  startedAt: string | null;
  finishedAt: string | null;
  labels: Record<string, string>;
  /** The image reference the container was created from (Config.Image), e.g. nvcr.io/nvidia/vllm:25.09-py3. */
  image: string;
}

const Inspect = z.object({
  Id: z.string().default(''),
  Name: z.string().default(''),
  Image: z.string().default(''),
  State: z.object({
    Status: z.string(),
    Running: z.boolean(),
    Pid: z.number().default(0),
    ExitCode: z.number(),
    OOMKilled: z.boolean().default(false),
    Error: z.string().default(''),
    StartedAt: z.string().default(''),
    FinishedAt: z.string().default(''),
  }),
  Config: z
    .object({
      Image: z.string().default(''),
      Labels: z.record(z.string(), z.string()).nullable().default({}),
    })
    .default({ Image: '', Labels: {} }),
});

const SOURCE = 'docker inspect output';

/** Docker prints `0001-01-01T00:00:00Z` for a time that never happened. */
function dockerTime(t: string): string | null {
  return t === '' || t.startsWith('0001-01-01') ? null : t;
}

/**
 * Accepts the raw stdout of `docker inspect NAME` or the already-decoded array. An empty array (docker's answer for an
 * unknown name, alongside exit code 1) is an error: the caller should treat it as "container does not exist" before
 * parsing.
 */
export function parseDockerInspect(json: unknown): ContainerState {
  const c = firstDockerObject(Inspect, json, SOURCE, 'container');
  return {
    name: c.Name.replace(/^\//, ''),
    id: c.Id,
    status: c.State.Status,
    running: c.State.Running,
    pid: c.State.Pid > 0 ? c.State.Pid : null,
    exitCode: c.State.ExitCode,
    oomKilled: c.State.OOMKilled,
    error: c.State.Error === '' ? null : c.State.Error,
    startedAt: dockerTime(c.State.StartedAt),
    finishedAt: dockerTime(c.State.FinishedAt),
    labels: c.Config.Labels ?? {},
    image: c.Config.Image || c.Image,
  };
}

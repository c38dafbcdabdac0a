/**
 * Fake `docker` of the simulated Thor: containers whose command is `vllm serve ...` run the simulated vLLM server
 * (sim/engine-server.ts) as a local process in its own process group, logging to the container's log file.
 * Supported: what thorbench's activities run (activities/engine.ts: run -d, inspect, logs --tail, ps -a --filter
 * --format, rm -f; activities/harness.ts: exec of `vllm bench serve` and `cat`, sim/commands/docker-exec.ts) and
 * image inspect; nothing else. Error texts and exit codes are docker's (125 for `docker run` failures, 1 for "No such
 * container").
 */
import fs from 'node:fs';
import { findContainer, removeContainer } from '../containers.js';
import { TemplateError, imageInspectObject, inspectObject, renderTemplate } from '../docker-format.js';
import type { SimLayout } from '../layout.js';
import { type CommandIO, runCommand } from './cli.js';
import { noSuchContainer, splitArgs, usageError } from './docker-common.js';
import { dockerExec } from './docker-exec.js';
import { dockerPs } from './docker-ps.js';
import { dockerRun } from './docker-run.js';

function dockerInspect(args: string[], layout: SimLayout, io: CommandIO): number {
  const parsed = splitArgs(args, [], []);
  if (typeof parsed === 'string') return usageError(io, 'inspect', parsed);
  if (parsed.names.length === 0) return usageError(io, 'inspect', '"docker inspect" requires at least 1 argument.');
  const found: Record<string, unknown>[] = [];
  let missing = false;
  for (const ref of parsed.names) {
    const c = findContainer(layout, ref);
    if (!c) {
      io.err(`Error: No such object: ${ref}\n`);
      missing = true;
      continue;
    }
    found.push(inspectObject(c));
  }
  io.out(`${JSON.stringify(found, null, 4)}\n`);
  return missing ? 1 : 0;
}

function dockerLogs(args: string[], layout: SimLayout, io: CommandIO): number {
  const parsed = splitArgs(args, ['-n', '--tail'], []);
  if (typeof parsed === 'string') return usageError(io, 'logs', parsed);
  if (parsed.names.length !== 1) return usageError(io, 'logs', '"docker logs" requires exactly 1 argument.');
  const ref = parsed.names[0]!;
  const c = findContainer(layout, ref);
  if (!c) {
    noSuchContainer(io, ref);
    return 1;
  }
  let text = '';
  try {
    text = fs.readFileSync(c.logFile, 'utf8');
  } catch {
    // No output yet.
  }
  const tail = parsed.flags.get('--tail') ?? parsed.flags.get('-n') ?? 'all';
  if (tail !== 'all') {
    const n = Number(tail);
    if (!Number.isInteger(n) || n < 0) return usageError(io, 'logs', `invalid value for --tail: ${tail}`);
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    text = n === 0 ? '' : `${lines.slice(-n).join('\n')}\n`;
  }
  io.out(text);
  return 0;
}

function dockerRm(args: string[], layout: SimLayout, io: CommandIO): number {
  const parsed = splitArgs(args, [], ['-f', '--force']);
  if (typeof parsed === 'string') return usageError(io, 'rm', parsed);
  if (parsed.names.length === 0) return usageError(io, 'rm', '"docker rm" requires at least 1 argument.');
  const force = parsed.flags.has('-f') || parsed.flags.has('--force');
  let failed = false;
  for (const ref of parsed.names) {
    const c = findContainer(layout, ref);
    if (!c) {
      noSuchContainer(io, ref);
      failed = true;
      continue;
    }
    if (c.status === 'running' && !force) {
      io.err(
        `Error response from daemon: cannot remove container "/${c.name}": container is running: stop the container before removing or force remove\n`,
      );
      failed = true;
      continue;
    }
    removeContainer(layout, c);
    fs.rmSync(c.logFile, { force: true });
    io.out(`${ref}\n`);
  }
  return failed ? 1 : 0;
}

function dockerImageInspect(args: string[], io: CommandIO): number {
  const parsed = splitArgs(args, ['-f', '--format'], []);
  if (typeof parsed === 'string') return usageError(io, 'image inspect', parsed);
  const format = parsed.flags.get('-f') ?? parsed.flags.get('--format');
  if (parsed.names.length === 0) {
    return usageError(io, 'image inspect', '"docker image inspect" requires at least 1 argument.');
  }
  const objects = parsed.names.map(imageInspectObject);
  if (format === undefined) {
    io.out(`${JSON.stringify(objects, null, 4)}\n`);
    return 0;
  }
  try {
    for (const o of objects) io.out(`${renderTemplate(format, o)}\n`);
  } catch (err) {
    if (err instanceof TemplateError) return usageError(io, 'image inspect', err.message);
    throw err;
  }
  return 0;
}

export function docker(args: string[], layout: SimLayout, io: CommandIO): number | Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'run':
      return dockerRun(rest, layout, io);
    case 'inspect':
      return dockerInspect(rest, layout, io);
    case 'logs':
      return dockerLogs(rest, layout, io);
    case 'ps':
      return dockerPs(rest, layout, io);
    case 'rm':
      return dockerRm(rest, layout, io);
    case 'image':
      if (rest[0] === 'inspect') return dockerImageInspect(rest.slice(1), io);
      break;
    case 'exec':
      return dockerExec(rest, layout, io);
    default:
      break;
  }
  io.err(
    `docker: '${[sub, rest[0]].filter(Boolean).join(' ')}' is not a docker command.\nSee 'docker --help' (thorbench simulator supports run, exec, inspect, logs, ps, rm, image inspect)\n`,
  );
  return 1;
}

export function main(args: string[]): Promise<void> {
  return runCommand('docker', docker, args);
}

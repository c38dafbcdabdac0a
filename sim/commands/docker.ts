/**
 * Fake `docker` of the simulated Thor: containers whose command is `vllm serve ...` run the simulated vLLM server
 * (sim/engine-server.ts) as a local process in its own process group, logging to the container's log file.
 * Supported: run -d, exec (vllm bench serve and cat: sim/commands/docker-exec.ts), inspect, logs, ps, stop, kill,
 * rm, pull, image inspect, version. Error texts and exit codes are docker's (125 for `docker run` failures, 1 for
 * "No such container").
 */
import fs from 'node:fs';
import { findContainer, removeContainer, stopContainerProcess } from '../containers.js';
import { SIMULATED_LABEL, TemplateError, imageId, inspectObject, renderTemplate } from '../docker-format.js';
import type { SimLayout } from '../layout.js';
import { type CommandIO, runCommand } from './cli.js';
import { noSuchContainer, splitArgs, usageError } from './docker-common.js';
import { dockerExec } from './docker-exec.js';
import { dockerPs } from './docker-ps.js';
import { dockerRun } from './docker-run.js';

const SIM_VERSION = '28.0.0-thorbench-sim';

function dockerInspect(args: string[], layout: SimLayout, io: CommandIO): number {
  const parsed = splitArgs(args, ['-f', '--format', '--type'], ['-s', '--size']);
  if (typeof parsed === 'string') return usageError(io, 'inspect', parsed);
  if (parsed.names.length === 0) return usageError(io, 'inspect', '"docker inspect" requires at least 1 argument.');
  const format = parsed.flags.get('-f') ?? parsed.flags.get('--format');
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
  if (format !== undefined) {
    try {
      for (const obj of found) io.out(`${renderTemplate(format, obj)}\n`);
    } catch (err) {
      if (err instanceof TemplateError) return usageError(io, 'inspect', err.message);
      throw err;
    }
  } else {
    io.out(`${JSON.stringify(found, null, 4)}\n`);
  }
  return missing ? 1 : 0;
}

function dockerLogs(args: string[], layout: SimLayout, io: CommandIO): number {
  const parsed = splitArgs(args, ['-n', '--tail', '--since', '--until'], ['-t', '--timestamps', '--details']);
  if (typeof parsed === 'string') return usageError(io, 'logs', parsed);
  if (args.includes('-f') || args.includes('--follow')) return usageError(io, 'logs', 'thorbench simulator: docker logs --follow is not simulated');
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

function dockerStopOrKill(sub: 'stop' | 'kill', args: string[], layout: SimLayout, io: CommandIO): number {
  const parsed = splitArgs(args, sub === 'stop' ? ['-t', '--time', '-s', '--signal'] : ['-s', '--signal'], []);
  if (typeof parsed === 'string') return usageError(io, sub, parsed);
  if (parsed.names.length === 0) return usageError(io, sub, `"docker ${sub}" requires at least 1 argument.`);
  const graceS = sub === 'kill' ? 0 : Number(parsed.flags.get('-t') ?? parsed.flags.get('--time') ?? '10');
  if (!Number.isFinite(graceS) || graceS < 0) return usageError(io, sub, 'invalid value for --time');
  let failed = false;
  for (const ref of parsed.names) {
    const c = findContainer(layout, ref);
    if (!c) {
      noSuchContainer(io, ref);
      failed = true;
      continue;
    }
    if (sub === 'kill' && c.status !== 'running') {
      io.err(`Error response from daemon: cannot kill container: ${ref}: container ${c.id} is not running\n`);
      failed = true;
      continue;
    }
    stopContainerProcess(layout, c, graceS * 1000);
    io.out(`${ref}\n`);
  }
  return failed ? 1 : 0;
}

function dockerRm(args: string[], layout: SimLayout, io: CommandIO): number {
  const parsed = splitArgs(args, [], ['-f', '--force', '-v', '--volumes', '-fv', '-vf']);
  if (typeof parsed === 'string') return usageError(io, 'rm', parsed);
  if (parsed.names.length === 0) return usageError(io, 'rm', '"docker rm" requires at least 1 argument.');
  const force = ['-f', '--force', '-fv', '-vf'].some((f) => parsed.flags.has(f));
  let failed = false;
  for (const ref of parsed.names) {
    const c = findContainer(layout, ref);
    if (!c) {
      noSuchContainer(io, ref);
      failed = true;
      continue;
    }
    if (c.status === 'running' && !force) {
      io.err(`Error response from daemon: cannot remove container "/${c.name}": container is running: stop the container before removing or force remove\n`);
      failed = true;
      continue;
    }
    removeContainer(layout, c);
    fs.rmSync(c.logFile, { force: true });
    io.out(`${ref}\n`);
  }
  return failed ? 1 : 0;
}

function dockerPull(args: string[], io: CommandIO): number {
  const image = args.filter((a) => !a.startsWith('-'))[0];
  if (!image) return usageError(io, 'pull', '"docker pull" requires exactly 1 argument.');
  const tag = image.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : 'latest';
  io.out(`${tag}: Pulling from ${image.split(':')[0]}\nDigest: ${imageId(image)}\nStatus: Image is up to date for ${image} (thorbench simulator: nothing downloaded)\n${image}\n`);
  return 0;
}

function dockerImageInspect(args: string[], io: CommandIO): number {
  const parsed = splitArgs(args, ['-f', '--format'], []);
  if (typeof parsed === 'string') return usageError(io, 'image inspect', parsed);
  const format = parsed.flags.get('-f') ?? parsed.flags.get('--format');
  const objects = parsed.names.map((image) => ({ Id: imageId(image), RepoTags: [image], Config: { Labels: { [SIMULATED_LABEL]: 'true' } } }));
  if (format !== undefined) for (const o of objects) io.out(`${renderTemplate(format, o)}\n`);
  else io.out(`${JSON.stringify(objects, null, 4)}\n`);
  return 0;
}

function dockerVersion(args: string[], io: CommandIO): number {
  const parsed = splitArgs(args, ['-f', '--format'], []);
  if (typeof parsed === 'string') return usageError(io, 'version', parsed);
  const info = { Client: { Version: SIM_VERSION, ApiVersion: '1.48' }, Server: { Version: SIM_VERSION, ApiVersion: '1.48' } };
  const format = parsed.flags.get('-f') ?? parsed.flags.get('--format');
  io.out(format !== undefined ? `${renderTemplate(format, info)}\n` : `Client:\n Version: ${SIM_VERSION}\n\nServer: thorbench simulator\n Engine:\n  Version: ${SIM_VERSION}\n`);
  return 0;
}

export function docker(args: string[], layout: SimLayout, io: CommandIO): number | Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'run':
      return dockerRun(rest, layout, io);
    case 'inspect':
      return dockerInspect(rest, layout, io);
    case 'container':
      return docker(rest, layout, io);
    case 'logs':
      return dockerLogs(rest, layout, io);
    case 'ps':
      return dockerPs(rest, layout, io);
    case 'stop':
    case 'kill':
      return dockerStopOrKill(sub, rest, layout, io);
    case 'rm':
      return dockerRm(rest, layout, io);
    case 'pull':
      return dockerPull(rest, io);
    case 'image':
      if (rest[0] === 'inspect') return dockerImageInspect(rest.slice(1), io);
      break;
    case 'version':
      return dockerVersion(rest, io);
    case 'exec':
      return dockerExec(rest, layout, io);
    default:
      break;
  }
  io.err(`docker: '${[sub, rest[0]].filter(Boolean).join(' ')}' is not a docker command.\nSee 'docker --help' (thorbench simulator supports run, exec, inspect, logs, ps, stop, kill, rm, pull, image inspect, version)\n`);
  return 1;
}

export function main(args: string[]): Promise<void> {
  return runCommand('docker', docker, args);
}

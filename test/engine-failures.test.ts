/**
 * Docker failures the engine activities cannot explain are typed, retryable `CommandFailed` failures (not plain
 * errors the cell would record as `Unexpected`), with docker's own words in the message. A stand-in `docker` that
 * fails the way the daemon does drives the real activities.
 */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { DeviceProfile } from '../activities/device-profile.js';
import { JETSON_COMMANDS } from '../activities/device-profile.js';
import { createEngineActivities } from '../activities/engine.js';
import { EngineSpec, ModelSpec } from '../schema/experiment.js';
import { typedFailure } from './helpers/failures.js';
import { tempDir } from './helpers/files.js';

function failingDocker(psOutput: string): DeviceProfile {
  const dir = tempDir('failing-docker');
  const docker = path.join(dir, 'docker');
  writeFileSync(
    docker,
    [
      '#!/bin/sh',
      'case "$1" in',
      `  ps) printf '%s' "${psOutput}"; exit 0 ;;`,
      '  inspect) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1 ;;',
      '  rm) echo "Error response from daemon: removal of container is already in progress" >&2; exit 1 ;;',
      '  run) echo "docker: Error response from daemon: Conflict. The container name is already in use." >&2; exit 125 ;;',
      'esac',
      'exit 2',
      '',
    ].join('\n'),
  );
  chmodSync(docker, 0o755);
  return {
    id: 'failing-docker',
    simulated: true,
    commands: { ...JETSON_COMMANDS, docker },
    sudo: false,
    simDir: null,
    enginePortOffset: 0,
    rootDir: dir,
    stateDir: dir,
    resultsDir: dir,
    env: {},
  };
}

/** Docker trouble may pass: the step policy retries it. */
function assertCommandFailed(pattern: RegExp) {
  return typedFailure('CommandFailed', { nonRetryable: false, message: [pattern] });
}

describe('engine activities: docker failures are typed', () => {
  const model = ModelSpec.parse({ id: 'm', path: 'M/m', quantization: 'fp8' });
  const engine = EngineSpec.parse({});

  it('docker run', async () => {
    const acts = createEngineActivities(failingDocker(''));
    await assert.rejects(
      acts.startEngine({ sweepId: 's', cellId: 'c', engineGroup: 'maxn.m', engine, model }),
      assertCommandFailed(/docker run failed \(exit 125\): docker: Error response from daemon: Conflict/),
    );
  });

  it('docker rm', async () => {
    const acts = createEngineActivities(failingDocker('thorbench-stale\n'));
    await assert.rejects(
      acts.teardownAllEngines(),
      assertCommandFailed(/docker rm -f thorbench-stale failed: .*in progress/),
    );
  });

  it('docker inspect', async () => {
    const acts = createEngineActivities(failingDocker(''));
    await assert.rejects(
      acts.teardownEngine({ containerName: 'x' }),
      assertCommandFailed(/docker inspect x failed: Cannot connect/),
    );
  });
});

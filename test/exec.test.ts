/**
 * The process runner: argv arrays without a shell, and a hung command (nvpmodel stuck at its reboot prompt, say)
 * killed at its timeout rather than left behind; long-running commands streamed line by line and stopped on
 * request; sudo only through the allow-list.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { CommandError, PrivilegeError, run, stream, workerUser } from '../activities/exec.js';
import { classifyCommandError } from '../activities/failures.js';
import { processState } from '../sim/process-util.js';
import { tempDir } from './helpers/files.js';
import { waitFor } from './helpers/wait.js';

/** A zombie is already dead: only its parent has not reaped it. */
const alive = (pid: number) => processState(pid) === 'running';

describe('run', () => {
  it('kills a command that hangs past its timeout', async () => {
    const dir = tempDir('exec');
    const script = path.join(dir, 'prompt.mjs');
    const pidFile = path.join(dir, 'pid');
    // Like nvpmodel waiting for YES: ignores end of input and never exits on its own.
    writeFileSync(
      script,
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(pidFile)}, String(process.pid));\nprocess.stdout.write('DO YOU WANT TO REBOOT NOW? enter YES/yes to confirm:');\nsetInterval(() => {}, 1000);\n`,
    );
    await assert.rejects(run([process.execPath, script], { timeoutMs: 1_500, input: 'n\n' }), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.timedOut, true);
      assert.match(err.message, /timed out after 1500 ms and was killed/);
      assert.match(err.stdout, /REBOOT NOW/);
      return true;
    });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.equal(alive(pid), false, 'the hung process is gone');
  });

  it('passes arguments literally, never through a shell', async () => {
    const dir = tempDir('exec');
    const marker = path.join(dir, 'pwned');
    const hostile = `$(touch ${marker}); \`touch ${marker}\` | touch ${marker} && touch ${marker}`;
    const res = await run(['/bin/echo', hostile], { timeoutMs: 10_000 });
    assert.equal(res.stdout, `${hostile}\n`);
    assert.equal(existsSync(marker), false);
  });

  it('reports a failing command with its argv, exit code and output', async () => {
    await assert.rejects(
      run([process.execPath, '-e', 'console.error("boom"); process.exit(3)'], { timeoutMs: 10_000 }),
      (err: unknown) => {
        assert.ok(err instanceof CommandError);
        assert.equal(err.exitCode, 3);
        assert.match(err.message, /exited with 3: boom/);
        return true;
      },
    );
    const ok = await run([process.execPath, '-e', 'process.exit(4)'], { timeoutMs: 10_000, allowFailure: true });
    assert.equal(ok.exitCode, 4);
  });

  it('says which binary is missing', async () => {
    await assert.rejects(run(['/nonexistent/nvpmodel', '-q'], { timeoutMs: 5_000 }), /\/nonexistent\/nvpmodel/);
  });
});

/** A node process that prints `line <n>` every 20 ms until it is killed, after writing its pid to `pidFile`. */
function ticker(pidFile: string): string[] {
  const code = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); let n = 0; setInterval(() => console.log('line ' + n++), 20);`;
  return [process.execPath, '-e', code];
}

describe('stream', () => {
  it('hands over each line while the command runs, and stops it on request', async () => {
    const pidFile = path.join(tempDir('stream'), 'pid');
    const lines: string[] = [];
    const command = stream(ticker(pidFile), { onLine: (l) => lines.push(l) });
    await waitFor('three lines', () => (lines.length >= 3 ? true : undefined), 10_000);
    // The command is still running: lines arrive before it ends, not at its end.
    assert.equal(alive(Number(readFileSync(pidFile, 'utf8'))), true);
    const end = await command.stop();
    assert.equal(end.stopped, true);
    assert.equal(end.signal, 'SIGTERM');
    assert.equal(alive(command.pid!), false);
    assert.deepEqual(lines.slice(0, 3), ['line 0', 'line 1', 'line 2']);
  });

  it('stops the command when its AbortSignal fires', async () => {
    const pidFile = path.join(tempDir('stream'), 'pid');
    const controller = new AbortController();
    const lines: string[] = [];
    const command = stream(ticker(pidFile), { onLine: (l) => lines.push(l), signal: controller.signal });
    await waitFor('a line', () => (lines.length >= 1 ? true : undefined), 10_000);
    controller.abort();
    const end = await command.done;
    assert.equal(end.stopped, true);
    assert.equal(alive(command.pid!), false);
  });

  it('delivers every line, the last one without a newline too, and resolves on exit 0', async () => {
    const lines: string[] = [];
    const end = await stream([process.execPath, '-e', 'process.stdout.write("a\\nb\\r\\nc")'], {
      onLine: (l) => lines.push(l),
    }).done;
    assert.deepEqual(lines, ['a', 'b', 'c']);
    assert.deepEqual({ exitCode: end.exitCode, stopped: end.stopped }, { exitCode: 0, stopped: false });
  });

  it('rejects with the exit code and the tail of stderr when the command fails', async () => {
    const command = stream([process.execPath, '-e', 'console.error("no rails"); process.exit(5)'], {
      onLine: () => {},
    });
    await assert.rejects(command.done, (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.exitCode, 5);
      assert.match(err.message, /exited with 5: no rails/);
      return true;
    });
  });

  it('kills a command that runs past its timeout', async () => {
    const pidFile = path.join(tempDir('stream'), 'pid');
    const command = stream(ticker(pidFile), { onLine: () => {}, timeoutMs: 300 });
    await assert.rejects(command.done, (err: unknown) => err instanceof CommandError && err.timedOut);
    assert.equal(alive(command.pid!), false);
  });

  it('says which binary is missing', async () => {
    await assert.rejects(stream(['/nonexistent/tegrastats'], { onLine: () => {} }).done, /\/nonexistent\/tegrastats/);
  });
});

describe('sudo', () => {
  it('is refused outside runPrivileged and its allow-list', async () => {
    await assert.rejects(run(['sudo', '-n', '/usr/sbin/reboot'], { timeoutMs: 5_000 }), PrivilegeError);
    await assert.rejects(run(['/usr/bin/sudo', 'id'], { timeoutMs: 5_000 }), PrivilegeError);
    assert.throws(() => stream(['sudo', 'tegrastats'], { onLine: () => {} }), PrivilegeError);
  });
});

describe('failures of commands, classified', () => {
  /** The ApplicationFailure a command that prints `stderr` and exits 1 is classified as. */
  async function classifiedFailure(stderr: string): Promise<ApplicationFailure> {
    const script = `process.stderr.write(${JSON.stringify(stderr)}); process.exit(1);`;
    const err = await run([process.execPath, '-e', script], { timeoutMs: 10_000 }).then(
      () => assert.fail('the command succeeded'),
      (e: unknown) => e,
    );
    const failure = classifyCommandError(err);
    assert.ok(failure instanceof ApplicationFailure);
    return failure;
  }

  it('a docker socket the worker may not use: not retried, and says to join the docker group', async () => {
    const f = await classifiedFailure(
      'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.47/containers/json": dial unix /var/run/docker.sock: connect: permission denied\n',
    );
    assert.deepEqual([f.type, f.nonRetryable], ['PrivilegeDenied', true]);
    assert.match(
      f.message,
      new RegExp(`the worker's user "${workerUser()}" may not use docker: sudo usermod -aG docker`),
    );
  });

  it('a program sudo cannot find: not retried, and names it', async () => {
    const f = await classifiedFailure('sudo: /usr/sbin/nvpmodel: command not found\n');
    assert.deepEqual([f.type, f.nonRetryable], ['CommandFailed', true]);
    assert.match(f.message, /is \/usr\/sbin\/nvpmodel installed on this device\?/);
  });

  it('anything else may pass: retried', async () => {
    const f = await classifiedFailure('Error response from daemon: i/o timeout\n');
    assert.deepEqual([f.type, f.nonRetryable], ['CommandFailed', false]);
  });
});

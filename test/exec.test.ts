/**
 * The process runner: argv arrays without a shell, and a hung command (nvpmodel stuck at its reboot prompt, say)
 * killed at its timeout rather than left behind.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CommandError, run } from '../activities/exec.js';
import { processState } from '../sim/process-util.js';
import { tempDir } from './helpers/temporal.js';

/** A zombie is already dead: only its parent has not reaped it. */
const alive = (pid: number) => processState(pid) === 'running';

describe('run', () => {
  it('kills a command that hangs past its timeout', async () => {
    const dir = tempDir('exec');
    const script = path.join(dir, 'prompt.mjs');
    const pidFile = path.join(dir, 'pid');
    // Like nvpmodel waiting for YES: ignores end of input and never exits on its own.
    writeFileSync(script, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(pidFile)}, String(process.pid));\nprocess.stdout.write('DO YOU WANT TO REBOOT NOW? enter YES/yes to confirm:');\nsetInterval(() => {}, 1000);\n`);
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
    await assert.rejects(run([process.execPath, '-e', 'console.error("boom"); process.exit(3)'], { timeoutMs: 10_000 }), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.exitCode, 3);
      assert.match(err.message, /exited with 3: boom/);
      return true;
    });
    const ok = await run([process.execPath, '-e', 'process.exit(4)'], { timeoutMs: 10_000, allowFailure: true });
    assert.equal(ok.exitCode, 4);
  });

  it('says which binary is missing', async () => {
    await assert.rejects(run(['/nonexistent/nvpmodel', '-q'], { timeoutMs: 5_000 }), /\/nonexistent\/nvpmodel/);
  });
});

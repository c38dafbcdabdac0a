/** The `thorbench` command as a user runs it: `node bin/thorbench.js …` in a subprocess, from the repository root. */
import { execFile } from 'node:child_process';
import { repoPath, REPO_ROOT } from './files.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs thorbench with `args`, the test's environment plus `env`; never rejects (a failure is its exit code). */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const options = {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    timeout: opts.timeoutMs ?? 240_000,
    maxBuffer: 32 * 1024 * 1024,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [repoPath('bin', 'thorbench.js'), ...args], options, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

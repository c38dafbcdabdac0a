/**
 * The workflow code as one bundle, made once per build rather than once per process. Worker.create({ workflowsPath })
 * would run webpack for every worker (seconds of CPU each); the CLI starts two or three workers per command and the
 * tests dozens of processes, so the bundle is kept on disk beside the compiled code, under a name made from a hash
 * of every compiled module it may include and of the Temporal SDK's version. Any rebuild that changes one of them
 * gives a new name, so a stale bundle is never used; where the directory is not writable, each process bundles.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { writeFileAtomicSync } from '../store/atomic-file.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
/** The compiled tree (dist/): what the workflows import lives here, except the tests. */
const COMPILED_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE_DIR = path.join(COMPILED_ROOT, '.workflow-bundle');

let bundle: Promise<WorkflowBundleWithSourceMap> | null = null;

export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= cachedBundle();
  return bundle;
}

/** Every compiled module outside the tests, in a stable order. */
function compiledModules(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (full !== path.join(COMPILED_ROOT, 'test') && full !== CACHE_DIR) out.push(...compiledModules(full));
    } else if (entry.name.endsWith('.js')) out.push(full);
  }
  return out;
}

/**
 * Names the bundle: the compiled modules' contents, the versions of the packages bundled with them (the lock file,
 * where there is one) and of the SDK that bundles.
 */
export function bundleKey(): string {
  const hash = createHash('sha256');
  const require = createRequire(import.meta.url);
  for (const pkg of ['@temporalio/worker', '@temporalio/workflow', '@temporalio/common', 'zod'])
    hash.update(`${pkg}@${(require(`${pkg}/package.json`) as { version: string }).version}\n`);
  const lock = path.join(COMPILED_ROOT, '..', 'package-lock.json');
  if (fs.existsSync(lock)) hash.update(fs.readFileSync(lock));
  for (const file of compiledModules(COMPILED_ROOT)) {
    hash.update(`${path.relative(COMPILED_ROOT, file)}\n`);
    hash.update(fs.readFileSync(file));
  }
  return hash.digest('hex').slice(0, 32);
}

async function cachedBundle(): Promise<WorkflowBundleWithSourceMap> {
  const file = path.join(CACHE_DIR, `${bundleKey()}.json`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as WorkflowBundleWithSourceMap;
  } catch {
    // Not bundled yet for this build (or unreadable): bundle, then keep it for the next process.
  }
  const made = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  try {
    // Older bundles of earlier builds go: only the current one is ever read.
    for (const old of fs.existsSync(CACHE_DIR) ? fs.readdirSync(CACHE_DIR) : [])
      if (old.endsWith('.json') && old !== path.basename(file)) fs.rmSync(path.join(CACHE_DIR, old), { force: true });
    writeFileAtomicSync(file, JSON.stringify({ code: made.code, sourceMap: made.sourceMap }));
  } catch {
    // A read-only install: every process bundles for itself, as before.
  }
  return made;
}

/** webpack's progress chatter is not useful to a user waiting for a sweep; warnings and errors still show. */
const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: Record<string, unknown>) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
};

/**
 * The Temporal worker runtime of a thorbench process: SDK logs at WARN and above, so a user watching a sweep sees
 * the progress line and real problems, not every worker state change.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

export function installRuntime(): void {
  if (installed) return;
  installed = true;
  const level = (process.env.THORBENCH_LOG_LEVEL ?? 'WARN').toUpperCase() as 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // Already installed by the embedding program (it chose its own logger).
  }
}

/**
 * The Temporal worker runtime of a thorbench process: SDK logs at WARN and above, so a user watching a sweep sees
 * the progress line and real problems, not every worker state change; and no signal handlers of the SDK's own,
 * because the CLI decides what Ctrl-C means (stop this process's workers; the sweep stays in Temporal).
 */
import { DefaultLogger, type LogEntry, Runtime } from '@temporalio/worker';

let installed = false;

/** Expected on every device worker (it registers activities only); not worth a warning. */
const EXPECTED = /^No workflows registered, not polling for workflow tasks/;

export function installRuntime(): void {
  if (installed) return;
  installed = true;
  const level = (process.env.THORBENCH_LOG_LEVEL ?? 'WARN').toUpperCase() as
    'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  const logger = new DefaultLogger(level, (entry: LogEntry) => {
    if (EXPECTED.test(entry.message)) return;
    const meta = entry.meta && Object.keys(entry.meta).length > 0 ? ` ${JSON.stringify(entry.meta)}` : '';
    process.stderr.write(
      `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message}${meta}\n`,
    );
  });
  try {
    Runtime.install({ logger, shutdownSignals: [] });
  } catch {
    // Already installed by the embedding program (it chose its own logger and signals).
  }
}

/** `thorbench cancel <sweep>`: requests cancellation; the sweep tears the engine down and records unrun cells. */
import { type CliEnv, connectTemporal } from '../context.js';

export async function cancel(opts: { sweepId: string; env: CliEnv; out: (line: string) => void }): Promise<void> {
  const conn = await connectTemporal(opts.env, { startServer: false });
  try {
    await conn.client.workflow.getHandle(opts.sweepId).cancel();
    opts.out(`cancellation requested for sweep ${opts.sweepId}`);
  } finally {
    await conn.close();
  }
}

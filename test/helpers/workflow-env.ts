/**
 * A Temporal test environment for workflow tests: `TestWorkflowEnvironment.createLocal` on the Temporal CLI this
 * project already uses (offline: no download), with thorbench's search attributes registered, plus the real sweep
 * worker (workflows and the results store) on it. Device activities come from each test (test/helpers/mock-device.ts).
 */
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { TEMPORAL_CLI_HELP, findTemporalCli } from '../../server/temporal-cli.js';
import { type ResultsStore, openResultsStore } from '../../store/store.js';
import { installRuntime } from '../../workers/runtime.js';
import { createSweepWorker } from '../../workers/sweep-worker.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { tempDir } from './files.js';

export interface WorkflowEnv {
  env: TestWorkflowEnvironment;
  store: ResultsStore;
  stop(): Promise<void>;
}

export async function startWorkflowEnv(extraArgs: string[] = []): Promise<WorkflowEnv> {
  const cli = await findTemporalCli();
  if (!cli) throw new Error(TEMPORAL_CLI_HELP);
  installRuntime();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: Object.values(SEARCH_ATTRIBUTES),
      extraArgs: ['--log-level', 'warn', ...extraArgs],
    },
  });
  const store = await openResultsStore(path.join(tempDir('workflows'), 'thorbench.db'));
  const worker: Worker = await createSweepWorker({ connection: env.nativeConnection, namespace: 'default', store });
  const running = worker.run();
  return {
    env,
    store,
    async stop() {
      worker.shutdown();
      await running;
      await store.close();
      await env.teardown();
    },
  };
}

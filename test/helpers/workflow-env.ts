/**
 * A Temporal test environment for workflow tests: `TestWorkflowEnvironment.createLocal` on the Temporal CLI this
 * project already uses (offline: no download), with thorbench's search attributes registered, plus the real sweep
 * worker (workflows and the results store) on it. Device activities come from each test (test/helpers/mock-device.ts).
 */
import path from 'node:path';
import { after, before } from 'node:test';
import type { WorkflowHandleWithFirstExecutionRunId, WorkflowStartOptions } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { DYNAMIC_CONFIG } from '../../server/dev-server.js';
import { TEMPORAL_CLI_HELP, findTemporalCli } from '../../server/temporal-cli.js';
import { type ResultsStore, openResultsStore } from '../../store/store.js';
import { installRuntime } from '../../workers/runtime.js';
import { createSweepWorker } from '../../workers/sweep-worker.js';
import type { ExperimentInput } from '../../schema/experiment.js';
import type { sweep } from '../../workflows/sweep.js';
import { SWEEP_TASK_QUEUE } from '../../workflows/task-queues.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { tempDir } from './files.js';

export interface WorkflowEnv {
  env: TestWorkflowEnvironment;
  store: ResultsStore;
  /** Starts a sweep of `exp` on the sweep task queue, as `thorbench start` does. */
  startSweep(
    workflowId: string,
    exp: ExperimentInput,
    options?: Partial<WorkflowStartOptions<typeof sweep>>,
  ): Promise<WorkflowHandleWithFirstExecutionRunId<typeof sweep>>;
  stop(): Promise<void>;
}

/** Continue-as-new suggested after a few dozen events: a sweep of a handful of cells then crosses several runs. */
export const SUGGEST_CONTINUE_AS_NEW = ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=40'];

/**
 * One environment for the tests of the enclosing `describe`: started by its `before` hook, stopped by its `after`.
 * The returned object is filled in when the hook has run.
 */
export function suiteWorkflowEnv(extraArgs: string[] = []): WorkflowEnv {
  const shared = {} as WorkflowEnv;
  before(async () => {
    Object.assign(shared, await startWorkflowEnv(extraArgs));
  });
  after(async () => {
    await shared.stop?.();
  });
  return shared;
}

export async function startWorkflowEnv(extraArgs: string[] = []): Promise<WorkflowEnv> {
  const cli = await findTemporalCli();
  if (!cli) throw new Error(TEMPORAL_CLI_HELP);
  installRuntime();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: Object.values(SEARCH_ATTRIBUTES),
      // The same dynamic config as the embedded server: tasks handed on as they come (docs/architecture.md,
      // "Orchestration cost"), which is most of a mocked step's round trip.
      extraArgs: ['--log-level', 'warn', ...DYNAMIC_CONFIG.flatMap((c) => ['--dynamic-config-value', c]), ...extraArgs],
    },
  });
  const store = await openResultsStore(path.join(tempDir('workflows'), 'thorbench.db'));
  const worker: Worker = await createSweepWorker({ connection: env.nativeConnection, namespace: 'default', store });
  const running = worker.run();
  return {
    env,
    store,
    startSweep: (workflowId, exp, options) =>
      env.client.workflow.start<typeof sweep>('sweep', {
        taskQueue: SWEEP_TASK_QUEUE,
        workflowId,
        args: [exp],
        ...options,
      }),
    async stop() {
      worker.shutdown();
      await running;
      await store.close();
      await env.teardown();
    },
  };
}

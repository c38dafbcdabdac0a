/**
 * Recorded histories for the replay guard (test/replay.test.ts): with THORBENCH_RECORD_HISTORIES=<label>, a test
 * keeps the histories of the workflows it ran as test/histories/<label>.<workflow id, '/' as '~'>.json. Earlier
 * labels stay: they stand for workflows started by older code that must still replay.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { repoPath } from './files.js';

/** Keeps each workflow's history (its given run, else its latest) when THORBENCH_RECORD_HISTORIES is set. */
export async function recordHistories(client: Client, runs: { workflowId: string; runId?: string }[]): Promise<void> {
  const label = process.env.THORBENCH_RECORD_HISTORIES;
  if (!label) return;
  for (const { workflowId, runId } of runs) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const file = path.join(repoPath('test', 'histories'), `${label}.${workflowId.replace(/\//g, '~')}.json`);
    writeFileSync(file, historyToJSON(history));
  }
}

/**
 * What the Temporal server can index, asked by the sweep before it sets search attributes (workflows/
 * search-attributes.ts): setting one the namespace has not registered fails the workflow task, again and again.
 * Runs on the sweep worker (task queue `thorbench`), over the worker's own connection.
 */
import { log } from '@temporalio/activity';
import type { NativeConnection } from '@temporalio/worker';

export function createVisibilityActivities(connection: NativeConnection, namespace: string) {
  return {
    /** Names of the custom search attributes registered in the namespace; none when the server will not say. */
    async registeredSearchAttributes(): Promise<string[]> {
      try {
        const res = await connection.operatorService.listSearchAttributes({ namespace });
        return Object.keys(res.customAttributes ?? {});
      } catch (err) {
        // A server that refuses the operator API (a hosted namespace, a restricted role): run without attributes.
        log.warn('cannot list search attributes; sweeps and cells run without them', { error: (err as Error).message });
        return [];
      }
    },
  };
}

export type VisibilityActivities = ReturnType<typeof createVisibilityActivities>;

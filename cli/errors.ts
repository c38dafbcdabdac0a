import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/common';

/**
 * Errors the CLI turns into exit codes. Only cli/main.ts exits the process; commands throw.
 * Exit codes: 0 ok (a sweep that finished, even with failed cells); 1 infrastructure failure; 2 invalid input.
 */
export class ExitError extends Error {
  override readonly name = 'ExitError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const EXIT_INFRA = 1;
export const EXIT_INVALID = 2;

/**
 * Why a sweep failed, from the failure Temporal reports: the innermost ApplicationFailure (the activity's own typed
 * failure, e.g. `PrivilegeDenied: sudo refused …`) and the activity that threw it. The outer layers only say
 * "Activity task failed" or "Child Workflow execution failed".
 */
export function failureReason(err: unknown): string {
  let activity: string | undefined;
  let deepest: Error | undefined;
  let innermost: Error | undefined;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ActivityFailure && e.activityType) activity = e.activityType;
    const wrapper =
      e instanceof WorkflowFailedError || e instanceof ActivityFailure || e instanceof ChildWorkflowFailure;
    if (!wrapper) innermost = e;
    deepest = e;
  }
  const reason = innermost ?? deepest;
  if (!reason) return String(err);
  const type = reason instanceof ApplicationFailure && reason.type ? `${reason.type}: ` : '';
  return `${activity ? `${activity}: ` : ''}${type}${reason.message}`;
}

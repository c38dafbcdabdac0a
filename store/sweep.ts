/**
 * The sweep-level record of the results store: one row per sweep, next to the per-cell rows (CellRecord).
 *
 * Kept apart from the store so pure code (reports, the CLI's status view) can use the type without pulling in
 * the SQLite binding.
 */
import { z } from 'zod';

/** Lifecycle of a sweep as the results store sees it. */
export const SweepState = z.enum(['running', 'completed', 'failed', 'cancelled']);
export type SweepState = z.infer<typeof SweepState>;

export function isSweepState(value: unknown): value is SweepState {
  return SweepState.safeParse(value).success;
}

export interface SweepRecord {
  sweepId: string;
  experimentName: string;
  /** The experiment exactly as the sweep ran it (JSON text), so a report can show model paths and scenarios. */
  experimentJson: string;
  /** Temporal workflow id, when the sweep ran as a workflow. */
  workflowId: string | null;
  simulated: boolean;
  /** How many cells the plan had when the sweep started (repeats included). */
  plannedCells: number;
  startedAt: string;
  finishedAt: string | null;
  state: SweepState;
}

/** What a caller supplies when a sweep starts (or resumes). */
export interface SweepStart {
  sweepId: string;
  experimentName: string;
  /** The experiment as JSON text, or the object itself (stored as JSON text). */
  experimentJson: string | object;
  workflowId?: string | null;
  simulated: boolean;
  plannedCells: number;
  startedAt: string;
}

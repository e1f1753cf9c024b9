/** A run's state. */
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Finished states: a run in one of them never changes again. */
export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

/**
 * The transitions the database allows (trigger `runs_status_transition`,
 * V002): queued → running | cancelled, running → running (lease renewed or
 * taken over) | succeeded | failed | cancelled. Kept here for readers and
 * tests; the database is what enforces it.
 */
export const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['queued', 'running', 'cancelled'],
  running: ['running', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

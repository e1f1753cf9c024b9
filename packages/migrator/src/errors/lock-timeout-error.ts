import { MigratorError } from './migrator-error.js';

/** Who held the migration lock when waiting for it gave up. */
export interface LockHolder {
  /** Backend pid of the holder. */
  pid: number;
  /** Its `application_name`. */
  applicationName: string | null;
  /** Its client address. */
  clientAddr: string | null;
  /** Its current state (`active`, `idle`…). */
  state: string | null;
}

/** The migration lock of a schema could not be taken within the bound. */
export class LockTimeoutError extends MigratorError {
  /** How long the runner waited, in milliseconds. */
  readonly waitedMs: number;
  /** The session(s) holding the lock, when they could be identified. */
  readonly holders: readonly LockHolder[];

  /**
   * @param schema the schema whose lock was wanted
   * @param waitedMs how long the runner waited
   * @param holders who held the lock
   */
  constructor(schema: string, waitedMs: number, holders: readonly LockHolder[]) {
    super(
      'LOCK_TIMEOUT',
      `could not take the migration lock of schema "${schema}" within ${Math.round(waitedMs)} ms` +
        (holders.length > 0
          ? `; held by ${holders.map((h) => `pid ${h.pid} (${h.applicationName || 'no application_name'}, ${h.state ?? 'unknown state'})`).join(', ')}`
          : ''),
    );
    this.waitedMs = waitedMs;
    this.holders = holders;
  }
}

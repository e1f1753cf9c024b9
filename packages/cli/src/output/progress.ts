import type { MigratorEvent } from '@stellaops/migrator';
import type { TextSink } from '../context.js';

/**
 * Progress lines on stderr for long runs: waiting for the lock, each
 * migration as it starts/finishes (`[12/140] V012_AddIndex applied (35 ms)`),
 * retries after a lock timeout.
 */
export function progressPrinter(out: TextSink): (e: MigratorEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'lock-wait':
        out.write(`waiting for the migration lock of schema ${e.schema}…\n`);
        break;
      case 'migration-done':
        out.write(
          `[${e.index + 1}/${e.total}] ${e.id} ${e.direction === 'up' ? 'applied' : 'reverted'} (${Math.round(e.durationMs)} ms)\n`,
        );
        break;
      case 'migration-retry':
        out.write(`${e.id}: lock_timeout (SQLSTATE ${e.sqlState}), retry ${e.attempt} in ${e.delayMs} ms\n`);
        break;
      case 'migration-failed':
        out.write(`${e.id} FAILED\n`);
        break;
      default:
        break;
    }
  };
}

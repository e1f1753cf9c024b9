import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { acceptCommand } from './accept.js';
import { downCommand } from './down.js';
import { planCommand } from './plan.js';
import { statusCommand } from './status.js';
import { upCommand } from './up.js';
import { verifyCommand } from './verify.js';

const HELP_FOOTER = `
Migrations come from a module package (--module <name> → @stellaops/module-<name>)
or a folder (--dir <folder> --schema <name>): V001__name.sql (+ V001__name.down.sql;
first line "-- stella:no-transaction" to run outside a transaction, one statement
only), or V002_Name.ts exporting up(db)/down(db) against Kysely.

Each migration runs in its own transaction with its row in <schema>._migrations
(checksum, applied_at, duration_ms, applied_by, in_transaction). Runs are
serialized by a polled advisory lock (--lock-wait); statements use a short
lock_timeout with retries (--lock-timeout). Use a direct connection: a pooler
(PgBouncer) is detected and refused for up/down/accept.

Connection: --url, else --config <appsettings.json> (Postgres.ConnectionString),
else env Postgres__ConnectionString. URL or Npgsql keyword syntax. Passwords are
never printed.

Exit codes:
  0  ok
  1  failed (migration error, drift or order error during up, lock timeout, connection)
  2  usage error
  3  pending or drift found (status --fail-on-pending, verify)
`;

/** The `migrate` command group: up, down, status, plan, verify, accept. */
export function migrateCommand(ctx: CliContext): Command {
  return new Command('migrate')
    .description('apply, roll back and inspect schema migrations')
    .addHelpText('after', HELP_FOOTER)
    .addCommand(upCommand(ctx))
    .addCommand(downCommand(ctx))
    .addCommand(statusCommand(ctx))
    .addCommand(planCommand(ctx))
    .addCommand(verifyCommand(ctx))
    .addCommand(acceptCommand(ctx));
}

import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { runCommand } from '../../command/run-command.js';
import { addCommonOptions, createMigrator, type CommonOptions } from './shared.js';

/** `stella-db migrate verify`: exit 3 when the database does not match the source. */
export function verifyCommand(ctx: CliContext): Command {
  return addCommonOptions(
    new Command('verify').description(
      'check that every migration is applied with a matching checksum; exit 3 on pending, drift, missing or unverified',
    ),
  ).action(async (opts: CommonOptions) =>
    runCommand('migrate verify', opts, ctx, async () => {
      const { migrator, target, schema } = await createMigrator(opts, ctx);
      const r = await migrator.verify();
      const lines = [
        r.ok ? `schema ${schema} matches its migrations (${target})` : `schema ${schema} does NOT match its migrations (${target}):`,
      ];
      if (r.pending.length) lines.push(`  pending: ${r.pending.join(', ')}`);
      if (r.outOfOrder.length) lines.push(`  out of order: ${r.outOfOrder.join(', ')}`);
      for (const d of r.drifted) lines.push(`  drifted: ${d.id} (applied ${d.appliedChecksum}, source ${d.currentChecksum})`);
      if (r.missing.length) lines.push(`  missing from source: ${r.missing.join(', ')}`);
      if (r.unverified.length) lines.push(`  applied without checksum: ${r.unverified.join(', ')} (run accept to record them)`);
      const { schema: _s, ok: _ok, ...rest } = r;
      return { doc: { schema, ...rest }, human: `${lines.join('\n')}\n`, exitCode: r.ok ? ExitCode.Ok : ExitCode.PendingOrDrift };
    }),
  );
}

// A migration runner in its own process, driven by JSON lines on stdin, so
// tests can start many at once (and SIGKILL them). Prints "ready" once loaded,
// then one JSON line per command.
import { createInterface } from 'node:readline';
import { SchemaMigrator } from '../../src/index.js';
import { generateMigrations } from './generate.js';

interface Command {
  url: string;
  schema: string;
  count: number;
  concurrentlyEvery?: number;
  sleepMs?: number;
  lockWaitMs?: number;
}

process.stdout.write('ready\n');
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (line.trim() === '') continue;
  const cmd = JSON.parse(line) as Command;
  const t0 = performance.now();
  try {
    const report = await new SchemaMigrator({
      connectionString: cmd.url,
      schema: cmd.schema,
      migrations: generateMigrations(cmd.schema, cmd.count, { concurrentlyEvery: cmd.concurrentlyEvery ?? 0, sleepMs: cmd.sleepMs ?? 0 }),
      lockWaitMs: cmd.lockWaitMs ?? 60_000,
    }).up();
    process.stdout.write(
      `${JSON.stringify({ ok: true, applied: report.results.filter((r) => r.status === 'applied').map((r) => r.id), ms: performance.now() - t0 })}\n`,
    );
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(error), code: (error as { code?: string }).code })}\n`);
  }
}

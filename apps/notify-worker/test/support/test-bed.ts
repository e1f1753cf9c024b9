// One test file's setup for the worker tests: the database, Notify's roles able to log in, and the
// worker processes and webhook receivers its tests start, stopped after each test.
import { templateMigrations } from '@stellaops/module-testkit';
import { migrations } from '@stellaops/module-notify';
import { useTestDatabase, type TestDatabaseHandle } from '@stellaops/test-fixture/vitest';
import { afterEach, beforeAll } from 'vitest';
import { enableLogins } from './notify-db.js';
import { WebhookReceiver } from './webhook-receiver.js';
import { WorkerProcess } from './worker-process.js';

/** What {@link useWorkerTestBed} gives a test file. */
export interface WorkerTestBed {
  /** A database migrated with Notify's migrations (fresh per test). */
  db: TestDatabaseHandle;
  /** Starts a worker process with `env` (see `workerEnv`); killed after the test. */
  startWorker: (env: Record<string, string>) => WorkerProcess;
  /** Starts a webhook receiver; closed after the test. */
  startReceiver: () => Promise<WebhookReceiver>;
}

/**
 * Registers the test file's database and hooks; call it at the top level.
 *
 * @example
 * ```ts
 * const { db, startWorker, startReceiver } = await useWorkerTestBed();
 * ```
 */
export async function useWorkerTestBed(): Promise<WorkerTestBed> {
  const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
  const workers: WorkerProcess[] = [];
  const receivers: WebhookReceiver[] = [];
  beforeAll(() => enableLogins(db.server.adminConnectionString));
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  return {
    db,
    startWorker(env) {
      const w = WorkerProcess.start(env);
      workers.push(w);
      return w;
    },
    async startReceiver() {
      const r = await WebhookReceiver.start();
      receivers.push(r);
      return r;
    },
  };
}

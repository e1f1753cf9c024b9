// The notify worker's executable: `node dist/main.js` (or `pnpm dev` from source).
// Exit codes: 0 stopped by SIGTERM/SIGINT, 78 invalid configuration (EX_CONFIG), 1 failed.
import { ConfigurationError } from '@stellaops/postgres-core';
import { loadWorkerConfig } from './config/load-worker-config.js';
import { createLogger } from './logging/logger.js';
import { NotifyWorkerService } from './service/notify-worker-service.js';

/** Exit code of invalid configuration (sysexits EX_CONFIG). */
const EX_CONFIG = 78;

async function main(): Promise<number> {
  const configDir = process.env.NOTIFY_WORKER_CONFIG_DIR ?? process.cwd();
  let config;
  try {
    config = loadWorkerConfig({ configDir });
  } catch (e) {
    if (!(e instanceof ConfigurationError)) throw e;
    createLogger({ level: 'info' }).fatal({ code: e.code, problems: e.problems, configDir }, 'invalid configuration: refusing to start');
    process.stderr.write(
      `notify-worker: ${e.message}\n` +
        `Fix these in ${configDir}/appsettings.json, appsettings.{Environment}.json or environment variables ` +
        `(Section__Key, e.g. Worker__BatchSize=20, Postgres__ConnectionString=...), then start again.\n`,
    );
    return EX_CONFIG;
  }
  const log = createLogger({ level: config.worker.logLevel, workerId: config.worker.workerId });
  const service = new NotifyWorkerService(config, log);
  let stopping: Promise<void> | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'signal received: shutting down gracefully');
    stopping = service.stop().finally(() => stopped());
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await service.start();
  } catch (e) {
    log.fatal(
      { err: { name: (e as Error).name, code: (e as { code?: string }).code, message: (e as Error).message } },
      'notify worker failed to start',
    );
    process.stderr.write(`notify-worker: ${(e as Error).message}\n`);
    await service.stop().catch(() => undefined);
    return 1;
  }
  // Runs until a signal: the delivery loop and the HTTP server keep the event loop alive.
  await done;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`notify-worker: unexpected failure: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    process.exit(1);
  },
);

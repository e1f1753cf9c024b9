// Child process for cleanup.test.ts: starts (or joins) the embedded server of
// STELLAOPS_TEST_PG_CACHE_DIR, takes two clones, reports them, then waits to
// be killed.
import { DatabaseFactory, startTestServer } from '../../src/index.js';

const server = await startTestServer({ provider: 'embedded', log: () => undefined });
const factory = new DatabaseFactory(server.info);
const a = await factory.acquire();
const b = await factory.acquire();
console.log(JSON.stringify({ pid: process.pid, port: server.info.port, clones: [a.database, b.database], runTag: server.info.runTag }));
setInterval(() => undefined, 1000);

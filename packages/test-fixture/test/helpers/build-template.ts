// Child process for template.test.ts: builds (or finds) one template and
// prints its name. argv: <server info JSON> <hash> <log file>
import { appendFileSync } from 'node:fs';
import pg from 'pg';
import { DatabaseFactory } from '../../src/index.js';

const [infoJson, hash, logFile] = process.argv.slice(2) as [string, string, string];
const factory = new DatabaseFactory(JSON.parse(infoJson));
const name = await factory.template({
  name: 'race',
  hash,
  migrate: async ({ connectionString }) => {
    appendFileSync(logFile, `${process.pid}\n`);
    const c = new pg.Client({ connectionString });
    await c.connect();
    for (let i = 0; i < 5; i++) await c.query(`create table t${i} (id int primary key)`);
    await c.query('select pg_sleep(0.3)');
    await c.end();
  },
});
console.log(JSON.stringify({ name }));
await factory.close();

import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import pg from 'pg';
import { expect, it } from 'vitest';
import { checkHealth } from '../src/index.js';

const db = useTestDatabase();

it('reports a connection that dies during the probe as unhealthy instead of crashing the process', async () => {
  const pool = new pg.Pool({ connectionString: db.connectionString, max: 1 });
  pool.on('error', () => undefined); // idle clients: the pool's own concern
  // The probe's connection is terminated by the server after checkout, before its `select 1` answers:
  // pg emits 'error' on the checked-out client (pg-pool has removed its listener by then).
  pool.on('acquire', (client: pg.PoolClient & { processID?: number }) => {
    const query = client.query.bind(client) as (text: string) => Promise<pg.QueryResult>;
    (client as unknown as { query: (text: string) => Promise<pg.QueryResult> }).query = async (text: string) => {
      await db.pool.query('select pg_terminate_backend($1)', [client.processID]);
      await new Promise((r) => setTimeout(r, 200)); // the termination reaches the client
      return query(text);
    };
  });
  try {
    const result = await checkHealth(pool, { timeoutMs: 5_000 });
    expect(result.status).toBe('unhealthy');
    expect(result.error).toMatch(/Connection/);
  } finally {
    await pool.end();
  }
});

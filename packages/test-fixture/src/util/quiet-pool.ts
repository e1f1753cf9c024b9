import pg from 'pg';

/**
 * A `pg` pool whose idle clients may be ended by the server without crashing
 * the process: dropping a test database `WITH (FORCE)` ends sessions that a
 * test left open, and `pool.end()` resolves before its clients are gone.
 */
export function quietPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

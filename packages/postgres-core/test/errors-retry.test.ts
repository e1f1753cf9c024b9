import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  ConnectionLostError,
  DeadlockDetectedError,
  isRetryableError,
  mapDatabaseError,
  PoolTimeoutError,
  QueryCanceledError,
  SerializationFailureError,
  StatementTimeoutError,
  UniqueViolationError,
  withRetry,
} from '../src/index.js';

const pgError = (code: string, message = 'x', extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...extra });

describe('mapDatabaseError', () => {
  it.each([
    ['23505', UniqueViolationError],
    ['40001', SerializationFailureError],
    ['40P01', DeadlockDetectedError],
    ['08006', ConnectionLostError],
    ['57P01', ConnectionLostError],
    ['57P03', ConnectionLostError],
  ])('maps SQLSTATE %s', (code, cls) => {
    const cause = pgError(code, 'm', { constraint: 'c', table: 't' });
    const e = mapDatabaseError(cause);
    expect(e).toBeInstanceOf(cls);
    expect(e).toMatchObject({ sqlState: code, cause });
  });

  it('tells the statement timeout from other cancellations', () => {
    expect(mapDatabaseError(pgError('57014', 'canceling statement due to statement timeout'))).toBeInstanceOf(StatementTimeoutError);
    const user = mapDatabaseError(pgError('57014', 'canceling statement due to user request'));
    expect(user).toBeInstanceOf(QueryCanceledError);
    expect(user).not.toBeInstanceOf(StatementTimeoutError);
  });

  it('maps socket failures and pool timeouts, leaves unrelated errors alone', () => {
    expect(mapDatabaseError(pgError('ECONNREFUSED'))).toBeInstanceOf(ConnectionLostError);
    expect(mapDatabaseError(new Error('Connection terminated unexpectedly'))).toBeInstanceOf(ConnectionLostError);
    expect(mapDatabaseError(new Error('timeout exceeded when trying to connect'))).toBeInstanceOf(PoolTimeoutError);
    const other = new TypeError('nope');
    expect(mapDatabaseError(other)).toBe(other);
    expect(isRetryableError(pgError('23505'))).toBe(false);
    expect(isRetryableError(pgError('40001'))).toBe(true);
  });

  it("maps PgBouncer's 08P01 server failures (crash, failing logins) to a lost connection, other 08P01 not", () => {
    for (const m of [
      'server conn crashed?',
      'server login has been failing, try again later (server_login_retry)',
      'pgbouncer cannot connect to server',
    ]) {
      expect(mapDatabaseError(pgError('08P01', m))).toBeInstanceOf(ConnectionLostError);
      expect(isRetryableError(pgError('08P01', m))).toBe(true);
    }
    expect(isRetryableError(pgError('08P01', 'invalid message format'))).toBe(false);
  });
});

describe('withRetry', () => {
  it('bounds and jitters the backoff', () => {
    expect(backoffDelayMs(1, 10, 1000, () => 0.999)).toBe(9);
    expect(backoffDelayMs(4, 10, 1000, () => 0.5)).toBe(40);
    expect(backoffDelayMs(20, 10, 1000, () => 0.999)).toBe(999);
    expect(backoffDelayMs(3, 10, 1000, () => 0)).toBe(0);
  });

  it('retries serialization failures and deadlocks up to maxAttempts, then throws the typed error', async () => {
    let n = 0;
    const delays: number[] = [];
    const err = await withRetry(
      async () => {
        n++;
        throw pgError(n % 2 ? '40001' : '40P01');
      },
      { maxAttempts: 4, baseDelayMs: 1, onRetry: (_e, _a, d) => delays.push(d) },
    ).catch((e: unknown) => e);
    expect(n).toBe(4);
    expect(delays).toHaveLength(3);
    expect(err).toBeInstanceOf(DeadlockDetectedError);
  });

  it('does not retry other errors, and returns the value once it succeeds', async () => {
    let n = 0;
    await expect(
      withRetry(async () => {
        n++;
        throw pgError('23505');
      }),
    ).rejects.toBeInstanceOf(UniqueViolationError);
    expect(n).toBe(1);
    let m = 0;
    await expect(
      withRetry(
        async (attempt) => {
          m++;
          if (attempt < 3) throw pgError('40001');
          return 'ok';
        },
        { baseDelayMs: 1 },
      ),
    ).resolves.toBe('ok');
    expect(m).toBe(3);
  });
});

import { describe, expect, it } from 'vitest';
import { freePort, ProviderUnavailableError, startTestServer } from '../src/index.js';
import { useTestServer } from '../src/vitest/index.js';

const server = useTestServer();

describe('external provider', () => {
  it('uses a reachable server given by URL and reports its version', async () => {
    const lines: string[] = [];
    const ext = await startTestServer({ provider: 'external', url: server.adminConnectionString, log: (l) => lines.push(l) });
    try {
      expect(ext.info.provider).toBe('external');
      expect(ext.info.port).toBe(server.port);
      expect(lines.join('\n')).toMatch(/external \(chosen by STELLAOPS_TEST_PG_PROVIDER\).*PostgreSQL 1[6-9]/);
      expect(lines.join('\n')).not.toContain(`:${server.password}@`);
    } finally {
      await ext.stop();
    }
  });

  it('an unreachable URL is a clear error that hides the password', async () => {
    const port = await freePort();
    const url = `postgres://someone:s3cret-pw@127.0.0.1:${port}/postgres`;
    const err = await startTestServer({ provider: 'external', url, log: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    const msg = (err as Error).message;
    expect(msg).toContain(`127.0.0.1:${port}`);
    expect(msg).toMatch(/ECONNREFUSED/);
    expect(msg).toContain('Fix:');
    expect(msg).not.toContain('s3cret-pw');
  });

  it('a user without CREATEDB is refused with the fix', async () => {
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: server.adminConnectionString });
    await admin.connect();
    const role = `fx_nocreatedb_${process.pid}`;
    await admin.query(`drop role if exists ${role}`);
    await admin.query(`create role ${role} login password 'pw-${process.pid}'`);
    try {
      const url = server.urlFor('postgres', { user: role, password: `pw-${process.pid}` });
      const err = await startTestServer({ provider: 'external', url, log: () => undefined }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect((err as Error).message).toMatch(/may not create databases.*CREATEDB/);
    } finally {
      await admin.query(`drop role ${role}`);
      await admin.end();
    }
  });
});

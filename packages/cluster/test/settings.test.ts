import { serverRunAs, locateBinaries } from '@stellaops/embedded-server';
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import {
  clusterLayout,
  computeSettings,
  InvalidClusterInputError,
  parseMemory,
  parseOverrides,
  renderPostgresqlConf,
  SettingsRejectedError,
  settingsMap,
  validateSettingsWithServer,
} from '../src/index.js';

const GiB = 1024 ** 3;

describe('parseMemory', () => {
  it('reads binary sizes in the forms operators write', () => {
    expect(parseMemory('64GiB')).toBe(64 * GiB);
    expect(parseMemory('64GB')).toBe(64 * GiB);
    expect(parseMemory('64Gi')).toBe(64 * GiB);
    expect(parseMemory(' 1.5 GiB ')).toBe(1.5 * GiB);
    expect(parseMemory('2048MiB')).toBe(2 * GiB);
  });

  it('names the problem and the fix for wrong input', () => {
    expect(() => parseMemory('12 potatoes')).toThrow(/--memory "12 potatoes" is not a memory size.*Fix: .*--memory 64GiB/);
    expect(() => parseMemory('64')).toThrow(InvalidClusterInputError);
    expect(() => parseMemory('-4GiB')).toThrow(/not a memory size/);
    expect(() => parseMemory('512MiB')).toThrow(/below 1GiB/);
    expect(() => parseMemory('900TiB')).toThrow(/typo/);
  });
});

describe('computeSettings', () => {
  it('gives the seed values for 64GiB, each with a reason', () => {
    const s = computeSettings({ memoryBytes: 64 * GiB });
    const m = settingsMap(s.postgres);
    expect(m).toMatchObject({
      max_connections: '100',
      shared_buffers: '16GB',
      effective_cache_size: '48GB',
      work_mem: '64MB',
      maintenance_work_mem: '512MB',
      wal_level: 'replica',
      max_wal_size: '2GB',
      shared_preload_libraries: 'pg_stat_statements',
      password_encryption: 'scram-sha-256',
      log_lock_waits: 'on',
      log_connections: 'on',
      ssl: 'on',
      archive_mode: 'on',
    });
    expect(m.log_min_duration_statement).toMatch(/ms$/);
    for (const x of s.postgres) expect(x.reason.length, x.name).toBeGreaterThan(10);
    expect(new Set(s.postgres.map((x) => x.name)).size).toBe(s.postgres.length);
  });

  it('rounds shared_buffers to whole MB for odd sizes', () => {
    const m = settingsMap(computeSettings({ memoryBytes: parseMemory('3GiB') }).postgres);
    expect(m.shared_buffers).toBe('768MB');
    expect(m.effective_cache_size).toBe('2304MB');
  });

  it('caps PgBouncer so pool + headroom + superuser-reserved = max_connections', () => {
    const { pool } = computeSettings({ memoryBytes: 8 * GiB });
    expect(pool.maxClientConn).toBe(500);
    expect(pool.maxDbConnections + pool.directHeadroom + pool.superuserReserved).toBe(100);
    expect(pool.defaultPoolSize).toBeLessThanOrEqual(pool.maxDbConnections);
    const bigger = computeSettings({ memoryBytes: 8 * GiB, overrides: { max_connections: '200' } }).pool;
    expect(bigger.maxDbConnections).toBe(180);
  });

  it('reserves WAL archiving into the layout folder', () => {
    const layout = clusterLayout('/srv/c1');
    const m = settingsMap(computeSettings({ memoryBytes: 8 * GiB, layout }).postgres);
    expect(m.archive_library).toBe('basic_archive');
    expect(m['basic_archive.archive_directory']).toBe('/srv/c1/backups/wal-archive');
    expect(m.archive_timeout).toBe('5min');
    expect(m.ssl_cert_file).toBe('/srv/c1/tls/server.crt');
    expect(m.unix_socket_directories).toBe('/srv/c1/run');
  });

  it('keeps host-only settings out of the portable set', () => {
    const portable = settingsMap(computeSettings({ memoryBytes: 8 * GiB, layout: clusterLayout('/srv/c1') }).postgres, 'portable');
    expect(portable).not.toHaveProperty('ssl');
    expect(portable).not.toHaveProperty('archive_mode');
    expect(portable).not.toHaveProperty('listen_addresses');
    expect(portable).toHaveProperty('shared_buffers');
  });

  it('applies overrides and rejects ones that cannot work', () => {
    expect(settingsMap(computeSettings({ memoryBytes: 8 * GiB, overrides: { work_mem: '128MB' } }).postgres).work_mem).toBe('128MB');
    expect(() => computeSettings({ memoryBytes: 8 * GiB, overrides: { 'Work Mem': '1' } })).toThrow(/not a PostgreSQL setting name/);
    expect(() => computeSettings({ memoryBytes: 8 * GiB, overrides: { wal_level: 'minimal' } })).toThrow(
      /wal_level=minimal cannot be combined/,
    );
    expect(() => computeSettings({ memoryBytes: 8 * GiB, overrides: { max_connections: '25' } })).toThrow(/at least 30/);
    expect(() => parseOverrides(['work_mem'])).toThrow(/not name=value/);
    expect(parseOverrides(['work_mem = 1MB'])).toEqual({ work_mem: '1MB' });
  });

  it('renders postgresql.conf with quoted values and a reason comment per line', () => {
    const conf = renderPostgresqlConf([{ name: 'log_line_prefix', value: "it's %m", reason: 'why', scope: 'host' }]);
    expect(conf).toBe("log_line_prefix = 'it''s %m'  # why\n");
  });
});

describe('validateSettingsWithServer (the real postgres -C)', () => {
  // mkdtemp makes 0700: let the server's OS user (postgres, when root) pass through to the binary copy
  const binRoot = mkdtempSync('/tmp/cluster-bin-');
  chmodSync(binRoot, 0o711);
  const binaries = locateBinaries(serverRunAs(), join(binRoot, 'cache'));

  it('accepts the computed settings', async () => {
    const layout = clusterLayout('/srv/c1');
    await expect(
      validateSettingsWithServer(binaries.postgres, computeSettings({ memoryBytes: 64 * GiB, layout }).postgres),
    ).resolves.toBeUndefined();
  });

  it("reports PostgreSQL's own message for a value it rejects", async () => {
    const bad = computeSettings({ memoryBytes: 8 * GiB, overrides: { work_mem: 'potato', max_connections: '100000000' } }).postgres;
    const err = await validateSettingsWithServer(binaries.postgres, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SettingsRejectedError);
    expect((err as Error).message).toMatch(/invalid value for parameter "work_mem": "potato"/);
  });

  it('rejects an unknown setting name', async () => {
    const bad = computeSettings({ memoryBytes: 8 * GiB, overrides: { no_such_setting: '1' } }).postgres;
    await expect(validateSettingsWithServer(binaries.postgres, bad)).rejects.toThrow(
      /unrecognized configuration parameter "no_such_setting"/,
    );
  });
});

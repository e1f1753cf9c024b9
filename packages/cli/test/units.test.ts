import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '@stellaops/safe-text';
import { downTarget } from '../src/commands/migrate/down.js';
import { CONNECTION_ENV, modulePackageName, resolveConnection, UsageError } from '../src/index.js';
import { renderTable } from '../src/output/table.js';

describe('resolveConnection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stella-db-config-'));
  writeFileSync(
    join(dir, 'appsettings.json'),
    JSON.stringify({ Postgres: { ConnectionString: 'Host=db.local;Port=6000;Database=app;Username=svc;Password=p' } }),
  );
  writeFileSync(join(dir, 'empty.json'), '{}');

  it('prefers --url, then --config, then the environment; normalizes Npgsql strings', async () => {
    const env = { [CONNECTION_ENV]: 'postgres://env@h/envdb' };
    expect(await resolveConnection({ url: 'postgres://u@h/x', config: 'appsettings.json' }, env, dir)).toMatch(
      /^postgres:\/\/u@h(:5432)?\/x$/,
    );
    expect(await resolveConnection({ config: 'appsettings.json' }, env, dir)).toMatch(/^postgres(ql)?:\/\/svc:p@db\.local:6000\/app/);
    expect(await resolveConnection({}, env, dir)).toMatch(/^postgres:\/\/env@h(:5432)?\/envdb$/);
  });

  it('is a usage error when missing or malformed', async () => {
    await expect(resolveConnection({}, {}, dir)).rejects.toThrow(UsageError);
    await expect(resolveConnection({ config: 'empty.json' }, {}, dir)).rejects.toThrow(/no Postgres.ConnectionString/);
    await expect(resolveConnection({ config: 'missing.json' }, {}, dir)).rejects.toThrow(UsageError);
    await expect(resolveConnection({ url: 'not a connection string' }, {}, dir)).rejects.toThrow(UsageError);
  });
});

describe('small pieces', () => {
  it('downTarget needs exactly one of --to, --steps, --all', () => {
    expect(downTarget({ to: 'V1' })).toEqual({ to: 'V1' });
    expect(downTarget({ steps: 2 })).toEqual({ steps: 2 });
    expect(downTarget({ all: true })).toEqual({ all: true });
    expect(() => downTarget({})).toThrow(UsageError);
    expect(() => downTarget({ to: 'V1', all: true })).toThrow(UsageError);
  });

  it('modulePackageName maps short names to @stellaops/module-*', () => {
    expect(modulePackageName('authority')).toBe('@stellaops/module-authority');
    expect(modulePackageName('@acme/migrations')).toBe('@acme/migrations');
  });

  it('redactSecrets hides role passwords in SQL statements', () => {
    expect(redactSecrets("create role app login password 'se''cret' valid until 'infinity'")).toBe(
      "create role app login password '***' valid until 'infinity'",
    );
    expect(redactSecrets('ALTER ROLE app PASSWORD $p$hunter2$p$')).toBe("ALTER ROLE app PASSWORD '***'");
  });

  it('redactSecrets hides passwords in URLs and keyword strings inside free text', () => {
    const text = 'failed for postgres://svc:hunter2@db/app and Host=db;Password=hunter2;Database=x';
    expect(redactSecrets(text)).not.toContain('hunter2');
    expect(redactSecrets(text)).toContain('postgres://svc:***@db/app');
  });

  it('renderTable aligns columns and prints null as -', () => {
    expect(
      renderTable(
        ['ID', 'STATE'],
        [
          ['V1', 'applied'],
          ['V10_long', null],
        ],
      ),
    ).toBe('ID        STATE\n--------  -------\nV1        applied\nV10_long  -\n');
  });
});

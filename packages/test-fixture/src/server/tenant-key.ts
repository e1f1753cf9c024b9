import { createHash, createHmac } from 'node:crypto';
import type { ServerAddress } from '../util/connection-url.js';

/** The tenant key options of a test server, shaped to spread into `@stellaops/postgres-core`'s options. */
export interface FixtureTenantKey {
  /** Key id installed in every template of this server (`fx` + 10 hex of the key's hash). */
  tenantKeyId: string;
  /** The secret (43 characters, base64url). Test-only: derived from the server's superuser credentials. */
  tenantKey: string;
}

/**
 * The tenant key of a test server: HMAC-SHA256 of its superuser credentials
 * (not its port: the shared embedded server may come back on another port
 * with its templates), so it is the same in every worker and run that uses
 * this server and different for every other superuser password. Templates are
 * keyed by the key id too, so a changed key never meets an old template. Test-only: anyone who knows the superuser password can
 * read the key table anyway.
 *
 * @example
 * ```ts
 * createDataSource({ connectionString: appUrl, ...fixtureTenantKey(server.info) });
 * ```
 */
export function fixtureTenantKey(server: ServerAddress): FixtureTenantKey {
  const tenantKey = createHmac('sha256', 'stellaops test-fixture tenant key v1')
    .update(`${server.user}\0${server.password}`)
    .digest('base64url');
  return { tenantKeyId: `fx${createHash('sha256').update(tenantKey).digest('hex').slice(0, 10)}`, tenantKey };
}

// Connection strings are `@stellaops/postgres-core`'s business: Npgsql keyword
// strings and URLs are normalized to a `postgres://` URL there, and passwords
// are redacted there. This module is the migrator's one seam to it.
export { normalizeConnectionString, redactConnectionString } from '@stellaops/postgres-core';

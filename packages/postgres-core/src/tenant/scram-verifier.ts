import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/**
 * A SCRAM-SHA-256 verifier for `password`, in the form PostgreSQL stores
 * (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, RFC 5802/7677).
 * Sending `PASSWORD '<verifier>'` instead of the password keeps the plaintext
 * out of SQL text, and so out of server logs (`log_statement`, failed-statement
 * logging) and `pg_stat_activity`.
 *
 * @param password the password (NFKC-normalized, close to SASLprep for the printable passwords roles use)
 * @param iterations PBKDF2 rounds; PostgreSQL's default is 4096
 * @internal
 */
export function scramSha256Verifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

import { chmodSync, chownSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterComponent, ClusterContext, ComponentStatus } from './component.js';
import { ComponentError } from './errors.js';
import { ensureDir, runProgram } from './proc.js';

/** The lookup role PgBouncer's auth_query runs as; it logs in with a client certificate, no password. */
export const AUTH_ROLE = 'stellaops_pgbouncer_auth';

/**
 * The local certificate authority and the certificates signed by it, made
 * with Debian's `openssl` on first `up` and kept: a CA (10 years), a server
 * certificate (SAN localhost, 127.0.0.1, ::1; 825 days) used by PostgreSQL
 * and by PgBouncer towards clients, and a client certificate (CN
 * `stellaops_pgbouncer_auth`) PgBouncer logs in with for its auth lookups.
 * Private keys are 0600 and never printed; the CA key stays with this user.
 */
export class TlsComponent implements ClusterComponent {
  readonly name = 'tls';

  async start(ctx: ClusterContext): Promise<ComponentStatus> {
    const { tls, tlsDir } = ctx.layout;
    ensureDir(tlsDir, ctx.runAs ? 0o711 : 0o700);
    if (![tls.caCert, tls.caKey, tls.serverCert, tls.serverKey, tls.authClientCert, tls.authClientKey].every((f) => existsSync(f))) {
      ctx.progress('creating the local CA and certificates (openssl)');
      await this.#create(ctx);
    }
    return this.status(ctx);
  }

  async stop(): Promise<void> {
    // files only: nothing runs
  }

  async status(ctx: ClusterContext): Promise<ComponentStatus> {
    const { tls } = ctx.layout;
    if (!existsSync(tls.caCert) || !existsSync(tls.serverCert)) return { name: this.name, state: 'missing' };
    const r = await runProgram(ctx.programs.openssl!, ['x509', '-in', tls.serverCert, '-noout', '-enddate']).catch(() => undefined);
    const until = r?.output.trim().replace(/^notAfter=/, '');
    return { name: this.name, state: 'ready', tls: 'local CA', detail: `server certificate valid until ${until ?? '?'}; CA ${tls.caCert}` };
  }

  async #create(ctx: ClusterContext): Promise<void> {
    const { tls, tlsDir } = ctx.layout;
    const openssl = ctx.programs.openssl!;
    // everything is made in a private scratch folder, then moved into place
    const work = mkdtempSync(join(tlsDir, '.new-'));
    const f = (name: string) => join(work, name);
    const run = async (args: string[]) => {
      const r = await runProgram(openssl, args, { cwd: work });
      if (r.code !== 0)
        throw new ComponentError(
          this.name,
          `openssl ${args[0]} failed (exit ${r.code}).`,
          r.output.replace(/-----BEGIN[\s\S]*?-----END[^\n]*/g, '[redacted]'),
        );
    };
    try {
      const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
      await run([
        'req',
        '-x509',
        '-new',
        ...key,
        '-keyout',
        f('ca.key'),
        '-out',
        f('ca.crt'),
        '-days',
        '3650',
        '-subj',
        '/CN=StellaOps local cluster CA',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]);
      writeFileSync(
        f('server.ext'),
        'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n',
      );
      writeFileSync(
        f('client.ext'),
        'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
      );
      /** A key and a certificate `<name>.crt` for `subject`, signed by the CA with the extensions of `ext`. */
      const issue = async (name: string, subject: string, ext: string): Promise<void> => {
        await run(['req', '-new', ...key, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subject]);
        await run([
          'x509',
          '-req',
          '-in',
          f(`${name}.csr`),
          '-CA',
          f('ca.crt'),
          '-CAkey',
          f('ca.key'),
          '-CAcreateserial',
          '-days',
          '825',
          '-sha256',
          '-extfile',
          f(ext),
          '-out',
          f(`${name}.crt`),
        ]);
      };
      await issue('server', '/CN=localhost', 'server.ext');
      await issue('auth', `/CN=${AUTH_ROLE}`, 'client.ext');
      for (const k of ['ca.key', 'server.key', 'auth.key']) chmodSync(f(k), 0o600);
      for (const c of ['ca.crt', 'server.crt', 'auth.crt']) chmodSync(f(c), 0o644);
      // the server and PgBouncer run as the server's OS user and must own their keys (PostgreSQL checks that)
      if (ctx.runAs) for (const k of ['server.key', 'auth.key']) chownSync(f(k), ctx.runAs.uid, ctx.runAs.gid);
      renameSync(f('ca.key'), tls.caKey);
      renameSync(f('ca.crt'), tls.caCert);
      renameSync(f('server.key'), tls.serverKey);
      renameSync(f('server.crt'), tls.serverCert);
      renameSync(f('auth.key'), tls.authClientKey);
      renameSync(f('auth.crt'), tls.authClientCert);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}

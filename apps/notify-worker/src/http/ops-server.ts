import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ReadinessReport } from '../readiness/readiness.js';

/** What the operations endpoints ask. */
export interface OpsHandlers {
  /** Readiness (`/readyz`); called per request. */
  readiness(): Promise<ReadinessReport>;
  /** The metrics registry (`/metrics`). */
  registry: Registry;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * The worker's operations HTTP server: `GET /healthz` (liveness: the process
 * and its event loop answer), `GET /readyz` (200 or 503 with the reasons as
 * JSON), `GET /metrics` (Prometheus text format). Nothing else; no request
 * body is read.
 *
 * @example
 * ```ts
 * const ops = await OpsServer.listen('127.0.0.1', 8080, { readiness: () => readiness.check(), registry: metrics.registry });
 * ops.port; // 8080
 * ```
 */
export class OpsServer {
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Starts listening (port 0: a free one, see {@link port}). */
  static async listen(host: string, port: number, handlers: OpsHandlers): Promise<OpsServer> {
    const server = createServer((req, res) => void OpsServer.#handle(req, res, handlers));
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new OpsServer(server);
  }

  /** The port listened on. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening and closes open connections. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  static async #handle(req: IncomingMessage, res: ServerResponse, h: OpsHandlers): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
      switch (path) {
        case '/healthz':
          return send(res, 200, 'application/json', JSON.stringify({ status: 'ok' }));
        case '/readyz': {
          const r = await h.readiness();
          return send(res, r.ready ? 200 : 503, 'application/json', JSON.stringify(r));
        }
        case '/metrics':
          return send(res, 200, h.registry.contentType, await h.registry.metrics());
        default:
          return send(res, 404, 'text/plain', 'not found: try /healthz, /readyz or /metrics\n');
      }
    } catch {
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    }
  }
}

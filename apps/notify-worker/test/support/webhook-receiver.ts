// A webhook receiver on loopback that records every request.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One received webhook call. */
export interface Received {
  deliveryId: string;
  tenant: string;
  idempotencyKey: string;
  attempt: number;
  payload: unknown;
}

/** Decides the answer to one call: status and delay (ms). */
export type Responder = (r: Received) => { status: number; delayMs?: number };

export class WebhookReceiver {
  readonly received: Received[] = [];
  responder: Responder = () => ({ status: 204 });
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<WebhookReceiver> {
    const holder: { self?: WebhookReceiver } = {};
    const server = createServer((req, res) => {
      const self = holder.self;
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        const j = JSON.parse(body) as { id: string; tenant: string; idempotencyKey: string; attempt: number; payload: unknown };
        const r: Received = {
          deliveryId: j.id,
          tenant: j.tenant,
          idempotencyKey: req.headers['idempotency-key'] as string,
          attempt: j.attempt,
          payload: j.payload,
        };
        const answer = self!.responder(r);
        const reply = () => {
          // only answered calls count as received (an aborted one never got its answer)
          if (!res.destroyed) {
            if (answer.status < 300) self!.received.push(r);
            res.writeHead(answer.status).end();
          }
        };
        if (answer.delayMs) setTimeout(reply, answer.delayMs);
        else reply();
      });
    });
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.self = new WebhookReceiver(server);
    return holder.self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  /** Received successful calls per idempotency key. */
  counts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const r of this.received) m.set(r.idempotencyKey, (m.get(r.idempotencyKey) ?? 0) + 1);
    return m;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

import { isIP } from 'node:net';
import type { Channel, Delivery } from '@stellaops/module-notify';

/**
 * What became of one attempt: `delivered`; `retry` (worth another attempt
 * after the backoff: network error, timeout, HTTP 408/429/5xx); `permanent`
 * (the receiver rejected it or the channel cannot be used: dead-letter now);
 * `aborted` (the worker is shutting down: give the delivery back).
 */
export type SendOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; error: string }
  | { kind: 'permanent'; error: string }
  | { kind: 'aborted'; error: string };

/** Sends one delivery through its channel. */
export interface ChannelSender {
  /**
   * @param channel the delivery's channel (read in the delivery's tenant session)
   * @param delivery the claimed delivery
   * @param signals `shutdown` aborts when the worker gives up in-flight work
   */
  send(channel: Channel, delivery: Delivery, signals: { shutdown: AbortSignal }): Promise<SendOutcome>;
}

/** Whether a host name is loopback (plain HTTP is allowed only there). */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/** Reads `config.url` of a webhook channel; a problem is a permanent failure. */
function webhookUrl(channel: Channel): URL | string {
  const raw = (channel.config as Record<string, unknown> | null)?.url;
  if (typeof raw !== 'string') return 'webhook channel has no "url" in its config';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'webhook channel "url" is not a valid URL';
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return url;
  return url.protocol === 'http:'
    ? 'webhook channel "url" must be https (plain http is allowed only to loopback)'
    : `webhook channel "url" has unsupported scheme ${url.protocol.replace(':', '')}`;
}

/**
 * Delivers to `webhook` channels: one `POST` of JSON `{ id, tenant,
 * idempotencyKey, attempt, payload }` with an `Idempotency-Key` header
 * (`<tenant>:<key>`) so receivers can drop the rare repeat (deliveries are
 * at-least-once). Redirects are not followed. Plain `http:` only to loopback.
 * Error texts name the host, never the URL (webhook URLs often carry tokens).
 *
 * @example
 * ```ts
 * const outcome = await new WebhookSender({ timeoutMs: 10_000 }).send(channel, delivery, { shutdown: controller.signal });
 * ```
 */
export class WebhookSender implements ChannelSender {
  readonly #timeoutMs: number;

  /** @param options `timeoutMs`: bound on one call (connect + response) */
  constructor(options: { timeoutMs: number }) {
    this.#timeoutMs = options.timeoutMs;
  }

  async send(channel: Channel, delivery: Delivery, signals: { shutdown: AbortSignal }): Promise<SendOutcome> {
    if (channel.kind !== 'webhook') return { kind: 'permanent', error: `channel kind "${channel.kind}" has no sender in notify-worker` };
    if (!channel.enabled) return { kind: 'permanent', error: 'channel is disabled' };
    const url = webhookUrl(channel);
    if (typeof url === 'string') return { kind: 'permanent', error: url };
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const body = JSON.stringify({
      id: delivery.id,
      tenant: delivery.tenant_id,
      idempotencyKey: delivery.idempotency_key,
      attempt: delivery.attempts,
      payload: delivery.payload,
    });
    try {
      const res = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.any([signals.shutdown, timeout]),
        headers: {
          'content-type': 'application/json',
          'idempotency-key': `${delivery.tenant_id}:${delivery.idempotency_key}`,
          'x-stellaops-delivery': delivery.id,
          'x-stellaops-tenant': delivery.tenant_id,
          'user-agent': 'stellaops-notify-worker',
        },
        body,
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { kind: 'delivered', status: res.status };
      const error = `HTTP ${res.status} from ${url.host}`;
      if (res.status === 408 || res.status === 429 || res.status >= 500) return { kind: 'retry', error };
      return { kind: 'permanent', error: res.status >= 300 && res.status < 400 ? `${error} (redirects are not followed)` : error };
    } catch (e) {
      if (signals.shutdown.aborted) return { kind: 'aborted', error: 'worker shutting down' };
      if (timeout.aborted) return { kind: 'retry', error: `no answer from ${url.host} within ${this.#timeoutMs} ms` };
      const code = (e as { cause?: { code?: string } }).cause?.code;
      return { kind: 'retry', error: `cannot reach ${url.host}${code ? ` (${code})` : ''}` };
    }
  }
}

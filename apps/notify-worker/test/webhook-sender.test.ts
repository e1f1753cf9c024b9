// The webhook sender on its own: answers classified, plain http only to loopback, no URL in error texts.
import type { Channel, Delivery } from '@stellaops/module-notify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookSender } from '../src/index.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const delivery = { id: 'd1', tenant_id: 'acme', idempotency_key: 'k1', attempts: 2, payload: { a: [1, 2] } } as unknown as Delivery;
const channel = (config: Record<string, unknown>, over: Partial<Channel> = {}) =>
  ({ kind: 'webhook', enabled: true, config, ...over }) as unknown as Channel;
const never = new AbortController().signal;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
});
afterAll(() => receiver.close());

describe('WebhookSender', () => {
  it('posts the delivery as JSON with an idempotency key, and classifies answers', async () => {
    const sender = new WebhookSender({ timeoutMs: 2_000 });
    receiver.responder = () => ({ status: 202 });
    expect(await sender.send(channel({ url: receiver.url }), delivery, { shutdown: never })).toEqual({ kind: 'delivered', status: 202 });
    expect(receiver.received.at(-1)).toEqual({
      deliveryId: 'd1',
      tenant: 'acme',
      idempotencyKey: 'acme:k1',
      attempt: 2,
      payload: { a: [1, 2] },
    });
    const host = new URL(receiver.url).host;
    for (const [status, kind] of [
      [500, 'retry'],
      [503, 'retry'],
      [429, 'retry'],
      [408, 'retry'],
      [400, 'permanent'],
      [404, 'permanent'],
      [301, 'permanent'],
    ] as const) {
      receiver.responder = () => ({ status });
      const out = await sender.send(channel({ url: `${receiver.url}?token=s3cret` }), delivery, { shutdown: never });
      expect(out.kind, String(status)).toBe(kind);
      expect('error' in out && out.error, String(status)).toMatch(new RegExp(`^HTTP ${status} from ${host.replace(/\./g, '\\.')}`));
      expect(JSON.stringify(out)).not.toContain('s3cret');
    }
  });

  it('retries a receiver that does not answer in time, and reports a shutdown as aborted', async () => {
    receiver.responder = () => ({ status: 204, delayMs: 1_500 });
    expect(await new WebhookSender({ timeoutMs: 200 }).send(channel({ url: receiver.url }), delivery, { shutdown: never })).toEqual({
      kind: 'retry',
      error: expect.stringMatching(/^no answer from 127\.0\.0\.1:\d+ within 200 ms$/),
    });
    const stop = new AbortController();
    const pending = new WebhookSender({ timeoutMs: 5_000 }).send(channel({ url: receiver.url }), delivery, { shutdown: stop.signal });
    setTimeout(() => stop.abort(), 100);
    expect(await pending).toEqual({ kind: 'aborted', error: 'worker shutting down' });
  });

  it('refuses plain http beyond loopback, other schemes, bad config, disabled channels and other kinds — permanently, without a request', async () => {
    const sender = new WebhookSender({ timeoutMs: 1_000 });
    const before = receiver.received.length;
    const cases: Array<[Channel, string]> = [
      [channel({ url: 'http://hooks.example.com/x' }), 'webhook channel "url" must be https (plain http is allowed only to loopback)'],
      [channel({ url: 'ftp://127.0.0.1/x' }), 'webhook channel "url" has unsupported scheme ftp'],
      [channel({ url: 'not a url' }), 'webhook channel "url" is not a valid URL'],
      [channel({}), 'webhook channel has no "url" in its config'],
      [channel({ url: receiver.url }, { enabled: false }), 'channel is disabled'],
      [channel({ to: 'ops@acme.test' }, { kind: 'email' }), 'channel kind "email" has no sender in notify-worker'],
    ];
    for (const [c, error] of cases) expect(await sender.send(c, delivery, { shutdown: never })).toEqual({ kind: 'permanent', error });
    expect(receiver.received.length).toBe(before);
  });
});

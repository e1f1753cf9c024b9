// Test/bench helper: a user-space TCP proxy adding a fixed delay to each direction.
// Runs in its own worker thread (so its work does not stall the measured client's
// event loop); a second "alarm" thread sleeps with Atomics.wait for sub-millisecond
// precision (Node timers only have 1 ms resolution).
import { Worker } from 'node:worker_threads';

const PROXY_SOURCE = String.raw`
const { parentPort, workerData, Worker } = require('node:worker_threads');
const net = require('node:net');
const { delayMs, targetPort } = workerData;
const ALARM = "const { parentPort } = require('node:worker_threads'); const sab = new Int32Array(new SharedArrayBuffer(4));" +
  "parentPort.on('message', (due) => { const ms = due - performance.timeOrigin - performance.now(); if (ms > 0) Atomics.wait(sab, 0, 0, ms); parentPort.postMessage(0); });";
const alarm = new Worker(ALARM, { eval: true });
const queue = []; // FIFO: constant delay, so due order = arrival order
let armed = false;
let lateness = 0.2; // EWMA of how late the alarm's wake-up message arrives (thread hop), ms
const now = () => performance.timeOrigin + performance.now();
function arm() { if (!armed && queue.length) { armed = true; alarm.postMessage(queue[0].due - lateness); } }
alarm.on('message', () => {
  armed = false;
  const t = now();
  if (queue.length) lateness = Math.max(0, Math.min(delayMs, lateness + 0.1 * (t - (queue[0].due - lateness) - lateness)));
  while (queue.length && queue[0].due <= t + 0.05) { const it = queue.shift(); if (!it.sock.destroyed) it.sock.write(it.chunk); }
  if (queue.length && queue[0].due <= t + lateness) {
    // Not yet due but closer than one wake-up: wait the rest here.
    const rest = new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(rest, 0, 0, Math.max(0, queue[0].due - now()));
    while (queue.length && queue[0].due <= now() + 0.05) { const it = queue.shift(); if (!it.sock.destroyed) it.sock.write(it.chunk); }
  }
  arm();
});
function pipe(from, to) {
  from.on('data', (chunk) => { queue.push({ due: now() + delayMs, sock: to, chunk }); arm(); });
  from.on('close', () => setTimeout(() => to.destroy(), delayMs + 1));
  from.on('error', () => to.destroy());
}
const server = net.createServer((client) => {
  client.setNoDelay(true);
  const upstream = net.connect(targetPort, '127.0.0.1');
  upstream.setNoDelay(true);
  pipe(client, upstream);
  pipe(upstream, client);
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => { server.close(); alarm.terminate(); process.exit(0); });
`;

/** A running delay proxy. */
export interface DelayProxy {
  port: number;
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port forwarding to `targetPort`, adding `delayMs` each way. */
export function startDelayProxy(targetPort: number, delayMs: number): Promise<DelayProxy> {
  return new Promise((resolve, reject) => {
    const w = new Worker(PROXY_SOURCE, { eval: true, workerData: { delayMs, targetPort } });
    w.once('error', reject);
    w.once('message', (port: number) =>
      resolve({
        port,
        close: async () => {
          w.postMessage('stop');
          await new Promise((r) => setTimeout(r, 50));
          await w.terminate();
        },
      }),
    );
  });
}

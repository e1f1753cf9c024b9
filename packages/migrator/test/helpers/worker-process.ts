import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { bundleEntry } from './bundle.js';

const workerEntry = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Bundles the worker once; `start(file)` spawns it with plain node. */
export function bundleWorker(): Promise<{ file: string; dispose: () => Promise<void> }> {
  return bundleEntry(workerEntry, 'worker');
}

/** Result line of a worker command. */
export interface WorkerReply {
  ok: boolean;
  applied?: string[];
  error?: string;
  code?: string;
  ms?: number;
}

/** A migration runner in a child process, driven line by line. */
export class WorkerProcess {
  private readonly lines: Interface;
  private readonly queue: ((line: string) => void)[] = [];
  private readonly buffered: string[] = [];
  stderr = '';

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (l) => {
      const waiter = this.queue.shift();
      if (waiter) waiter(l);
      else this.buffered.push(l);
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
  }

  /** Spawns the bundled worker `file` and waits until it has loaded. */
  static async start(file: string): Promise<WorkerProcess> {
    const child = spawn(process.execPath, [file], { stdio: 'pipe' });
    const w = new WorkerProcess(child);
    const first = await w.next();
    if (first !== 'ready') throw new Error(`worker did not start: ${first} ${w.stderr}`);
    return w;
  }

  private next(): Promise<string> {
    const b = this.buffered.shift();
    if (b !== undefined) return Promise.resolve(b);
    return new Promise((resolve, reject) => {
      this.queue.push(resolve);
      this.child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}): ${this.stderr}`)));
    });
  }

  /** Sends a command without waiting for the reply. */
  send(cmd: object): void {
    this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Sends a command and waits for its reply. */
  async run(cmd: object): Promise<WorkerReply> {
    this.send(cmd);
    return JSON.parse(await this.next()) as WorkerReply;
  }

  /** SIGKILL, then wait for the exit. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }

  /** Ends stdin and waits for a clean exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    await exited;
  }
}

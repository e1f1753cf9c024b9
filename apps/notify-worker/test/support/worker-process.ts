// Runs the real service as a child process (TypeScript source through tsx, workspace packages from source)
// and follows its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;

/** One JSON log line of the worker. */
export type LogLine = { level: string; msg: string; [k: string]: unknown };

/** A running worker process. */
export class WorkerProcess {
  readonly lines: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  #waiters: Array<() => void> = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ level: 'raw', msg: line });
        }
      }
      this.#notify();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.#notify();
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.#notify();
        resolve(code);
      }),
    );
  }

  /**
   * Starts the service with `env` (plus a config folder holding `appsettings`, default `{}`),
   * nothing inherited from this process except PATH/HOME/NODE-related variables.
   */
  static start(env: Record<string, string>, appsettings: object = {}): WorkerProcess {
    const dir = mkdtempSync(join(tmpdir(), 'notify-worker-'));
    writeFileSync(join(dir, 'appsettings.json'), JSON.stringify(appsettings));
    chmodSync(join(dir, 'appsettings.json'), 0o600);
    const child = spawn(process.execPath, ['--conditions=@stellaops/source', '--import', TSX, MAIN], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NOTIFY_WORKER_CONFIG_DIR: dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new WorkerProcess(child);
  }

  get pid(): number {
    return this.#child.pid!;
  }

  #notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Resolves with the first log line matching, or rejects when the process exits first / after `timeoutMs`. */
  async waitFor(pred: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(
          `worker exited (${this.#child.exitCode ?? this.#child.signalCode}) before the expected log line\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for a log line\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Waits until the delivery loop runs; returns the operations port. */
  async ready(): Promise<number> {
    const listening = await this.waitFor((l) => l.msg.startsWith('operations endpoints listening'));
    await this.waitFor((l) => l.msg === 'draining the notify delivery queue');
    return listening.port as number;
  }

  signal(sig: NodeJS.Signals): void {
    this.#child.kill(sig);
  }

  /** SIGKILL if still running (test cleanup). */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGKILL');
      await this.exited;
    }
  }
}

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * When the process started, from /proc (Linux): with the PID it names one
 * process for good, so a PID reused by another process is not taken for it.
 * `undefined` where /proc is not available.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True when a process with this PID exists (and, when `startTime` is given and /proc exists, is the same process). */
export function isAlive(pid: number, startTime?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startTime === undefined || startTime === '') return true;
  const now = processStartTime(pid);
  return now === undefined || now === startTime;
}

/**
 * Leases on a shared server: one file per user (`leases/<pid>-<id>`, holding
 * the process start time), so several users in one process are counted apart.
 * The server is stopped when no live lease remains.
 */
export class Leases {
  readonly #dir: string;

  constructor(cacheDir: string) {
    this.#dir = join(cacheDir, 'leases');
  }

  /** Records a lease of this process under `id` and returns the lease name. */
  add(id: string): string {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    const name = `${process.pid}-${id}`;
    writeFileSync(join(this.#dir, name), processStartTime(process.pid) ?? '');
    return name;
  }

  /** Removes a lease. */
  remove(name: string): void {
    rmSync(join(this.#dir, name), { force: true });
  }

  /** Removes leases of dead (or recycled) processes and returns the live lease names. */
  live(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return [];
    }
    const alive: string[] = [];
    for (const name of names) {
      const pid = Number(name.split('-')[0]);
      let started: string | undefined;
      try {
        started = readFileSync(join(this.#dir, name), 'utf8').trim();
      } catch {
        continue; // removed meanwhile
      }
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid, started)) alive.push(name);
      else rmSync(join(this.#dir, name), { force: true });
    }
    return alive;
  }
}

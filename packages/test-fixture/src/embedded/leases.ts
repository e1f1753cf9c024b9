import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** True when a process with this PID exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Leases on a shared server: one file per using process (`leases/<pid>`).
 * The server is stopped when no live process holds a lease.
 */
export class Leases {
  readonly #dir: string;

  constructor(cacheDir: string) {
    this.#dir = join(cacheDir, 'leases');
  }

  /** Records that `pid` uses the server. */
  add(pid: number): void {
    mkdirSync(this.#dir, { recursive: true });
    writeFileSync(join(this.#dir, String(pid)), JSON.stringify({ pid, since: new Date().toISOString() }));
  }

  /** Removes the lease of `pid`. */
  remove(pid: number): void {
    rmSync(join(this.#dir, String(pid)), { force: true });
  }

  /** Removes leases of dead processes and returns the PIDs still alive. */
  live(): number[] {
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return [];
    }
    const alive: number[] = [];
    for (const name of names) {
      const pid = Number(name);
      if (Number.isInteger(pid) && isAlive(pid)) alive.push(pid);
      else rmSync(join(this.#dir, name), { force: true });
    }
    return alive;
  }
}

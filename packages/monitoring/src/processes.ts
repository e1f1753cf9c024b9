import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { redactSecrets } from '@stellaops/safe-text';

/** A component process as recorded in the state file. */
export interface ProcessRecord {
  /** Component name (`prometheus`, `postgres-exporter`, `pgbouncer-exporter`). */
  name: string;
  pid: number;
  /** Loopback port it listens on. */
  port: number;
  /** An argument only this process has; guards against signalling a reused PID. */
  marker: string;
  logFile: string;
}

/** How children spawned by this process ended, by PID (`exit code 1`, `killed by SIGKILL`). */
const exits = new Map<number, string>();

/**
 * How a process spawned by {@link spawnDetached} in this process ended, or
 * `undefined` while it runs (or when another process started it).
 */
export function exitStatus(pid: number): string | undefined {
  return exits.get(pid);
}

/** Spawns `command` detached (it outlives this process), output appended to `logFile`. */
export function spawnDetached(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): number {
  const fd = openSync(logFile, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env });
    child.on('error', () => undefined); // reported through the readiness check
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not spawn ${command}`);
    exits.delete(pid); // a reused PID
    child.once('exit', (code, signal) => exits.set(pid, signal ? `killed by ${signal}` : `exit code ${code}`));
    return pid;
  } finally {
    closeSync(fd);
  }
}

/** True when `record.pid` is alive and still the process we started (its command line has the marker). */
export function isRunning(record: ProcessRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
    // a zombie has an empty command line: it is gone
    return cmdline.split('\0').some((a) => a.includes(record.marker));
  } catch {
    return false;
  }
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. Returns true when it had to stop something. */
export async function stopProcess(record: ProcessRecord, graceMs = 10_000): Promise<boolean> {
  if (!isRunning(record)) return false;
  process.kill(record.pid, 'SIGTERM');
  const deadline = performance.now() + graceMs;
  while (isRunning(record)) {
    if (performance.now() > deadline) {
      process.kill(record.pid, 'SIGKILL');
      await sleep(50);
      break;
    }
    await sleep(25);
  }
  // a child of this process stays a zombie until Node reaps it: wait for that too, so
  // "stopped" means the PID is gone (an orphan is reaped by init; give up after 2 s)
  const reapDeadline = performance.now() + 2000;
  while (performance.now() < reapDeadline && pidExists(record.pid)) await sleep(20);
  return true;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The last `lines` lines of a log with every given secret (and anything password-like) replaced by `***`. */
export function logTail(file: string, secrets: readonly string[], lines = 15): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  return redactSecrets(text.trimEnd().split('\n').slice(-lines).join('\n'), { secrets });
}

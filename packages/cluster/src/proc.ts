import { spawn } from 'node:child_process';
import { chownSync, closeSync, constants, existsSync, fchownSync, lstatSync, mkdirSync, openSync, readFileSync, chmodSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { RunAs } from '@stellaops/embedded-server';
import { redactSecrets } from '@stellaops/safe-text';
import { ClusterStateError } from './errors.js';

/** Runs a program to completion; resolves with its exit code and output. */
export function runProgram(
  cmd: string,
  args: readonly string[],
  options: { runAs?: RunAs | undefined; timeoutMs?: number; cwd?: string } = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
      env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** True when `pid` is a live process. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a live process, or undefined. */
export function cmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/**
 * Opens a log file for appending (created 0600, no symlink followed),
 * owned by `runAs`, and returns its descriptor.
 */
export function openLog(file: string, runAs: RunAs | undefined): number {
  const fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  if (runAs) fchownSync(fd, runAs.uid, runAs.gid);
  return fd;
}

/** Closes a descriptor, ignoring errors. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/**
 * Creates `dir` (or checks it: a real folder, no symlink) owned by `owner`
 * (this user when undefined) with `mode`.
 */
export function ensureDir(dir: string, mode: number, owner?: RunAs): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st) mkdirSync(dir, { mode });
  else if (!st.isDirectory())
    throw new ClusterStateError(
      `${dir} is not a folder (or is a symbolic link). Fix: move it away; the cluster creates its folders itself.`,
    );
  chmodSync(dir, mode);
  if (owner) chownSync(dir, owner.uid, owner.gid);
}

/**
 * Finds a program: the override when given (must exist), else the first
 * `name` on PATH or in /usr/sbin, /usr/bin, /sbin, /bin.
 */
export function findProgram(name: string, override?: string): string | undefined {
  if (override !== undefined) return existsSync(override) ? override : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const d of dirs) {
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The last `lines` lines of a log file, with anything password-like redacted. */
export function logTail(file: string, lines = 20): string {
  try {
    return redactSecrets(readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n'));
  } catch {
    return '';
  }
}

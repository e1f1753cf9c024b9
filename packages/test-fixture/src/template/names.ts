import { createHash } from 'node:crypto';
import { hostname } from 'node:os';

/** The fixture's database names: `fx_t_` templates, `fx_c_` clones, `fx_b_` templates being built, `fx_keep_` kept clones. */
export const PREFIX = { template: 'fx_t_', clone: 'fx_c_', building: 'fx_b_', kept: 'fx_keep_' } as const;

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Four hex digits naming this machine, so runs on other machines sharing a server are never swept. */
export const HOST_TAG = sha(hostname()).slice(0, 4);

/**
 * Tag of a test run: host, the PID of the process that owns the run (vitest's
 * main process) and a per-server nonce (two servers in one process differ).
 */
export function runTagFor(pid: number, nonce: string): string {
  return `${HOST_TAG}_${pid.toString(36)}_${nonce}`;
}

/** A short random nonce for {@link runTagFor}: lowercase letters and digits. */
export function newNonce(): string {
  return Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0');
}

/** Lower-case letters, digits and `_` only, at most `max` characters. */
export function slug(s: string, max: number): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'x'
  ).slice(0, max);
}

/** Sixteen hex digits of SHA-256 over the given parts. */
export function shortHash(...parts: string[]): string {
  return sha(parts.join('\0')).slice(0, 16);
}

let seq = 0;

/** A new clone name owned by `runTag`, unique across the worker processes of the run. */
export function nextCloneName(runTag: string): string {
  seq += 1;
  return `${PREFIX.clone}${runTag}_${process.pid.toString(36)}_${seq.toString(36)}`;
}

/** Name a template is built under before it is complete. */
export function buildingName(key: string, runTag: string): string {
  return `${PREFIX.building}${key}_${runTag}_${process.pid.toString(36)}`;
}

/** Name a clone gets when it is kept for debugging. */
export function keptName(clone: string): string {
  return clone.startsWith(PREFIX.clone) ? PREFIX.kept + clone.slice(PREFIX.clone.length) : `${PREFIX.kept}${clone}`.slice(0, 63);
}

/** The run that owns a clone or building template, when the name is one of ours. */
export function ownerOf(datname: string): { host: string; pid: number; runTag: string } | undefined {
  const m =
    /^fx_c_([0-9a-f]{4})_([0-9a-z]+)_([0-9a-z]{4})_/.exec(datname) ??
    /^fx_b_[0-9a-f]{16}_([0-9a-f]{4})_([0-9a-z]+)_([0-9a-z]{4})_/.exec(datname);
  if (!m) return undefined;
  const host = m[1]!;
  const pid = parseInt(m[2]!, 36);
  return { host, pid, runTag: `${host}_${m[2]}_${m[3]}` };
}

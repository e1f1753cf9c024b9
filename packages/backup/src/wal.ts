import { readdirSync } from 'node:fs';
import { WalSegmentMissingError } from './errors.js';

/** A write-ahead-log position, `X/Y` in PostgreSQL's text form. */
export type Lsn = string;

const LSN_RE = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i;
const SEGMENT_RE = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;

/** True when `text` is an LSN such as `0/3000060`. */
export function isLsn(text: string): boolean {
  return LSN_RE.test(text);
}

/**
 * The LSN as a bigint, for comparisons.
 *
 * @example
 * ```ts
 * lsnToBigInt('1/0') === 0x1_0000_0000n
 * ```
 */
export function lsnToBigInt(lsn: Lsn): bigint {
  const m = LSN_RE.exec(lsn);
  if (!m) throw new TypeError(`"${lsn}" is not an LSN (expected hex X/Y such as 0/3000060)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** -1, 0 or 1 as `a` is before, at or after `b`. */
export function compareLsn(a: Lsn, b: Lsn): number {
  const x = lsnToBigInt(a);
  const y = lsnToBigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A WAL segment: timeline plus its number counted from the start of the WAL. */
export interface WalSegment {
  timeline: number;
  /** Segment number (LSN / segment size). */
  number: bigint;
}

/** Parses a segment file name (`TTTTTTTTXXXXXXXXYYYYYYYY`); `undefined` for anything else. */
export function parseSegmentName(name: string, segmentSize: number): WalSegment | undefined {
  const m = SEGMENT_RE.exec(name);
  if (!m) return undefined;
  const perLogId = 0x1_0000_0000n / BigInt(segmentSize);
  return { timeline: Number.parseInt(m[1] ?? '', 16), number: BigInt(`0x${m[2]}`) * perLogId + BigInt(`0x${m[3]}`) };
}

/** The file name of a segment. */
export function segmentName(seg: WalSegment, segmentSize: number): string {
  const perLogId = 0x1_0000_0000n / BigInt(segmentSize);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(seg.timeline)}${hex(seg.number / perLogId)}${hex(seg.number % perLogId)}`;
}

/** The segment holding the byte just before `lsn` (where a record ending at `lsn` lives), like `pg_walfile_name()`. */
export function segmentOfLsn(lsn: Lsn, timeline: number, segmentSize: number): WalSegment {
  const v = lsnToBigInt(lsn);
  return { timeline, number: (v === 0n ? 0n : v - 1n) / BigInt(segmentSize) };
}

/** What the WAL archive folder holds. */
export interface WalArchiveContents {
  /** Segment file names, sorted. */
  segments: string[];
  /** Timeline history files (`00000002.history`). */
  histories: string[];
  /** Backup history files (`*.backup`) written by `pg_backup_stop`. */
  backupHistories: string[];
}

/** Lists the WAL archive folder (missing folder: empty). */
export function readWalArchive(archiveDir: string): WalArchiveContents {
  let names: string[];
  try {
    names = readdirSync(archiveDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') names = [];
    else throw e;
  }
  return {
    segments: names.filter((n) => SEGMENT_RE.test(n)).sort(),
    histories: names.filter((n) => /^[0-9A-F]{8}\.history$/.test(n)).sort(),
    backupHistories: names.filter((n) => /^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$/.test(n)).sort(),
  };
}

/**
 * Checks that every segment from `from` to `to` (inclusive, one timeline) is
 * in the archive; throws {@link WalSegmentMissingError} naming the first gap.
 */
export function assertContinuous(
  archive: WalArchiveContents,
  from: WalSegment,
  to: WalSegment,
  segmentSize: number,
  archiveDir: string,
): void {
  const have = new Set(archive.segments);
  for (let n = from.number; n <= to.number; n++) {
    const name = segmentName({ timeline: from.timeline, number: n }, segmentSize);
    if (!have.has(name)) {
      throw new WalSegmentMissingError(
        name,
        `WAL segment ${name} is missing from the archive ${archiveDir}, but the restore needs every segment from ` +
          `${segmentName(from, segmentSize)} to ${segmentName(to, segmentSize)}. Restoring past the gap is impossible and stopping before it would silently lose data. ` +
          'Fix: put the segment back from another copy of the archive, or choose a target before the gap (--to <lsn or time>) with a backup that does not need it.',
      );
    }
  }
}

/** The newest segment of `timeline` that follows `from` without a gap (`from` itself must exist). */
export function lastContinuousSegment(archive: WalArchiveContents, from: WalSegment, segmentSize: number): WalSegment | undefined {
  const have = new Set(archive.segments);
  if (!have.has(segmentName(from, segmentSize))) return undefined;
  let n = from.number;
  while (have.has(segmentName({ timeline: from.timeline, number: n + 1n }, segmentSize))) n++;
  return { timeline: from.timeline, number: n };
}

/** The newest segment of `timeline` in the archive. */
export function newestSegment(archive: WalArchiveContents, timeline: number, segmentSize: number): WalSegment | undefined {
  let best: WalSegment | undefined;
  for (const name of archive.segments) {
    const s = parseSegmentName(name, segmentSize);
    if (s && s.timeline === timeline && (!best || s.number > best.number)) best = s;
  }
  return best;
}

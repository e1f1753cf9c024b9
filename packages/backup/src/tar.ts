/**
 * A minimal POSIX ustar writer and reader, enough for PostgreSQL data
 * folders (regular files, folders, symbolic links; names ≤ 255 bytes). Our
 * own so that each file is read once, hashed, and padded with zeros if
 * PostgreSQL truncated it while we copied (as `pg_basebackup` does) — library
 * writers stat a file first and fail when its size changes under them.
 * The output is a standard archive: GNU `tar -tzf` lists it.
 */
import { createHash } from 'node:crypto';

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** One archive entry's header. */
export interface TarHeader {
  /** Path inside the archive (`base/5/1259`). */
  name: string;
  type: 'file' | 'directory' | 'symlink';
  /** Permission bits. */
  mode: number;
  /** Bytes of content (files only). */
  size: number;
  /** Modification time, seconds since the epoch. */
  mtime: number;
  /** Target of a symbolic link. */
  linkname: string;
}

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  const text = value.toString(8).padStart(length - 1, '0');
  if (text.length > length - 1) throw new RangeError(`value ${value} does not fit a ${length}-byte tar field`);
  buf.write(`${text}\0`, offset, length, 'ascii');
}

function splitName(name: string): [prefix: string, rest: string] {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return [prefix, rest];
  }
  throw new RangeError(`path ${name} is too long for a ustar archive (255 bytes at most)`);
}

/** The 512-byte ustar header block of `h`. */
export function encodeHeader(h: TarHeader): Buffer {
  const b = Buffer.alloc(BLOCK);
  const [prefix, rest] = splitName(h.name);
  b.write(rest, 0, 100, 'utf8');
  octal(b, 100, 8, h.mode & 0o7777);
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  octal(b, 124, 12, h.type === 'file' ? h.size : 0);
  octal(b, 136, 12, Math.floor(h.mtime));
  b.fill(0x20, 148, 156); // checksum field counts as spaces
  b.write(h.type === 'file' ? '0' : h.type === 'directory' ? '5' : '2', 156, 1, 'ascii');
  b.write(h.linkname, 157, 100, 'utf8');
  b.write('ustar\0' + '00', 257, 8, 'ascii');
  b.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return b;
}

function cstring(b: Buffer, offset: number, length: number): string {
  const end = b.indexOf(0, offset);
  return b.toString('utf8', offset, end === -1 || end > offset + length ? offset + length : end);
}

function readOctal(b: Buffer, offset: number, length: number): number {
  const text = cstring(b, offset, length).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** Parses a header block; `undefined` for the zero block that ends an archive. Throws on a bad checksum. */
export function decodeHeader(b: Buffer): TarHeader | undefined {
  if (b.equals(ZERO_BLOCK)) return undefined;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (b[i] ?? 0);
  if (sum !== readOctal(b, 148, 8)) throw new Error('tar header checksum mismatch (damaged archive)');
  const flag = String.fromCharCode(b[156] ?? 0);
  const prefix = cstring(b, 345, 155);
  const rest = cstring(b, 0, 100);
  return {
    name: prefix ? `${prefix}/${rest}` : rest,
    type: flag === '5' ? 'directory' : flag === '2' ? 'symlink' : 'file',
    mode: readOctal(b, 100, 8),
    size: readOctal(b, 124, 12),
    mtime: readOctal(b, 136, 12),
    linkname: cstring(b, 157, 100),
  };
}

/** Zero bytes that pad `size` bytes of content to a whole block. */
export function padding(size: number): Buffer {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem);
}

/** The two zero blocks that end an archive. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}

/** Receives the entries of an archive being read. */
export interface TarEntrySink {
  /** A new entry; return a consumer for its content (files) or nothing. */
  entry(header: TarHeader): Promise<TarContentSink | undefined> | TarContentSink | undefined;
}

/** Consumes one file's content. */
export interface TarContentSink {
  write(chunk: Buffer): Promise<void> | void;
  /** All content delivered; `sha256` is its hex digest. */
  end(sha256: string): Promise<void> | void;
}

/**
 * Reads a tar stream (already decompressed), handing each entry and its
 * content to `sink`, with the SHA-256 of every file's content.
 */
export async function readTar(source: AsyncIterable<Buffer>, sink: TarEntrySink): Promise<number> {
  let pending = Buffer.alloc(0);
  let header: TarHeader | undefined;
  let content: TarContentSink | undefined;
  let hash = createHash('sha256');
  let remaining = 0; // content bytes of the current entry still to come
  let skip = 0; // padding bytes to drop
  let entries = 0;
  let ended = false;
  for await (const chunk of source) {
    let buf: Buffer = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    while (buf.length > 0 && !ended) {
      if (remaining > 0) {
        const part = buf.subarray(0, Math.min(remaining, buf.length));
        buf = buf.subarray(part.length);
        remaining -= part.length;
        hash.update(part);
        if (content) await content.write(part);
        if (remaining === 0) {
          if (content) await content.end(hash.digest('hex'));
          skip = padding(header?.size ?? 0).length;
        }
        continue;
      }
      if (skip > 0) {
        const n = Math.min(skip, buf.length);
        buf = buf.subarray(n);
        skip -= n;
        continue;
      }
      if (buf.length < BLOCK) {
        pending = Buffer.from(buf);
        break;
      }
      const block = buf.subarray(0, BLOCK);
      buf = buf.subarray(BLOCK);
      header = decodeHeader(block);
      if (!header) {
        ended = true;
        break;
      }
      entries++;
      content = (await sink.entry(header)) ?? undefined;
      hash = createHash('sha256');
      if (header.type === 'file') {
        remaining = header.size;
        if (remaining === 0 && content) await content.end(hash.digest('hex'));
      }
    }
  }
  if (!ended || remaining > 0) throw new Error('the archive ends early (truncated file)');
  return entries;
}

import { InvalidClusterInputError } from './errors.js';

const KIB = 1024;
const MIB = KIB * 1024;
const GIB = MIB * 1024;
const TIB = GIB * 1024;

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  k: KIB,
  kb: KIB,
  ki: KIB,
  kib: KIB,
  m: MIB,
  mb: MIB,
  mi: MIB,
  mib: MIB,
  g: GIB,
  gb: GIB,
  gi: GIB,
  gib: GIB,
  t: TIB,
  tb: TIB,
  ti: TIB,
  tib: TIB,
};

/** Smallest memory the seed's settings fit in (maintenance_work_mem alone is 512MB). */
export const MIN_MEMORY_BYTES = GIB;
/** Largest memory accepted (a typo guard; PostgreSQL's shared_buffers tops out near 8 TiB). */
export const MAX_MEMORY_BYTES = 16 * TIB;

/**
 * Parses a memory size as operators write it: `64GiB`, `64GB`, `64Gi`,
 * `512MiB`, `1.5GiB`. Units are binary, as in PostgreSQL's own settings
 * (`GB` = `GiB` = 1024³ bytes). Throws {@link InvalidClusterInputError}
 * naming the problem and the accepted forms.
 *
 * @example
 * ```ts
 * parseMemory('64GiB');       // 68719476736
 * parseMemory('12 potatoes'); // throws: --memory "12 potatoes" is not a memory size …
 * ```
 */
export function parseMemory(text: string, option = '--memory'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m?.[2]?.toLowerCase() ?? '';
  const factor = UNITS[unit];
  if (!m || factor === undefined || unit === '') {
    throw new InvalidClusterInputError([
      `${option} "${text}" is not a memory size. Fix: give a number with a unit, e.g. ${option} 64GiB (units: MiB, GiB, TiB; MB/GB/TB and Mi/Gi/Ti mean the same binary sizes).`,
    ]);
  }
  const bytes = Math.floor(Number(m[1]) * factor);
  if (bytes < MIN_MEMORY_BYTES) {
    throw new InvalidClusterInputError([
      `${option} ${text} is below ${formatMemory(MIN_MEMORY_BYTES)}, too small for the seed's settings (maintenance_work_mem alone is 512MB). Fix: give at least ${option} 1GiB.`,
    ]);
  }
  if (bytes > MAX_MEMORY_BYTES) {
    throw new InvalidClusterInputError([
      `${option} ${text} is above ${formatMemory(MAX_MEMORY_BYTES)}; that looks like a typo. Fix: give the machine's RAM, e.g. ${option} 64GiB.`,
    ]);
  }
  return bytes;
}

/** A byte count in the largest whole binary unit: `64GiB`, `1536MiB`. */
export function formatMemory(bytes: number): string {
  for (const [unit, size] of [
    ['TiB', TIB],
    ['GiB', GIB],
    ['MiB', MIB],
    ['KiB', KIB],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return bytes >= MIB ? `${Math.floor(bytes / MIB)}MiB` : `${bytes}B`;
}

/** A byte count as a PostgreSQL memory setting in whole MB (`16384MB`), or GB when exact (`16GB`). */
export function pgMemory(bytes: number): string {
  const mb = Math.floor(bytes / MIB);
  return mb % 1024 === 0 ? `${mb / 1024}GB` : `${mb}MB`;
}

import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, type CliContext } from '../src/index.js';

/** Output and exit code of one in-process `stella-db` run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json: Record<string, unknown>;
}

/** Runs `stella-db <args>` in-process with captured streams. */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd: string = process.cwd()): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
    cwd,
    exitCode: 0,
  };
  const code = await main(args, ctx);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    // not a JSON run
  }
  return { code, stdout, stderr, json };
}

/** A private copy of the fixture migrations folder (tests edit it). */
export function migrationsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stella-db-test-'));
  cpSync(fileURLToPath(new URL('./fixtures/migrations', import.meta.url)), dir, { recursive: true });
  return dir;
}

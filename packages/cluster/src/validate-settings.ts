import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterError, SettingsRejectedError } from './errors.js';
import { renderPostgresqlConf, type ClusterSetting } from './settings.js';

/**
 * Asks the real server binary whether it accepts `settings`: writes them to
 * a scratch postgresql.conf and runs `postgres -C max_connections -D <scratch>`,
 * which parses and range-checks every line without starting anything
 * (allowed as root). Throws {@link SettingsRejectedError} with the server's
 * own messages (`invalid value for parameter "work_mem": "potato"`).
 *
 * @example
 * ```ts
 * await validateSettingsWithServer(binaries.postgres, computeSettings({ memoryBytes }).postgres);
 * ```
 */
export async function validateSettingsWithServer(postgresBinary: string, settings: readonly ClusterSetting[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'stellaops-cluster-check-'));
  try {
    writeFileSync(join(dir, 'postgresql.conf'), renderPostgresqlConf(settings), { mode: 0o600 });
    writeFileSync(join(dir, 'postgresql.auto.conf'), '', { mode: 0o600 });
    const { code, output } = await runCapture(postgresBinary, ['-C', 'max_connections', '-D', dir]);
    if (code === 0) return;
    const lines = output
      .split('\n')
      .map((l) => l.replace(/^\S+ \S+ \S+ \[\d+\] /, '').trim())
      .filter((l) => /^(LOG|FATAL|ERROR|DETAIL|HINT):/.test(l) && !/skipping missing configuration file/.test(l))
      .map((l) => l.replace(` in file "${join(dir, 'postgresql.conf')}"`, '').replace(/ line \d+$/, ''))
      .filter((l) => !/^FATAL: {2}configuration file .* contains errors$/.test(l));
    throw new SettingsRejectedError(lines.length > 0 ? lines : [output.trim() || `postgres -C exited with code ${code}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runCapture(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (e) =>
      reject(new ClusterError('CLUSTER_SETTINGS_CHECK', `Could not run ${cmd} to check the settings: ${e.message}`, { cause: e })),
    );
    child.on('close', (code) => resolve({ code, output }));
  });
}

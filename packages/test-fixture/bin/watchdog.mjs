#!/usr/bin/env node
// Watchdog of a shared embedded PostgreSQL: started detached by the first run
// that starts the server. It stops the server once no process holding a lease
// is alive any more (also after Ctrl-C, a crash or SIGKILL of the test run),
// then exits. Plain JavaScript so that it runs with bare `node` from source.
//
// argv: <cacheDir> <pg_ctl> <dataDir> <uid|-> <gid|->
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

const [cacheDir, pgCtl, dataDir, uidArg, gidArg] = process.argv.slice(2);
if (!cacheDir || !pgCtl || !dataDir) {
  console.error('usage: watchdog.mjs <cacheDir> <pg_ctl> <dataDir> <uid|-> <gid|->');
  process.exit(2);
}
const runAs = uidArg && uidArg !== '-' ? { uid: Number(uidArg), gid: Number(gidArg) } : {};
const leasesDir = join(cacheDir, 'leases');
const stateFile = join(cacheDir, 'watchdog.pid');
writeFileSync(stateFile, String(process.pid));

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return /** @type {NodeJS.ErrnoException} */ (e).code === 'EPERM';
  }
}

function liveLeases() {
  let names = [];
  try {
    names = readdirSync(leasesDir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    if (alive(Number(name))) n++;
    else rmSync(join(leasesDir, name), { force: true });
  }
  return n;
}

function postmasterPid() {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return 0;
  return Number(readFileSync(pidFile, 'utf8').split('\n')[0]) || 0;
}

function serverRunning() {
  const pid = postmasterPid();
  return pid > 0 && alive(pid);
}

function mine() {
  try {
    return readFileSync(stateFile, 'utf8').trim() === String(process.pid);
  } catch {
    return false;
  }
}

let idle = 0;
async function tick() {
  if (!mine() || !serverRunning()) process.exit(0);
  if (liveLeases() > 0) {
    idle = 0;
    return;
  }
  if (++idle < 2) return; // two empty checks in a row: a run may be between lease and start
  const release = await lockfile.lock(join(cacheDir, 'server'), {
    realpath: false,
    stale: 10_000,
    retries: { retries: 100, minTimeout: 50, maxTimeout: 200 },
    onCompromised: () => undefined,
  });
  try {
    if (liveLeases() === 0 && serverRunning()) {
      const r = spawnSync(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], { stdio: 'ignore', ...runAs });
      if (r.status !== 0 && serverRunning()) process.kill(postmasterPid(), 'SIGQUIT');
    }
  } finally {
    await release().catch(() => undefined);
  }
  if (mine()) rmSync(stateFile, { force: true });
  process.exit(0);
}

setInterval(() => {
  tick().catch(() => process.exit(1));
}, 500);

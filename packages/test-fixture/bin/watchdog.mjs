#!/usr/bin/env node
// Watchdog of a shared embedded PostgreSQL: started detached by a run that
// starts or joins the server. It stops the server once no lease holder is
// alive any more (also after Ctrl-C, a crash or SIGKILL of the test run),
// then exits. Plain JavaScript so that it runs with bare `node` from source.
//
// argv: <cacheDir> <dataDir>
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';

const [cacheDir, dataDir] = process.argv.slice(2);
if (!cacheDir || !dataDir) {
  console.error('usage: watchdog.mjs <cacheDir> <dataDir>');
  process.exit(2);
}
const leasesDir = join(cacheDir, 'leases');
const pidFile = join(cacheDir, 'watchdog.pid');

/** @param {number} pid */
function startTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** @param {number} pid @param {string} [started] */
function alive(pid, started) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EPERM') return false;
  }
  if (!started) return true;
  const now = startTime(pid);
  return now === undefined || now === started;
}

const me = `${process.pid} ${startTime(process.pid) ?? ''}`.trim();
writeFileSync(pidFile, me);

function liveLeases() {
  let names = [];
  try {
    names = readdirSync(leasesDir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    let started = '';
    try {
      started = readFileSync(join(leasesDir, name), 'utf8').trim();
    } catch {
      continue;
    }
    if (alive(Number(name.split('-')[0]), started)) n++;
    else rmSync(join(leasesDir, name), { force: true });
  }
  return n;
}

/** PID of this data directory's postmaster, if it runs (checked against /proc where there is one). */
function postmasterPid() {
  let pid = 0;
  try {
    pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || 0;
  } catch {
    return 0; // no server (or it is just stopping)
  }
  if (pid <= 0 || !alive(pid)) return 0;
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dataDir)) return 0; // a recycled PID
  } catch {
    // no /proc: trust the PID
  }
  return pid;
}

function mine() {
  try {
    return readFileSync(pidFile, 'utf8').trim() === me;
  } catch {
    return false;
  }
}

async function stopServer() {
  const pid = postmasterPid();
  if (!pid) return;
  process.kill(pid, 'SIGINT'); // fast shutdown
  for (let waited = 0; alive(pid); waited += 50) {
    if (waited > 60_000) {
      process.kill(pid, 'SIGQUIT');
      break;
    }
    await sleep(50);
  }
}

let idle = 0;
for (;;) {
  await sleep(500);
  if (!mine() || !postmasterPid()) break;
  if (liveLeases() > 0) {
    idle = 0;
    continue;
  }
  if (++idle < 2) continue; // two empty checks in a row: a run may be between lease and start
  const release = await lockfile.lock(join(cacheDir, 'server'), {
    realpath: false,
    stale: 10_000,
    retries: { retries: 100, minTimeout: 50, maxTimeout: 200 },
    onCompromised: () => undefined,
  });
  let stopped = false;
  try {
    if (liveLeases() === 0) {
      await stopServer();
      stopped = true;
    } else {
      idle = 0; // someone joined meanwhile: keep watching
    }
  } finally {
    await release().catch(() => undefined);
  }
  if (stopped) break;
}
if (mine()) rmSync(pidFile, { force: true });

#!/usr/bin/env node
// Does Ryuk's job when TESTCONTAINERS_RYUK_DISABLED=true: started detached by
// the Testcontainers provider with a pipe on its stdin, it removes the test
// container (forced, with its volumes) once that pipe closes without the word
// "released" — the run that started the container ended without stopping it
// (Ctrl-C, a crash, SIGKILL: the kernel closes the pipe in every case).
// Plain JavaScript so that it runs with bare `node` from source.
//
// argv: <container id>
const [id] = process.argv.slice(2);
if (!id) {
  console.error('usage: container-watchdog.mjs <container id>');
  process.exit(2);
}

let heard = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  heard += chunk;
});
process.stdin.on('error', () => undefined); // a pipe torn down by a dying owner: 'close' follows
process.stdin.once('close', () => void ownerGone());

async function ownerGone() {
  if (heard.includes('released')) process.exit(0);
  try {
    // loaded only now: an idle watchdog stays small
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    await client.container.getById(id).remove({ force: true, v: true });
  } catch {
    // already removed, or no engine left to ask: nothing more this process can do
  }
  process.exit(0);
}

import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Starts `test/helpers/<script>` with tsx in the package folder. */
export function spawnHelper(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(
    join(pkgDir, 'node_modules', '.bin', 'tsx'),
    ['--conditions=@stellaops/source', join(pkgDir, 'test', 'helpers', script), ...args],
    {
      cwd: pkgDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

/** The first line the child prints on stdout, parsed as JSON; rejects with its stderr if it exits first. */
export function firstJsonLine<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as T);
    });
    child.on('exit', (code) => reject(new Error(`helper exited with ${code} before reporting: ${err}`)));
  });
}

/** Resolves when `check` returns true, polling every 100 ms; rejects after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

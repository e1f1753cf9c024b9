import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Bundles a TypeScript entry (with the migrator's source and its workspace
 * dependencies inlined, `pg` left external) into one `.mjs` that plain `node`
 * starts in a fraction of the time tsx needs: tests and the benchmark start
 * 16 runner processes at once on 2 cores. Returns the file and a cleanup.
 */
export async function bundleEntry(entry: string, name: string): Promise<{ file: string; dispose: () => Promise<void> }> {
  const outDir = join(
    packageDir,
    'node_modules',
    '.cache',
    'stellaops-migrator',
    `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
  );
  await build({
    configFile: false,
    logLevel: 'warn',
    root: packageDir,
    resolve: { conditions: ['@stellaops/source', 'node', 'import', 'default'] },
    ssr: { noExternal: true, external: ['pg'], resolve: { conditions: ['@stellaops/source'], externalConditions: ['@stellaops/source'] } },
    build: {
      ssr: entry,
      outDir,
      emptyOutDir: true,
      minify: false,
      target: 'node20',
      rollupOptions: { output: { format: 'esm', entryFileNames: `${name}.mjs` } },
    },
  });
  return { file: join(outDir, `${name}.mjs`), dispose: () => rm(outDir, { recursive: true, force: true }) };
}

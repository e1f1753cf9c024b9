import type { ModuleImporter } from '@stellaops/migrator';

/**
 * Imports migration modules of a `--dir`: `.js`/`.mjs` with `import()`,
 * `.ts`/`.mts` through tsx's `tsImport` (so the built CLI can load a
 * service's TypeScript migrations; tsx must be installed).
 */
export const importMigrationModule: ModuleImporter = async (fileUrl) => {
  if (!/\.m?ts$/.test(fileUrl)) return import(fileUrl);
  let api: { tsImport: (specifier: string, parent: string) => Promise<unknown> };
  try {
    api = await import('tsx/esm/api');
  } catch (error) {
    throw new Error('loading TypeScript migrations needs the "tsx" package: npm i -D tsx', { cause: error });
  }
  return api.tsImport(fileUrl, import.meta.url);
};

import { migrationPinSuite } from '@stellaops/module-testkit';

// Applied migrations are frozen: their checksums are pinned in migrations.lock.json, and no helper edit may change them.
migrationPinSuite({ load: () => import('../src/index.js'), lockFile: new URL('../migrations.lock.json', import.meta.url) });

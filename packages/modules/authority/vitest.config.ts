import { fileURLToPath } from 'node:url';
import { stellaVitestConfig } from '@stellaops/vitest-config';

// vitest 4 resolves globalSetup entries as paths relative to the root, not as
// package specifiers, so point at the fixture's global setup by file path.
const globalSetup = fileURLToPath(new URL('./node_modules/@stellaops/test-fixture/src/vitest/global-setup.ts', import.meta.url));

export default stellaVitestConfig({ test: { globalSetup: [globalSetup] } });

import { stellaVitestConfig } from '@stellaops/vitest-config';

export default stellaVitestConfig({ test: { globalSetup: ['./src/vitest/global-setup.ts'] } });

import { stellaVitestConfig } from '@stellaops/vitest-config';

export default stellaVitestConfig({}, { postgres: true });

import { stellaEslintConfig } from '@stellaops/eslint-config';

export default stellaEslintConfig();

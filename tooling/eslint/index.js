// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Shared flat config: ESLint recommended + typescript-eslint recommended, plus
 * the project's rules (no floating promises is left to the type-aware pass of
 * tsc strict; imports across packages only through entry points).
 *
 * @example
 * // eslint.config.js of a package
 * import { stellaEslintConfig } from '@stellaops/eslint-config';
 * export default stellaEslintConfig();
 */
export function stellaEslintConfig() {
  return tseslint.config(
    { ignores: ['dist/**', 'coverage/**', 'src/generated/**'] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
      languageOptions: { globals: { ...globals.node } },
      rules: {
        '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
        '@typescript-eslint/consistent-type-imports': 'error',
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                group: ['@stellaops/*/src/*', '@stellaops/*/dist/*', '../../*/src/*'],
                message: 'Import another package only through its entry point (e.g. "@stellaops/postgres-core").',
              },
            ],
          },
        ],
      },
    },
  );
}

// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Shared flat config: ESLint recommended + typescript-eslint
 * `recommendedTypeChecked` (type-aware: floating and misused promises,
 * awaiting non-thenables, unsafe `any` flows in production code — `tsc` checks
 * none of these), plus the project's rules (imports across packages only
 * through entry points).
 * Types come from each package's tsconfig.json through `projectService`;
 * plain `.js`/`.mjs` config files are linted without type information.
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
    ...tseslint.configs.recommendedTypeChecked,
    {
      languageOptions: {
        globals: { ...globals.node },
        parserOptions: { projectService: true },
      },
      rules: {
        '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
        '@typescript-eslint/consistent-type-imports': 'error',
        // Off: functions are often `async` to satisfy a Promise-returning interface
        // or to turn a synchronous throw into a rejection; the rule flags those.
        '@typescript-eslint/require-await': 'off',
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
    {
      // Tests and benchmarks read ad hoc rows (`pool.query(...).rows[0].n`, typed `any` by pg):
      // the promise rules stay on there, the `any`-flow rules are for production code.
      files: ['test/**', 'bench/**'],
      rules: {
        '@typescript-eslint/no-unsafe-argument': 'off',
        '@typescript-eslint/no-unsafe-assignment': 'off',
        '@typescript-eslint/no-unsafe-member-access': 'off',
        '@typescript-eslint/no-unsafe-return': 'off',
      },
    },
    { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  );
}

import type { Linter } from 'eslint';
/** The shared flat config (ESLint + typescript-eslint recommended + project rules). */
export declare function stellaEslintConfig(): Linter.Config[];

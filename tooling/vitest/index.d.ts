import type { ViteUserConfig } from 'vitest/config';
/** The shared vitest configuration merged with package-specific `overrides`. */
export declare function stellaVitestConfig(overrides?: ViteUserConfig, options?: { postgres?: boolean }): ViteUserConfig;

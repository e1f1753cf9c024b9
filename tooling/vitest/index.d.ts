import type { ViteUserConfig } from 'vitest/config';
/** The shared vitest configuration merged with package-specific `overrides`. */
export declare function stellaVitestConfig(overrides?: ViteUserConfig, options?: { postgres?: boolean }): ViteUserConfig;
/**
 * Whether tests needing the `missing` Debian packages are skipped here: false when none is missing; true (with a
 * warning naming the apt-get command) on a developer machine; throws under CI, where a skip would go unseen.
 */
export declare function skipUnlessInstalled(missing: readonly string[], what?: string): boolean;

/** Progress events of a run, for progress displays (`onEvent`). */
export type MigratorEvent =
  | { type: 'lock-wait'; schema: string }
  | { type: 'lock-acquired'; schema: string; waitedMs: number }
  | { type: 'planned'; schema: string; direction: 'up' | 'down'; ids: string[] }
  | { type: 'migration-start'; id: string; direction: 'up' | 'down'; index: number; total: number }
  | { type: 'migration-retry'; id: string; attempt: number; sqlState: string; delayMs: number }
  | { type: 'migration-done'; id: string; direction: 'up' | 'down'; index: number; total: number; durationMs: number }
  | { type: 'migration-failed'; id: string; direction: 'up' | 'down'; error: Error };

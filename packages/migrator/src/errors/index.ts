export { MigratorError } from './migrator-error.js';
export { MigrationFailedError, type FailurePosition } from './migration-failed-error.js';
export { ChecksumMismatchError, type ChecksumMismatch } from './checksum-mismatch-error.js';
export { OutOfOrderError } from './out-of-order-error.js';
export { MissingMigrationError } from './missing-migration-error.js';
export { LockTimeoutError, type LockHolder } from './lock-timeout-error.js';
export { PoolerDetectedError } from './pooler-detected-error.js';
export { IrreversibleMigrationError } from './irreversible-migration-error.js';
export { InvalidMigrationError } from './invalid-migration-error.js';

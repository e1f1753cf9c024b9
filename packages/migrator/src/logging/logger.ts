/**
 * The logger the migrator writes to: pino's call shape (`logger.info(obj,
 * msg)`), so a pino logger can be passed as is.
 */
export interface MigratorLogger {
  /** Debug detail. */
  debug(obj: object, msg?: string): void;
  /** Plan and outcome. */
  info(obj: object, msg?: string): void;
  /** Something odd but not fatal. */
  warn(obj: object, msg?: string): void;
  /** A failure. */
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything. */
export const silentLogger: MigratorLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

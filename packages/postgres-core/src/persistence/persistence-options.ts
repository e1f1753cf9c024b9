import { z } from 'zod';
import { caseInsensitiveEnum, PostgresOptionsSchema } from '../options/postgres-options.js';

/** The modules whose storage backend is configurable. */
export const PERSISTENCE_MODULES = ['Authority', 'Scheduler', 'Concelier', 'Excititor', 'Notify', 'Policy'] as const;

/** A configurable module. */
export type PersistenceModule = (typeof PERSISTENCE_MODULES)[number];

/** Storage backends a module can use. */
export const PERSISTENCE_BACKENDS = ['Mongo', 'Postgres'] as const;

/** A storage backend. */
export type PersistenceBackend = (typeof PERSISTENCE_BACKENDS)[number];

const backend = caseInsensitiveEnum(PERSISTENCE_BACKENDS).default('Mongo');

/**
 * Zod schema of {@link PersistenceOptions}: one backend per module (default
 * `Mongo`) plus the optional `postgres` section, which is required as soon as
 * one module uses `Postgres`.
 */
export const PersistenceOptionsSchema = z
  .object({
    persistence: z
      .object({
        Authority: backend,
        Scheduler: backend,
        Concelier: backend,
        Excititor: backend,
        Notify: backend,
        Policy: backend,
      })
      .strict()
      .prefault({}),
    postgres: PostgresOptionsSchema.optional(),
  })
  .strict();

/** Validated persistence configuration. */
export type PersistenceOptions = z.output<typeof PersistenceOptionsSchema>;

/** Input of {@link PersistenceOptionsSchema}. */
export type PersistenceOptionsInput = z.input<typeof PersistenceOptionsSchema>;

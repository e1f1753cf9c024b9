import type { PreludeStatement } from './pipelined-query.js';

/** The transaction-local settings a scoped connection applies before the first statement of each transaction. */
export interface SessionScope {
  /** Tenant id (validated) or undefined for unscoped work. */
  readonly tenantId: string | undefined;
  /** Prelude sent with a transaction's first statement (empty when nothing must be set). */
  readonly prelude: readonly PreludeStatement[];
  /** Whether `BEGIN` may be a named prepared statement. */
  readonly preparedStatements: boolean;
}

/** Name of the setting holding the tenant id (accepted by the policies only with a valid {@link TENANT_PROOF_SETTING}). */
export const TENANT_SETTING = 'app.tenant_id';

/** Name of the setting holding the tenant's proof, `<key id>.<hex HMAC-SHA256(key, tenant id)>`. */
export const TENANT_PROOF_SETTING = 'app.tenant_proof';

/** Name of the setting holding the tenant's proof under the previous key (key rotation only). */
export const PREVIOUS_TENANT_PROOF_SETTING = 'app.tenant_proof_previous';

/** What {@link buildSessionScope} builds a scope from. @internal */
export interface SessionScopeOptions {
  /** Tenant id, already validated; `undefined` for unscoped work. */
  readonly tenantId: string | undefined;
  /** The tenant's proof (`<key id>.<hex HMAC>`); `undefined` when unscoped. */
  readonly proof: string | undefined;
  /** The tenant's proof under the previous key, during a key rotation (rows not yet re-tagged stay readable). */
  readonly previousProof?: string | undefined;
  /**
   * Settings made transaction-local in every transaction, after the tenant:
   * the session defaults behind a transaction pooler, then the module's
   * `setSessionSetting` pairs.
   */
  readonly transactionDefaults: ReadonlyArray<readonly [string, string]>;
  /** Send the prelude (and a plain `BEGIN`) as named, per-connection prepared statements (off behind a transaction pooler). */
  readonly preparedStatements: boolean;
  /**
   * Set the tenant even for unscoped work (to `''`): behind a transaction
   * pooler another client may have left a session-level `app.tenant_id` on
   * the server connection, and this fails closed against it.
   */
  readonly alwaysSetTenant: boolean;
}

/**
 * Builds the prelude: ONE `select set_config($1,$2,true), set_config($3,$4,true)…`
 * statement with every name and value bound, so no value ever enters SQL text.
 *
 * The tenant travels with its proof (`app.tenant_id`, `app.tenant_proof`),
 * both bound, both transaction-local, in this same statement.
 *
 * @example
 * ```ts
 * const scope = buildSessionScope({ tenantId: 'acme', proof, transactionDefaults: [], preparedStatements: true, alwaysSetTenant: false });
 * scope.prelude[0]?.text; // 'select set_config($1, $2, true), set_config($3, $4, true)'
 * ```
 * @internal
 */
export function buildSessionScope(options: SessionScopeOptions): SessionScope {
  const { tenantId, proof, previousProof, transactionDefaults, preparedStatements, alwaysSetTenant } = options;
  const pairs: Array<readonly [string, string]> = [];
  // Behind a transaction pooler, always (re)set the tenant, to '' when unscoped: fail closed even if another
  // client of the pooler left a session-level app.tenant_id on the server connection.
  if (tenantId !== undefined || alwaysSetTenant) pairs.push([TENANT_SETTING, tenantId ?? ''], [TENANT_PROOF_SETTING, proof ?? '']);
  if (previousProof !== undefined && tenantId !== undefined) pairs.push([PREVIOUS_TENANT_PROOF_SETTING, previousProof]);
  pairs.push(...transactionDefaults);
  if (pairs.length === 0) return { tenantId, prelude: [], preparedStatements };
  const text = `select ${pairs.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`;
  const statement: PreludeStatement = {
    text,
    values: pairs.flat(),
    ...(preparedStatements ? { name: `stellaops_set_config_${pairs.length}` } : {}),
  };
  return { tenantId, prelude: [statement], preparedStatements };
}

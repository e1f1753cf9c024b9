/**
 * The rules of docs/RULES.md as code: `stella-db lint` and `migrate plan` use them.
 * @packageDocumentation
 */
export { LINT_RULES, isLintRuleId, type LintFinding, type LintRuleId, type LintRuleInfo, type LintSeverity } from './rules.js';
export { lintMigrations, applyWaivers, type LintInput, type LintMigration, type LintWaiver } from './lint-migrations.js';
export { lintableMigrations, readWaiverFile, WAIVER_FILE } from './load-migrations.js';
export { lintLiveSchema, type LiveSchemaOptions } from './live-schema.js';

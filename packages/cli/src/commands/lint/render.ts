import type { LintFinding } from '../../lint-rules/index.js';
import type { ModuleLintResult } from './index.js';

/**
 * Findings for people: one line per unwaived finding (`migration:line severity [rule] object: message`)
 * and a summary line per module.
 *
 * @example
 * renderFindings([{ module: 'notify', schema: 'notify', migrations: 3, findings: [] }]); // 'notify: 3 migration(s), 0 error(s), 0 warning(s), 0 waived\n'
 */
export function renderFindings(results: readonly ModuleLintResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const open = r.findings.filter((f) => f.waived === undefined);
    for (const f of open) lines.push(renderFinding(r.module, f));
    const errors = open.filter((f) => f.severity === 'error').length;
    lines.push(
      `${r.module}: ${r.migrations} migration(s), ${errors} error(s), ${open.length - errors} warning(s), ${r.findings.length - open.length} waived`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** One finding as a line: `notify V002_X:4 error [prefer-jsonb] notify.x.payload: …`. */
export function renderFinding(module: string, f: LintFinding): string {
  return `${module} ${f.migration}${f.line > 0 ? `:${f.line}` : ''} ${f.severity} [${f.rule}] ${f.object}: ${f.message}`;
}

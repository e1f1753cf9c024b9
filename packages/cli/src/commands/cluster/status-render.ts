import type { ClusterStatus } from '@stellaops/cluster';
import { renderTable } from '../../output/table.js';

/** The human form of a cluster status: one row per component, then settings that differ from the seed. */
export function renderClusterStatus(s: ClusterStatus): string {
  const table = renderTable(
    ['COMPONENT', 'STATE', 'PORT', 'PID', 'TLS', 'DETAIL'],
    s.components.flatMap((c) => [
      [c.name, c.state, c.port ?? null, c.pid ?? null, c.tls ?? null, c.detail ?? null],
      ...(c.parts ?? []).map((p) => [`  ${p.name}`, p.state, p.port ?? null, p.pid ?? null, p.tls ?? null, p.detail ?? null]),
    ]),
  );
  const stopped = s.components.every((c) => c.state === 'stopped' || c.state === 'ready' || c.state === 'disabled');
  let out = `cluster ${s.root}: ${s.healthy ? 'healthy' : stopped ? 'stopped' : 'NOT healthy'}\n\n${table}`;
  if (s.differingSettings && s.differingSettings.length > 0) {
    out += `\nsettings differing from the computed ones:\n${s.differingSettings.map((d) => `  ${d.name}: running ${d.actual}, computed ${d.expected}${d.pendingRestart ? ' (restart pending)' : ''}`).join('\n')}\n`;
  } else if (s.differingSettings) {
    out += '\nall settings as computed\n';
  }
  const dashboard = s.components.find((c) => c.name === 'monitoring' && c.state === 'running')?.data?.dashboardUrl;
  if (typeof dashboard === 'string') out += `\ndashboard: ${dashboard}\n`;
  const crashed = s.components.filter((c) => c.state === 'crashed');
  if (crashed.length > 0)
    out += `\n${crashed.map((c) => c.name).join(', ')} crashed: run "stella-db cluster up" to restart (no committed data is lost)\n`;
  return out;
}

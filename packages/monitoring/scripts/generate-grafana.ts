/** Rewrites assets/grafana/stellaops-postgres.json from DASHBOARD_PANELS (`pnpm --filter @stellaops/monitoring generate:grafana`). */
import { writeFileSync } from 'node:fs';
import { MONITORING_ASSETS, renderGrafanaDashboard } from '../src/index.js';

writeFileSync(MONITORING_ASSETS.grafanaDashboard, `${JSON.stringify(renderGrafanaDashboard(), null, 2)}\n`);
console.log(`wrote ${MONITORING_ASSETS.grafanaDashboard}`);

/**
 * `@stellaops/notify-worker`: the reference StellaOps service. Drains Notify's
 * delivery queue to webhooks, with fail-fast configuration
 * (`loadWorkerConfig`), migrate-on-start, `/healthz`, `/readyz`, `/metrics`,
 * JSON logs without secrets and graceful shutdown. The executable is
 * `src/main.ts` (`dist/main.js`); these exports let another service reuse the
 * pieces.
 *
 * @packageDocumentation
 */
export { loadWorkerConfig, type WorkerConfig } from './config/load-worker-config.js';
export { readSection, canonicalKeys, type ConfigSources, type ConfigTree } from './config/config-sources.js';
export { WorkerOptionsSchema, LOG_LEVELS, type WorkerOptions } from './config/worker-options.js';
export { createLogger, describeConfig, REDACTED_KEYS, type Logger } from './logging/logger.js';
export { WebhookSender, type ChannelSender, type SendOutcome } from './channels/webhook-sender.js';
export { WorkerMetrics, type DeliveryOutcome } from './metrics/worker-metrics.js';
export { Readiness, type ReadinessReport, type TenantProofCheck } from './readiness/readiness.js';
export { OpsServer, type OpsHandlers } from './http/ops-server.js';
export { DeliveryWorker, type DeliveryWorkerDeps } from './worker/delivery-worker.js';
export { NotifyWorkerService } from './service/notify-worker-service.js';
export { StartupError, TenantProofRejectedError } from './service/startup-errors.js';
export { probeTenantProof, PROBE_TENANT, type TenantProofState } from './readiness/tenant-proof.js';

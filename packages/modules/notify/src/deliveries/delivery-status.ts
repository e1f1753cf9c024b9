/**
 * Life cycle of a delivery: `pending` (due at `next_attempt_at`) → `processing`
 * (claimed by a worker until its lease, `next_attempt_at`, expires) →
 * `delivered`, or back to `pending` after a failed attempt, or `dead` (dead
 * letter) after its last allowed attempt or a permanent failure.
 */
export type DeliveryStatus = 'pending' | 'processing' | 'delivered' | 'dead';

/** Default number of attempts before a delivery is dead-lettered. */
export const DEFAULT_MAX_ATTEMPTS = 5;

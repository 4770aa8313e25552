/** What an attempt's outcome means for the gist. Pure: the policy is data. */
import type { Outcome } from '../types.js';

/** The raw result of one attempt. */
export interface AttemptOutcome {
  /** HTTP status, or null when no response arrived (timeout, refused, reset). */
  readonly status: number | null;
  /** The network policy refused the handler's address: retrying cannot help. */
  readonly blocked?: boolean | undefined;
}

export interface ClassifyPolicy {
  /** Retry 4xx answers (other than 410) instead of giving up at once. */
  readonly retry_4xx: boolean;
}

/**
 * - 2xx: success.
 * - a handler address the network policy denies: dead (no request is sent).
 * - no response, 408, 429, 5xx, and 3xx (redirects are not followed; often a transient misroute): retry.
 * - 410 Gone: dead, always (the receiver says the endpoint is gone).
 * - any other 4xx: dead, unless the subscription sets `retry_4xx`.
 * Whether retries remain is decided by the caller from the attempt count.
 */
export function classify(outcome: AttemptOutcome, policy: ClassifyPolicy): Outcome {
  const { status } = outcome;
  if (outcome.blocked) return 'dead';
  if (status === null) return 'retry';
  if (status >= 200 && status < 300) return 'success';
  if (status === 408 || status === 429 || status >= 500 || (status >= 300 && status < 400)) return 'retry';
  if (status === 410) return 'dead';
  if (status >= 400 && status < 500) return policy.retry_4xx ? 'retry' : 'dead';
  // 1xx as a final status is a broken receiver: try again later.
  return 'retry';
}

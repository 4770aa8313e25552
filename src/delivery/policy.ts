/**
 * The delivery policy as one pure function: an attempt's outcome and the subscription's policy give
 * the gist's next state. The engine only records what this decides; nothing about "dead" or "retry"
 * is decided inside a storage transaction.
 */
import type { Transition } from '../log/contract.js';
import type { RetryPolicy } from '../types.js';
import { classify, type AttemptOutcome } from './classify.js';
import { backoff } from './backoff.js';

/** What the policy needs to know of the gist. */
export interface GistProgress {
  /** Attempts made before this one. */
  readonly attempts: number;
  /** Attempt count at the last replay: retries are counted from here. */
  readonly retry_base: number;
}

export interface AttemptResult extends AttemptOutcome {
  /** A `Retry-After` the receiver sent, in ms from `at`; null when none. */
  readonly retryAfterMs: number | null;
}

/**
 * The next state after one attempt made at `at`:
 * - `delivered` on success;
 * - `dead` when `classify` says so (410, other 4xx without `retry_4xx`, a denied network), or when
 *   this attempt used up the retries (more than `max_retries` since the last replay);
 * - otherwise `failed`, to be tried again at `at + backoff(...)`.
 */
export function transition(gist: GistProgress, result: AttemptResult, policy: RetryPolicy, at: number, random: () => number): Transition {
  const verdict = classify(result, policy);
  if (verdict === 'success') return { state: 'delivered' };
  if (verdict === 'dead') return { state: 'dead' };
  const retry = gist.attempts + 1 - gist.retry_base;
  if (retry > policy.max_retries) return { state: 'dead' };
  return { state: 'failed', retry_at: at + backoff(retry, policy, result.retryAfterMs, random) };
}

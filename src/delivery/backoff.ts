/** Delays between attempts. Pure: randomness is passed in. */

export interface BackoffPolicy {
  readonly backoff_initial_ms: number;
  readonly backoff_max_ms: number;
  /** 0..1: the share of each delay that is random. */
  readonly backoff_jitter: number;
}

/**
 * Delay before retry number `retry` (1 for the first retry): initial × 2^(retry-1), capped at max,
 * with the top `jitter` share randomised downwards so that a burst of failures spreads out.
 * A `Retry-After` from the receiver wins when given, capped at max.
 */
export function backoff(retry: number, policy: BackoffPolicy, retryAfterMs: number | null, random: () => number): number {
  if (retryAfterMs !== null && retryAfterMs >= 0) return Math.min(retryAfterMs, policy.backoff_max_ms);
  const exp = policy.backoff_initial_ms * 2 ** Math.max(0, retry - 1);
  const capped = Math.min(exp, policy.backoff_max_ms);
  const jitter = Math.min(Math.max(policy.backoff_jitter, 0), 1);
  return Math.round(capped * (1 - jitter * random()));
}

/**
 * Parses a Retry-After header: delta-seconds or an HTTP date (relative to `now`). Null when absent or
 * malformed.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return null;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

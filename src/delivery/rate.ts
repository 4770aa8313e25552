/**
 * `rate_limit`: a token bucket per subscription, on the injected clock. It holds up to `count` tokens
 * (a burst of one period's worth), refills `count` per `per_ms`, and each attempt takes one.
 */
import type { RateLimit } from '../types.js';

export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.#tokens = limit.count;
    this.#at = now;
  }

  #refill(now: number): void {
    if (now <= this.#at) return;
    this.#tokens = Math.min(this.limit.count, this.#tokens + ((now - this.#at) * this.limit.count) / this.limit.per_ms);
    this.#at = now;
  }

  /** Whole tokens available now. */
  available(now: number): number {
    this.#refill(now);
    return Math.floor(this.#tokens);
  }

  /** Takes `n` tokens (at most what is available). */
  take(n: number, now: number): void {
    this.#refill(now);
    this.#tokens = Math.max(0, this.#tokens - n);
  }

  /** When the next whole token will be there. */
  nextAt(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) return now;
    return now + Math.ceil(((1 - this.#tokens) * this.limit.per_ms) / this.limit.count);
  }
}

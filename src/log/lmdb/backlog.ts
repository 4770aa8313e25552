/**
 * Open gists counted per subscription, in the same transaction as the gists themselves. Changes are
 * gathered over a whole write transaction and written once per subscription at its end: a group
 * commit of a thousand deliveries to one subscription writes its count once, not a thousand times.
 */
import type { Env } from './env.js';
import type { TransactionHooks } from './committer.js';

export class BacklogCounts implements TransactionHooks {
  readonly #pending = new Map<string, number>();

  constructor(private readonly env: Env) {}

  /** Counts `delta` more (or fewer) open gists of `subscription`, inside a write transaction. */
  add(subscription: string, delta: number): void {
    this.#pending.set(subscription, (this.#pending.get(subscription) ?? 0) + delta);
  }

  begin(): void {
    // A transaction that failed and is run again must not count twice.
    this.#pending.clear();
  }

  end(): void {
    for (const [subscription, delta] of this.#pending) {
      if (delta === 0) continue;
      const n = (this.env.backlog.get(subscription) ?? 0) + delta;
      if (n > 0) this.env.backlog.putSync(subscription, n);
      else this.env.backlog.removeSync(subscription);
    }
    this.#pending.clear();
  }

  /** Every subscription's count of open gists. */
  all(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { key, value } of this.env.backlog.getRange()) out[key] = value;
    return out;
  }
}

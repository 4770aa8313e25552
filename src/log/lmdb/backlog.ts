/** Open gists counted per subscription, kept in the same transaction as the gists themselves. */
import type { Env } from './env.js';

/** Applies per-subscription changes to the counts (inside a write transaction). */
export function addBacklog(env: Env, deltas: ReadonlyMap<string, number>): void {
  for (const [subscription, delta] of deltas) {
    if (delta === 0) continue;
    const n = (env.backlog.get(subscription) ?? 0) + delta;
    if (n > 0) env.backlog.putSync(subscription, n);
    else env.backlog.removeSync(subscription);
  }
}

/** Every subscription's count of open gists. */
export function backlogBySubscription(env: Env): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { key, value } of env.backlog.getRange()) out[key] = value;
  return out;
}

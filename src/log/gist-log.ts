/**
 * Gists and their attempts: recording an outcome, replaying, and the open set read at boot.
 * Each change is a read-modify-write inside one transaction, so it always starts from the latest row.
 */
import type { Attempt, Outcome } from '../types.js';
import type { AttemptRow, GistRow, Store } from './store.js';

/** What one attempt produced, before it is numbered. */
export interface AttemptResult {
  readonly at: number;
  readonly status: number | null;
  readonly duration_ms: number;
  readonly error: string | null;
  readonly response: string | null;
  readonly verdict: Outcome;
  readonly replay: boolean;
}

export interface RecordPolicy {
  readonly max_retries: number;
  /** When to try again if the verdict is `retry` and retries remain (unix ms). */
  readonly retry_at: number;
}

export function toAttempt(gistId: number, n: number, row: AttemptRow): Attempt {
  return {
    gist_id: gistId,
    n,
    at: new Date(row.at).toISOString(),
    status: row.status,
    duration_ms: row.ms,
    error: row.error,
    response: row.response,
    outcome: row.outcome,
    replay: row.replay,
  };
}

export class GistLog {
  constructor(private readonly store: Store) {}

  /**
   * Records one attempt and moves the gist to its next state. A `retry` verdict with no retries
   * left (counted since the last replay) makes the gist `dead`. Resolves after the commit.
   */
  async record(gistId: number, result: AttemptResult, policy: RecordPolicy): Promise<GistRow | null> {
    const { store } = this;
    return store.commit(() => {
        const row = store.gists.get(gistId);
        if (!row) return null;
        const n = row.attempts + 1;
        let state: GistRow['state'];
        if (result.verdict === 'success') state = 'delivered';
        else if (result.verdict === 'dead' || n - row.retry_base > policy.max_retries) state = 'dead';
        else state = 'failed';
        store.attempts.putSync([gistId, n], {
          at: result.at,
          status: result.status,
          ms: result.duration_ms,
          error: result.error,
          response: result.response,
          // The attempt that used up the retries is what made the gist dead.
          outcome: state === 'dead' ? 'dead' : result.verdict,
          replay: result.replay,
        });
        const next: GistRow = {
          ...row,
          state,
          attempts: n,
          next_at: state === 'failed' ? policy.retry_at : null,
          updated: result.at,
          last_status: result.status,
          last_error: result.error,
        };
        store.gists.putSync(gistId, next);
        if (state === 'failed') store.open.putSync(gistId, [row.subscription, policy.retry_at]);
        else store.open.removeSync(gistId);
        if (state === 'dead') store.gistIndex.putSync(['x', 'dead', gistId], null);
        return next;
      });
  }

  /**
   * Puts a gist back on the queue now, whatever its state. Retries are counted afresh from here and
   * the next attempt is marked as a replay. Returns null for an unknown gist.
   */
  async replay(gistId: number, now: number): Promise<GistRow | null> {
    return this.store.commit(() => this.replayInTxn(gistId, now));
  }

  /** The body of `replay`, for callers that already hold a write transaction. */
  replayInTxn(gistId: number, now: number): GistRow | null {
    const { store } = this;
    const row = store.gists.get(gistId);
    if (!row) return null;
    const next: GistRow = { ...row, state: 'pending', retry_base: row.attempts, next_at: now, updated: now, replays: row.replays + 1 };
    delete next.orphaned;
    store.gists.putSync(gistId, next);
    store.open.putSync(gistId, [row.subscription, now]);
    store.gistIndex.removeSync(['x', 'dead', gistId]);
    return next;
  }

  /** Marks open gists of removed subscriptions (true) or clears the mark when they come back (false). */
  async setOrphaned(gistIds: readonly number[], orphaned: boolean): Promise<void> {
    if (gistIds.length === 0) return;
    const { store } = this;
    await store.commit(() => {
      for (const id of gistIds) {
        const row = store.gists.get(id);
        if (!row || Boolean(row.orphaned) === orphaned) continue;
        const next: GistRow = { ...row };
        if (orphaned) next.orphaned = true;
        else delete next.orphaned;
        store.gists.putSync(id, next);
      }
    });
  }

  get(gistId: number): GistRow | undefined {
    return this.store.gists.get(gistId);
  }

  /** Every attempt of a gist, in order. */
  attempts(gistId: number): Attempt[] {
    const out: Attempt[] = [];
    for (const { key, value } of this.store.attempts.getRange({ start: [gistId, 0], end: [gistId, Number.MAX_SAFE_INTEGER] })) {
      out.push(toAttempt(gistId, key[1], value));
    }
    return out;
  }

  /** The gists still to deliver, as [gist id, subscription, due], in id order (read at boot). */
  *openGists(): Generator<[number, string, number]> {
    for (const { key, value } of this.store.open.getRange()) yield [key, value[0], value[1]];
  }

  /** Number of open (pending or failed) gists: the backlog. */
  backlogCount(): number {
    return this.store.open.getCount();
  }
}

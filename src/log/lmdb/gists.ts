/**
 * Gists and their attempts in the LMDB engine. Every change is a read-modify-write inside one
 * transaction, so it always starts from the latest row, and it moves the gist's entry in the delivery
 * queue (`due`), its open entry and its subscription's count in the same transaction.
 */
import type { Attempt, GistId } from '../../types.js';
import { amebo } from '../../errors.js';
import { outcomeOf, type AttemptRecord, type Gist, type GistFilter, type GistStore, type Lease, type Listing, type Page, type ReplayTarget, type Transition } from '../contract.js';
import type { Committer } from './committer.js';
import type { Env } from './env.js';
import type { IdSource } from './ids.js';
import { putDue, type LeaseTable } from './delivery.js';
import type { LmdbEventLog } from './events.js';
import { laneOf, lmdbGistId, toAttempt, toGist, type GistRow } from './rows.js';
import type { BacklogCounts } from './backlog.js';
import { isHead, join, leave, ordered, settle } from './ordering.js';

const MAX_ID = Number.MAX_SAFE_INTEGER;
const YIELD_EVERY = 2_000;
const STALE = Symbol('stale');

const isOpen = (row: GistRow) => row.state === 'pending' || row.state === 'failed';

export class LmdbGistStore implements GistStore {
  constructor(
    private readonly env: Env,
    private readonly committer: Committer,
    private readonly ids: IdSource,
    private readonly leases: LeaseTable,
    private readonly events: LmdbEventLog,
    private readonly backlog: BacklogCounts,
  ) {}

  async get(gistId: GistId): Promise<Gist | undefined> {
    const row = this.env.gists.get(lmdbGistId(gistId));
    return row ? toGist(row) : undefined;
  }

  async attempts(gistId: GistId): Promise<Attempt[]> {
    const id = lmdbGistId(gistId);
    const out: Attempt[] = [];
    for (const { key, value } of this.env.attempts.getRange({ start: [id, 0], end: [id, MAX_ID] })) out.push(toAttempt(id, key[1], value));
    return out;
  }

  async list(filter: GistFilter, page: Page): Promise<Listing<Gist>> {
    const skip = (page.page - 1) * page.per_page;
    const items: Gist[] = [];
    let total = 0;
    for (const row of this.#rows(filter)) {
      if (total >= skip && items.length < page.per_page) items.push(toGist(row));
      total++;
    }
    return { items, total };
  }

  async *scan(filter: GistFilter): AsyncGenerator<Gist> {
    let n = 0;
    for (const row of this.#rows(filter)) {
      yield toGist(row);
      if (++n % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async ofEvent(event: number): Promise<Gist[]> {
    const out: Gist[] = [];
    for (const id of this.#indexed(['e', event])) {
      const row = this.env.gists.get(id);
      if (row) out.push(toGist(row));
    }
    return out;
  }

  async record(lease: Lease, attempt: AttemptRecord, next: Transition): Promise<Gist> {
    const { env } = this;
    const id = lmdbGistId(lease.gist.id);
    const result = await this.committer.commit(() => {
      const row = env.gists.get(id);
      // Refused without aborting the shared transaction: another holder (or a replay) moved the gist on.
      if (!row || !isOpen(row) || row.attempts !== lease.gist.attempts || !this.leases.holds(id, lease.token)) return STALE;
      const n = row.attempts + 1;
      env.attempts.putSync([id, n], {
        at: attempt.at,
        status: attempt.status,
        ms: attempt.duration_ms,
        error: attempt.error,
        response: attempt.response,
        outcome: outcomeOf(next),
        replay: attempt.replay,
      });
      env.due.removeSync([row.subscription, laneOf(row.state), row.next_at ?? 0, id]);
      const updated: GistRow = {
        ...row,
        state: next.state,
        attempts: n,
        next_at: next.state === 'failed' ? next.retry_at : null,
        updated: attempt.at,
        last_status: attempt.status,
        last_error: attempt.error,
      };
      if (row.rerun) {
        // Replayed while this attempt was in flight: deliver it again now, counting retries afresh.
        delete updated.rerun;
        Object.assign(updated, { state: 'pending', next_at: attempt.at, retry_base: n, replays: row.replays + 1 });
      }
      env.gists.putSync(id, updated);
      if (isOpen(updated)) {
        env.open.putSync([row.subscription, id], updated.next_at!);
        // An ordered gist overtaken by a replay of an older one of its key waits its turn again.
        if (!ordered(updated) || isHead(env, updated)) putDue(env, this.leases, [row.subscription, laneOf(updated.state), updated.next_at!, id]);
        if (ordered(updated)) settle(env, this.leases, updated);
      } else {
        env.open.removeSync([row.subscription, id]);
        this.backlog.add(row.subscription, -1);
        if (ordered(updated)) leave(env, this.leases, updated);
      }
      if (updated.state === 'dead') env.gistIndex.putSync(['x', 'dead', id], null);
      return updated;
    });
    if (result === STALE) {
      throw amebo('AMEBO_ERR_STALE_LEASE', `gist ${id}: the lease is no longer held (it expired and the gist moved on); this attempt was not recorded`);
    }
    this.leases.drop(id);
    return toGist(result);
  }

  async replay(targets: readonly ReplayTarget[], now: number): Promise<Gist[]> {
    const touched = new Set<string>();
    const rows = await this.committer.commit(() => {
      const out: GistRow[] = [];
      for (const t of targets) {
        const row = 'gist' in t ? this.#reset(lmdbGistId(t.gist), now) : this.#create(t.event, t.subscription, now, t.key ?? null);
        if (row) {
          out.push(row);
          touched.add(row.subscription);
        }
      }
      return out;
    });
    for (const sub of touched) this.leases.wake(sub);
    return rows.map(toGist);
  }

  /** An existing gist back to pending, due now (in the write transaction). */
  #reset(id: number, now: number): GistRow | null {
    const { env } = this;
    const row = env.gists.get(id);
    if (!row) return null;
    if (isOpen(row) && this.leases.inFlight(id)) {
      // An attempt is in flight: queue it again once that attempt is recorded.
      const marked: GistRow = { ...row, rerun: true };
      env.gists.putSync(id, marked);
      return marked;
    }
    const wasOpen = isOpen(row);
    if (wasOpen) env.due.removeSync([row.subscription, laneOf(row.state), row.next_at ?? 0, id]);
    else this.backlog.add(row.subscription, 1);
    const next: GistRow = { ...row, state: 'pending', retry_base: row.attempts, next_at: now, updated: now, replays: row.replays + 1 };
    delete next.rerun;
    delete next.orphaned;
    env.gists.putSync(id, next);
    env.open.putSync([row.subscription, id], now);
    const due = !ordered(next) || (wasOpen ? isHead(env, next) : join(env, this.leases, next));
    if (due) putDue(env, this.leases, [row.subscription, 0, now, id]);
    env.gistIndex.removeSync(['x', 'dead', id]);
    // A gist held back after a failed write is due now, like any replayed one (its floors go, in case
    // this transaction does not commit and its old entry stays).
    this.leases.release(id, 0);
    return next;
  }

  /** A new gist for an event and a subscription that has none (created after the event). */
  #create(eventId: number, subscription: string, now: number, key: string | null): GistRow | null {
    const { env } = this;
    const event = env.events.get(eventId);
    if (!event) return null;
    for (const id of this.#indexed(['e', eventId])) if (env.gists.get(id)?.subscription === subscription) return this.#reset(id, now);
    const id = this.ids.nextGist();
    const row: GistRow = {
      id,
      event_id: eventId,
      action: event.action,
      subscription,
      state: 'pending',
      attempts: 0,
      retry_base: 0,
      next_at: now,
      created: now,
      updated: now,
      replays: 1,
    };
    if (key !== null) row.okey = key;
    env.gists.putSync(id, row);
    env.open.putSync([subscription, id], now);
    if (!ordered(row) || join(env, this.leases, row)) putDue(env, this.leases, [subscription, 0, now, id]);
    env.gistIndex.putSync(['e', eventId, id], null);
    env.gistIndex.putSync(['s', subscription, id], null);
    this.backlog.add(subscription, 1);
    return row;
  }

  /** Gist rows matching a filter, in id order, from the most selective index. */
  *#rows(filter: GistFilter): Generator<GistRow> {
    const { env } = this;
    const range = filter.from !== undefined || filter.to !== undefined ? this.events.idRange(filter.from, filter.to) : ([1, MAX_ID] as [number, number]);
    if (!range) return;
    const keep = (row: GistRow | undefined): row is GistRow =>
      row !== undefined &&
      (filter.subscription === undefined || row.subscription === filter.subscription) &&
      (filter.event === undefined || row.event_id === filter.event) &&
      (filter.state === undefined || row.state === filter.state) &&
      (filter.subscriptions === undefined || filter.subscriptions.has(row.subscription)) &&
      row.event_id >= range[0] &&
      row.event_id <= range[1];
    let source: Iterable<number>;
    if (filter.event !== undefined) source = this.#indexed(['e', filter.event]);
    else if (filter.subscription !== undefined) source = this.#indexed(['s', filter.subscription]);
    else if (filter.state === 'dead') source = this.#indexed(['x', 'dead']);
    else if (filter.state === 'pending' || filter.state === 'failed') source = this.#openIds();
    else source = env.gists.getKeys() as Iterable<number>;
    for (const id of source) {
      const row = env.gists.get(id);
      if (keep(row)) yield row;
    }
  }

  /** Ids of open gists, subscription by subscription (oldest first within each). */
  *#openIds(): Generator<number> {
    for (const key of this.env.open.getKeys()) yield (key as [string, number])[1];
  }

  *#indexed(prefix: [string, string | number]): Generator<number> {
    for (const key of this.env.gistIndex.getKeys({ start: [...prefix, 0] as never, end: [...prefix, MAX_ID] as never })) {
      yield (key as unknown as [string, unknown, number])[2];
    }
  }
}

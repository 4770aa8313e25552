/**
 * The event log of the LMDB engine. One transaction appends a batch of events with all their gists
 * and queue entries; concurrent appends share commits (group commit, committer.ts). Reads stream from
 * LMDB cursors in key order; nothing loads the whole log into memory.
 */
import type { Clock, StoredEvent } from '../../types.js';
import type { AppendInput, AppendOutput, EventFilter, EventLog, Listing, Page } from '../contract.js';
import type { Committer } from './committer.js';
import type { Env } from './env.js';
import type { IdSource } from './ids.js';
import { putDue, type LeaseTable } from './delivery.js';
import { toStoredEvent, type EventRow, type GistRow } from './rows.js';
import type { BacklogCounts } from './backlog.js';
import type { RecentEvents } from './recent.js';
import { join, ordered } from './ordering.js';

const MAX_ID = Number.MAX_SAFE_INTEGER;
/** Rows a scan reads between yields to the event loop, so a long replay never stalls the daemon. */
const YIELD_EVERY = 2_000;

export class LmdbEventLog implements EventLog {
  constructor(
    private readonly env: Env,
    private readonly committer: Committer,
    private readonly ids: IdSource,
    private readonly leases: LeaseTable,
    private readonly backlog: BacklogCounts,
    private readonly clock: Clock,
    private readonly recent: RecentEvents,
  ) {}

  async append(inputs: readonly AppendInput[]): Promise<AppendOutput[]> {
    const touched = new Set<string>();
    const out = await this.committer.commit(
      () => inputs.map((input) => this.#appendOne(input, touched)),
      // Handed to the delivery source, which leases them next: before anything can lease their gists.
      (appended) => {
        for (const o of appended) if (o.gists > 0 && !o.duplicate) this.recent.add(o.event);
      },
    );
    for (const sub of touched) this.leases.wake(sub);
    return out;
  }

  #appendOne(input: AppendInput, touched: Set<string>): AppendOutput {
    const { env } = this;
    if (input.deduper !== undefined) {
      const existing = env.dedupe.get([input.action, input.deduper]);
      if (existing !== undefined) {
        const row = env.events.get(existing);
        if (row) return { event: toStoredEvent(row), duplicate: true, gists: 0 };
      }
    }
    const { id, ts } = this.ids.nextEvent(this.clock.now());
    const row: EventRow = { id, action: input.action, ts, payload: input.payload_json };
    if (input.deduper !== undefined) row.deduper = input.deduper;
    if (input.deliver_after !== undefined) row.after = input.deliver_after;
    env.events.putSync(id, row);
    env.byAction.putSync([input.action, id], null);
    if (input.deduper !== undefined) env.dedupe.putSync([input.action, input.deduper], id);

    const due = input.deliver_after ?? ts;
    for (let i = 0; i < input.subscriptions.length; i++) {
      const subscription = input.subscriptions[i]!;
      const key = input.keys?.[i] ?? null;
      const gistId = this.ids.nextGist();
      const gist: GistRow = {
        id: gistId,
        event_id: id,
        action: input.action,
        subscription,
        state: 'pending',
        attempts: 0,
        retry_base: 0,
        next_at: due,
        created: ts,
        updated: ts,
        replays: 0,
      };
      if (key !== null) gist.okey = key;
      env.gists.putSync(gistId, gist);
      env.open.putSync([subscription, gistId], due);
      // An ordered gist is due only as the head of its key; the others wait in line (ordering.ts).
      if (!ordered(gist) || join(env, this.leases, gist)) putDue(env, this.leases, [subscription, 0, due, gistId]);
      env.gistIndex.putSync(['e', id, gistId], null);
      env.gistIndex.putSync(['s', subscription, gistId], null);
      this.backlog.add(subscription, 1);
      touched.add(subscription);
    }
    return { event: toStoredEvent(row), duplicate: false, gists: input.subscriptions.length };
  }

  async get(id: number): Promise<StoredEvent | undefined> {
    const row = this.env.events.get(id);
    return row ? toStoredEvent(row) : undefined;
  }

  async list(filter: EventFilter, page: Page): Promise<Listing<StoredEvent>> {
    const skip = (page.page - 1) * page.per_page;
    const items: StoredEvent[] = [];
    let total = 0;
    for (const id of this.#ids(filter)) {
      if (total >= skip && items.length < page.per_page) {
        const row = this.env.events.get(id);
        if (row) items.push(toStoredEvent(row));
      }
      total++;
    }
    return { items, total };
  }

  async *scan(filter: EventFilter): AsyncGenerator<StoredEvent> {
    for (const row of this.#rows(filter)) {
      // Other work gets the thread every YIELD_EVERY rows read, matching or not.
      if (row === null) await new Promise((resolve) => setImmediate(resolve));
      else yield toStoredEvent(row);
    }
  }

  /**
   * Event rows matching a filter, in id order (or reverse): one range read of the log, or of an
   * action's index; null after every YIELD_EVERY rows read.
   */
  *#rows(filter: EventFilter): Generator<EventRow | null> {
    let n = 0;
    if (filter.action !== undefined) {
      for (const id of this.#ids(filter)) {
        const row = this.env.events.get(id);
        if (row) yield row;
        if (++n % YIELD_EVERY === 0) yield null;
      }
      return;
    }
    const range = this.idRange(filter.from, filter.to);
    if (!range) return;
    const [first, last] = range;
    const opts = filter.order === 'desc' ? { start: last, end: first - 1, reverse: true } : { start: first, end: last + 1 };
    for (const { value } of this.env.events.getRange(opts)) {
      if (!filter.actions || filter.actions.has(value.action)) yield value;
      if (++n % YIELD_EVERY === 0) yield null;
    }
  }

  /** The id range [first, last] of events whose time is within [from, to]; null when empty. */
  idRange(from: number | undefined, to: number | undefined): [number, number] | null {
    const first = from === undefined ? 1 : this.#firstIdAtOrAfter(from);
    const last = to === undefined ? MAX_ID : this.#firstIdAtOrAfter(to + 1) - 1;
    return first > last ? null : [first, last];
  }

  /**
   * The smallest id whose event time is >= ts (or one past the last id). Event times never decrease
   * with ids, so a binary search over the id space finds it in O(log n) cursor seeks.
   */
  #firstIdAtOrAfter(ts: number): number {
    let lo = 1;
    let hi = this.ids.lastEvent() + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = this.#firstRowFrom(mid);
      if (row === undefined || row.ts >= ts) hi = mid;
      else lo = row.id + 1;
    }
    return lo;
  }

  #firstRowFrom(id: number): EventRow | undefined {
    for (const { value } of this.env.events.getRange({ start: id, limit: 1 })) return value;
    return undefined;
  }

  /** Event ids matching a filter, in id order (or reverse), streamed. */
  *#ids(filter: EventFilter): Generator<number> {
    const range = this.idRange(filter.from, filter.to);
    if (!range) return;
    const [first, last] = range;
    const reverse = filter.order === 'desc';
    if (filter.action !== undefined) {
      if (filter.actions && !filter.actions.has(filter.action)) return;
      const opts = reverse
        ? { start: [filter.action, last], end: [filter.action, first - 1], reverse: true }
        : { start: [filter.action, first], end: [filter.action, last + 1] };
      for (const key of this.env.byAction.getKeys(opts as never)) yield (key as [string, number])[1];
      return;
    }
    const opts = reverse ? { start: last, end: first - 1, reverse: true } : { start: first, end: last + 1 };
    if (!filter.actions) {
      for (const key of this.env.events.getKeys(opts)) yield key as number;
      return;
    }
    for (const { key, value } of this.env.events.getRange(opts)) if (filter.actions.has(value.action)) yield key;
  }
}

/**
 * Reads over the log: listings with filters and pages, and the ordered scans replay uses. Everything
 * streams from LMDB cursors in key order; nothing loads the whole log into memory.
 */
import type { GistState, StoredEvent } from '../types.js';
import type { EventRow, GistRow, Store } from './store.js';
import { toStoredEvent } from './event-log.js';

export interface Page {
  readonly page: number;
  readonly per_page: number;
}

export interface EventFilter {
  readonly action?: string | undefined;
  /** Unix ms, inclusive. */
  readonly from?: number | undefined;
  /** Unix ms, inclusive. */
  readonly to?: number | undefined;
  /** Restricts to these actions (an application's own), when set. */
  readonly actions?: ReadonlySet<string> | undefined;
  readonly order?: 'asc' | 'desc';
}

export interface GistFilter {
  readonly subscription?: string | undefined;
  readonly event?: number | undefined;
  readonly state?: GistState | undefined;
  /** Restricts to these subscriptions (an application's own), when set. */
  readonly subscriptions?: ReadonlySet<string> | undefined;
}

const MAX_ID = Number.MAX_SAFE_INTEGER;

export class LogQuery {
  constructor(private readonly store: Store) {}

  event(id: number): StoredEvent | undefined {
    const row = this.store.events.get(id);
    return row ? toStoredEvent(row) : undefined;
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
    let hi = this.#lastId() + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = this.#firstRowFrom(mid);
      if (row === undefined) hi = mid;
      else if (row.ts >= ts) hi = mid;
      else lo = row.id + 1;
    }
    return lo;
  }

  #firstRowFrom(id: number): EventRow | undefined {
    for (const { value } of this.store.events.getRange({ start: id, limit: 1 })) return value;
    return undefined;
  }

  #lastId(): number {
    for (const key of this.store.events.getKeys({ reverse: true, limit: 1 })) return key as number;
    return 0;
  }

  /** Event ids matching a filter, in id order, streamed. */
  *eventIds(filter: EventFilter): Generator<number> {
    const range = this.idRange(filter.from, filter.to);
    if (!range) return;
    const [first, last] = range;
    const reverse = filter.order === 'desc';
    if (filter.action !== undefined) {
      if (filter.actions && !filter.actions.has(filter.action)) return;
      const opts = reverse
        ? { start: [filter.action, last], end: [filter.action, first - 1], reverse: true }
        : { start: [filter.action, first], end: [filter.action, last + 1] };
      for (const key of this.store.byAction.getKeys(opts as never)) yield (key as [string, number])[1];
      return;
    }
    const opts = reverse ? { start: last, end: first - 1, reverse: true } : { start: first, end: last + 1 };
    if (!filter.actions) {
      for (const key of this.store.events.getKeys(opts)) yield key as number;
      return;
    }
    for (const { key, value } of this.store.events.getRange(opts)) if (filter.actions.has(value.action)) yield key;
  }

  /** One page of events and the total that match. */
  events(filter: EventFilter, page: Page): { items: StoredEvent[]; total: number } {
    const skip = (page.page - 1) * page.per_page;
    const items: StoredEvent[] = [];
    let total = 0;
    for (const id of this.eventIds(filter)) {
      if (total >= skip && items.length < page.per_page) {
        const e = this.event(id);
        if (e) items.push(e);
      }
      total++;
    }
    return { items, total };
  }

  /** Gist ids matching a filter, in id order, using the most selective index. */
  *gistIds(filter: GistFilter): Generator<number> {
    const { store } = this;
    const keep = (row: GistRow | undefined): row is GistRow =>
      row !== undefined &&
      (filter.subscription === undefined || row.subscription === filter.subscription) &&
      (filter.event === undefined || row.event_id === filter.event) &&
      (filter.state === undefined || row.state === filter.state) &&
      (filter.subscriptions === undefined || filter.subscriptions.has(row.subscription));

    let source: Iterable<number>;
    if (filter.event !== undefined) source = indexed(store, ['e', filter.event]);
    else if (filter.subscription !== undefined) source = indexed(store, ['s', filter.subscription]);
    else if (filter.state === 'dead') source = indexed(store, ['x', 'dead']);
    else if (filter.state === 'pending' || filter.state === 'failed') source = store.open.getKeys() as Iterable<number>;
    else source = store.gists.getKeys() as Iterable<number>;
    for (const id of source) if (keep(store.gists.get(id))) yield id;
  }

  gists(filter: GistFilter, page: Page): { items: GistRow[]; total: number } {
    const skip = (page.page - 1) * page.per_page;
    const items: GistRow[] = [];
    let total = 0;
    for (const id of this.gistIds(filter)) {
      if (total >= skip && items.length < page.per_page) {
        const row = this.store.gists.get(id);
        if (row) items.push(row);
      }
      total++;
    }
    return { items, total };
  }

  /** Gist ids of one event. */
  gistsOfEvent(eventId: number): number[] {
    return [...indexed(this.store, ['e', eventId])];
  }

  eventCount(): number {
    return this.store.events.getCount();
  }
}

function* indexed(store: Store, prefix: [string, string | number]): Generator<number> {
  const start = [...prefix, 0];
  const end = [...prefix, MAX_ID];
  for (const key of store.gistIndex.getKeys({ start: start as never, end: end as never })) {
    yield (key as unknown as [string, unknown, number])[2];
  }
}

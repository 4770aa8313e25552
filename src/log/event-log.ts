/**
 * Appending events. One LMDB transaction appends an event (or a whole batch) and creates its gists;
 * the promise resolves only after that transaction commits (and, under `durability: fsync`, is
 * flushed). Concurrent appends share commits (group commit, see committer.ts).
 */
import type { Clock, StoredEvent } from '../types.js';
import type { EventRow, GistRow, Store } from './store.js';

/** One event to append, already validated. */
export interface AppendInput {
  readonly action: string;
  readonly payload_json: string;
  readonly deduper?: string | undefined;
  /** Unix ms before which the first delivery is not attempted. */
  readonly deliver_after?: number | undefined;
  /** Subscriptions that match the action now: one gist each. */
  readonly subscriptions: readonly string[];
}

/** A gist created by an append, for the scheduler. */
export interface NewGist {
  readonly id: number;
  readonly subscription: string;
  readonly due: number;
}

export interface AppendOutput {
  readonly event: StoredEvent;
  /** True when the deduper matched an earlier event: nothing was written. */
  readonly duplicate: boolean;
  readonly gists: readonly NewGist[];
}

/** Consecutive events mostly share a millisecond: format each millisecond once. */
let lastIsoMs = -1;
let lastIso = '';
function isoOf(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    action: row.action,
    payload_json: row.payload,
    deduper: row.deduper,
    timestamp: isoOf(row.ts),
    deliver_after: row.after,
  };
}

/** Writes events and their gists. Ids come from in-memory counters seeded from the log at open. */
export class EventAppender {
  #nextEventId: number;
  #nextGistId: number;
  #lastTs: number;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {
    const lastEvent = lastKey(store.events);
    const lastGist = lastKey(store.gists);
    this.#nextEventId = (lastEvent ?? 0) + 1;
    this.#nextGistId = (lastGist ?? 0) + 1;
    this.#lastTs = lastEvent === undefined ? 0 : (store.events.get(lastEvent)?.ts ?? 0);
  }

  /** Allocates a gist id (also used by replays that create gists). */
  nextGistId(): number {
    return this.#nextGistId++;
  }

  /**
   * Appends all inputs in one transaction: either every event and gist is committed or none is.
   * Repeated dedupers (against the log or earlier in the same batch) return the original event.
   */
  async append(inputs: readonly AppendInput[]): Promise<AppendOutput[]> {
    const { store } = this;
    return store.commit(() => inputs.map((input) => this.#appendOne(input)));
  }

  #appendOne(input: AppendInput): AppendOutput {
    const { store } = this;
    if (input.deduper !== undefined) {
      const existing = store.dedupe.get([input.action, input.deduper]);
      if (existing !== undefined) {
        const row = store.events.get(existing);
        if (row) return { event: toStoredEvent(row), duplicate: true, gists: [] };
      }
    }
    // Timestamps never decrease with ids, even if the wall clock steps back, so time ranges map to id ranges.
    const ts = Math.max(this.clock.now(), this.#lastTs);
    this.#lastTs = ts;
    const id = this.#nextEventId++;
    const row: EventRow = { id, action: input.action, ts, payload: input.payload_json };
    if (input.deduper !== undefined) row.deduper = input.deduper;
    if (input.deliver_after !== undefined) row.after = input.deliver_after;
    store.events.putSync(id, row);
    store.byAction.putSync([input.action, id], null);
    if (input.deduper !== undefined) store.dedupe.putSync([input.action, input.deduper], id);

    const due = input.deliver_after ?? ts;
    const gists: NewGist[] = [];
    for (const subscription of input.subscriptions) {
      const gistId = this.#nextGistId++;
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
      store.gists.putSync(gistId, gist);
      store.open.putSync(gistId, [subscription, due]);
      store.gistIndex.putSync(['e', id, gistId], null);
      store.gistIndex.putSync(['s', subscription, gistId], null);
      gists.push({ id: gistId, subscription, due });
    }
    return { event: toStoredEvent(row), duplicate: false, gists };
  }
}

function lastKey(db: Store['events'] | Store['gists']): number | undefined {
  for (const key of db.getKeys({ reverse: true, limit: 1 })) return key as number;
  return undefined;
}

export { storageError } from './storage-error.js';

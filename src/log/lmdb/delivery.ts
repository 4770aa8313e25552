/**
 * The delivery queue of the LMDB engine: the `due` database is an index of open gists by subscription,
 * lane and due time, read in bounded windows, so neither memory nor boot time depends on the backlog.
 *
 * A backlog must not starve new work. Due gists are taken round-robin from three windows: retries
 * (lane 1, oldest first), first attempts oldest first, and first attempts newest first (lane 0 read
 * from both ends). A freshly published or replayed gist is at the newest end, so it goes out at once
 * however many gists wait before it, and the oldest keep moving all the same.
 *
 * Leases are held in memory: the data dir lock guarantees one daemon per log, so a lease dies with its
 * process, and at boot every open gist is simply due again (as bullmq recovers stalled jobs). A lease
 * expires after `lease_ms`; the gist is then handed out again with a new token, and a late `record`
 * with the old token is refused.
 */
import type { Clock, StoredEvent } from '../../types.js';
import { sleep } from '../../types.js';
import type { DeliverySource, Lease, LeaseOptions } from '../contract.js';
import type { DueKey, Env } from './env.js';
import { lmdbGistId, toGist, toStoredEvent } from './rows.js';

interface Held {
  /** Null once released: the gist is held back until `expires` but nobody may record with it. */
  token: string | null;
  expires: number;
  readonly subscription: string;
}

/** The leases of this process and the waits of the subscriptions' pull loops. */
export class LeaseTable {
  readonly #held = new Map<number, Held>();
  readonly #waiters = new Map<string, Set<() => void>>();
  #next = 0;

  constructor(private readonly clock: Clock) {}

  /** True while `token` is the gist's lease (expired or not: nobody else took it yet). */
  holds(gist: number, token: string): boolean {
    return this.#held.get(gist)?.token === token;
  }

  /** True while a holder's attempt is under way (its lease has a token, expired or not). */
  inFlight(gist: number): boolean {
    const h = this.#held.get(gist);
    return h !== undefined && h.token !== null;
  }

  /** True when the gist may not be handed out now. */
  busy(gist: number, now: number): boolean {
    const h = this.#held.get(gist);
    return h !== undefined && h.expires > now;
  }

  take(gist: number, subscription: string, leaseMs: number): { token: string; expires: number } {
    const token = `${gist}.${++this.#next}`;
    const expires = this.clock.now() + leaseMs;
    this.#held.set(gist, { token, expires, subscription });
    return { token, expires };
  }

  /** Ends a lease: recorded (hold 0) or released to come back after `holdMs`. */
  drop(gist: number, holdMs = 0): void {
    const h = this.#held.get(gist);
    if (!h) return;
    if (holdMs <= 0) this.#held.delete(gist);
    else {
      h.token = null;
      h.expires = this.clock.now() + holdMs;
    }
    this.wake(h.subscription);
  }

  /** Leases with a holder (in flight). */
  get active(): number {
    let n = 0;
    for (const h of this.#held.values()) if (h.token !== null) n++;
    return n;
  }

  /** Of one subscription: gists held, and the earliest time one comes free. */
  of(subscription: string): { count: number; nextFree: number } {
    let count = 0;
    let nextFree = Infinity;
    const now = this.clock.now();
    for (const [id, h] of this.#held) {
      if (h.subscription !== subscription) continue;
      // Forget holds that ran out long ago, so the table only ever holds what is in flight.
      if (h.token === null && h.expires <= now) {
        this.#held.delete(id);
        continue;
      }
      count++;
      nextFree = Math.min(nextFree, h.expires);
    }
    return { count, nextFree };
  }

  /** Wakes the pull loop of `subscription`: something new may be due. */
  wake(subscription: string): void {
    const set = this.#waiters.get(subscription);
    if (!set) return;
    this.#waiters.delete(subscription);
    for (const fn of set) fn();
  }

  /** Waits up to `ms` for a wake of `subscription`. */
  async wait(subscription: string, ms: number, signal?: AbortSignal): Promise<void> {
    const inner = new AbortController();
    let set = this.#waiters.get(subscription);
    if (!set) this.#waiters.set(subscription, (set = new Set()));
    const wake = () => inner.abort();
    set.add(wake);
    const onAbort = () => inner.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await sleep(this.clock, ms, inner.signal);
    } finally {
      set.delete(wake);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

const MAX_ID = Number.MAX_SAFE_INTEGER;
/** Events leased recently, kept decoded: an event with k subscriptions is leased k times, close together. */
const RECENT_EVENTS = 512;

export class LmdbDeliverySource implements DeliverySource {
  /** Per subscription: which window goes first, rotating so that none starves with few slots. */
  readonly #turn = new Map<string, number>();
  /**
   * Decoded events by id, oldest first, at most RECENT_EVENTS. Events never change once written, and
   * retention never prunes one with an open gist, so a hit is always the row in the log.
   */
  readonly #recent = new Map<number, StoredEvent>();

  constructor(
    private readonly env: Env,
    private readonly leases: LeaseTable,
    private readonly clock: Clock,
  ) {}

  get inflight(): number {
    return this.leases.active;
  }

  async lease(subscription: string, max: number, options: LeaseOptions): Promise<Lease[]> {
    if (max <= 0) return [];
    const deadline = this.clock.now() + options.wait_ms;
    for (;;) {
      const now = this.clock.now();
      const out = this.#take(subscription, max, now, options.lease_ms);
      if (out.length > 0 || now >= deadline || options.signal?.aborted) return out;
      const wakeAt = Math.min(deadline, this.#nextDue(subscription, now), this.leases.of(subscription).nextFree);
      await this.leases.wait(subscription, wakeAt - now, options.signal);
    }
  }

  release(lease: Lease, retryInMs: number): void {
    this.leases.drop(lmdbGistId(lease.gist.id), retryInMs);
  }

  #take(subscription: string, max: number, now: number, leaseMs: number): Lease[] {
    const limit = max + this.leases.of(subscription).count;
    const oldest = this.#due(subscription, 0, now, limit, false);
    // A first-attempt lane shorter than the window was read whole: its newest end adds nothing.
    const newest = oldest.read < limit ? oldest : this.#due(subscription, 0, now, limit, true);
    const windows = [this.#due(subscription, 1, now, limit, false), oldest, newest];
    const turn = (this.#turn.get(subscription) ?? 0) + 1;
    this.#turn.set(subscription, turn);
    const picked = new Map<number, DueKey>();
    const cursors = [0, 0, 0];
    for (let progress = true; picked.size < max && progress; ) {
      progress = false;
      for (let k = 0; k < 3 && picked.size < max; k++) {
        const w = (turn + k) % 3;
        const window = windows[w]!;
        // Both ends of lane 0 meet in the middle: skip what the other end already took.
        while (cursors[w]! < window.length && picked.has(window[cursors[w]!]![3])) cursors[w]!++;
        const key = window[cursors[w]!];
        if (key === undefined) continue;
        picked.set(key[3], key);
        cursors[w]!++;
        progress = true;
      }
    }
    const out: Lease[] = [];
    // The windows decide which gists go; within the batch they go in due order (publish order when
    // nothing waits), since the attempts of one batch start together.
    const order = [...picked.values()].sort((x, y) => x[2] - y[2] || x[3] - y[3]);
    for (const [, , , id] of order) {
      const row = this.env.gists.get(id);
      if (!row || (row.state !== 'pending' && row.state !== 'failed')) continue;
      const event = this.#event(row.event_id);
      if (!event) continue;
      const { token, expires } = this.leases.take(id, subscription, leaseMs);
      out.push({ gist: toGist(row), event, token, expires_at: expires });
    }
    return out;
  }

  #event(id: number): StoredEvent | undefined {
    const hit = this.#recent.get(id);
    if (hit) return hit;
    const row = this.env.events.get(id);
    if (!row) return undefined;
    const event = toStoredEvent(row);
    this.#recent.set(id, event);
    if (this.#recent.size > RECENT_EVENTS) this.#recent.delete(this.#recent.keys().next().value!);
    return event;
  }

  /** Due keys of one lane (due ≤ now) that nobody holds, oldest (or newest) first, at most `limit` read. */
  #due(subscription: string, lane: number, now: number, limit: number, newest: boolean): DueKey[] & { read: number } {
    const out = Object.assign([] as DueKey[], { read: 0 });
    const range = newest
      ? { start: [subscription, lane, now + 1, 0], end: [subscription, lane, 0, 0], reverse: true, limit }
      : { start: [subscription, lane, 0, 0], end: [subscription, lane, now + 1, 0], limit };
    for (const key of this.env.due.getKeys(range as never)) {
      out.read++;
      const k = key as DueKey;
      if (!this.leases.busy(k[3], now)) out.push(k);
    }
    return out;
  }

  /** The earliest due time after `now` in either lane, or Infinity. */
  #nextDue(subscription: string, now: number): number {
    let next = Infinity;
    for (const lane of [0, 1]) {
      for (const key of this.env.due.getKeys({ start: [subscription, lane, now + 1, 0], end: [subscription, lane, MAX_ID, MAX_ID], limit: 1 })) {
        next = Math.min(next, (key as DueKey)[2]);
      }
    }
    return next;
  }
}

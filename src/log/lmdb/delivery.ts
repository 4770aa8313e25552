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
import type { RecentEvents } from './recent.js';

interface Held {
  /** Null once released: the gist is held back until `expires` but nobody may record with it. */
  token: string | null;
  expires: number;
  readonly subscription: string;
}

/**
 * The in-memory side of the delivery queue: this process's leases, the waits of the subscriptions'
 * pull loops, and each subscription's floors in `due`.
 *
 * A floor is a key of one lane (first attempts or retries) below which every entry is held: the
 * oldest-first window is read from the floor, not from the start of the lane, so the gists in flight
 * are not read again and again. A floor is dropped whenever that could stop being true: an entry put
 * below it (a replay, a retry due early, the next gist of an ordered key), or a hold below it running
 * out (a released lease, an attempt that outlived its lease). Dropping a floor only costs a longer
 * read; keeping a wrong one would hide a due gist, so every doubt drops it.
 */
export class LeaseTable {
  readonly #held = new Map<number, Held>();
  /** The same holds, by subscription, so a pull loop only ever looks at its own. */
  readonly #bySubscription = new Map<string, Map<number, Held>>();
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Per subscription: the floor of lane 0 and of lane 1 (undefined: read the lane from its start). */
  readonly #floors = new Map<string, [DueKey | undefined, DueKey | undefined]>();
  #active = 0;
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
    const old = this.#held.get(gist);
    if (old === undefined || old.token === null) this.#active++;
    if (old !== undefined && old.subscription !== subscription) this.#forget(gist, old);
    const held: Held = { token, expires, subscription };
    this.#held.set(gist, held);
    let mine = this.#bySubscription.get(subscription);
    if (!mine) this.#bySubscription.set(subscription, (mine = new Map()));
    mine.set(gist, held);
    return { token, expires };
  }

  /** Ends a lease whose outcome is recorded (its entry in `due` is gone, or put again with `putDue`). */
  drop(gist: number): void {
    const h = this.#held.get(gist);
    if (!h) return;
    if (h.token !== null) this.#active--;
    this.#forget(gist, h);
    this.wake(h.subscription);
  }

  /**
   * Hands a lease back unrecorded: the gist's entry is still in `due`, below the floor, so the floors
   * of its subscription go. It is due again at once, or after `holdMs`.
   */
  release(gist: number, holdMs: number): void {
    const h = this.#held.get(gist);
    if (!h) return;
    if (h.token !== null) this.#active--;
    this.#floors.delete(h.subscription);
    if (holdMs <= 0) this.#forget(gist, h);
    else {
      h.token = null;
      h.expires = this.clock.now() + holdMs;
    }
    this.wake(h.subscription);
  }

  #forget(gist: number, h: Held): void {
    this.#held.delete(gist);
    const mine = this.#bySubscription.get(h.subscription);
    mine?.delete(gist);
    if (mine?.size === 0) this.#bySubscription.delete(h.subscription);
  }

  /** Leases with a holder (in flight). */
  get active(): number {
    return this.#active;
  }

  /**
   * Of one subscription: gists held, and the earliest time one comes free. A hold found run out drops
   * the subscription's floors: its gist may be handed out again.
   */
  of(subscription: string): { count: number; nextFree: number } {
    let count = 0;
    let nextFree = Infinity;
    const mine = this.#bySubscription.get(subscription);
    if (!mine) return { count, nextFree };
    const now = this.clock.now();
    for (const [id, h] of mine) {
      if (h.expires <= now) {
        this.#floors.delete(subscription);
        // Forget holds that ran out, so the table only ever holds what is in flight.
        if (h.token === null) {
          this.#forget(id, h);
          continue;
        }
      }
      count++;
      nextFree = Math.min(nextFree, h.expires);
    }
    return { count, nextFree };
  }

  /** The floor of a lane of `subscription`'s due entries, if one is known. */
  floor(subscription: string, lane: number): DueKey | undefined {
    return this.#floors.get(subscription)?.[lane];
  }

  /** Moves a lane's floor up to `key` (every entry below it is held). */
  raise(subscription: string, lane: number, key: DueKey): void {
    let floors = this.#floors.get(subscription);
    if (!floors) this.#floors.set(subscription, (floors = [undefined, undefined]));
    floors[lane] = key;
  }

  /** Called for every entry put in `due`: one below a lane's floor drops that floor. */
  queued(key: DueKey): void {
    const floors = this.#floors.get(key[0]);
    const f = floors?.[key[1]];
    if (f !== undefined && (key[2] < f[2] || (key[2] === f[2] && key[3] < f[3]))) floors![key[1]] = undefined;
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

/** Puts an entry in `due` (inside a write transaction), telling the lease table. */
export function putDue(env: Env, leases: LeaseTable, key: DueKey): void {
  env.due.putSync(key, null);
  leases.queued(key);
}

const MAX_ID = Number.MAX_SAFE_INTEGER;

/** Keys read from one window of a lane: the unheld ones, how many were read, and the last read. */
type Window = DueKey[] & { read: number; last: DueKey | undefined };

export class LmdbDeliverySource implements DeliverySource {
  /** Per subscription: which window goes first, rotating so that none starves with few slots. */
  readonly #turn = new Map<string, number>();
  constructor(
    private readonly env: Env,
    private readonly leases: LeaseTable,
    private readonly clock: Clock,
    private readonly recent: RecentEvents,
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
    const id = lmdbGistId(lease.gist.id);
    // A lease that ran out and went to another holder is not this holder's to give back.
    if (this.leases.holds(id, lease.token)) this.leases.release(id, retryInMs);
  }

  #take(subscription: string, max: number, now: number, leaseMs: number): Lease[] {
    const limit = max + this.leases.of(subscription).count;
    const oldest = this.#due(subscription, 0, now, limit, false);
    // A first-attempt lane shorter than the window was read whole: its newest end adds nothing.
    const newest = oldest.read < limit ? oldest : this.#due(subscription, 0, now, limit, true);
    const retries = this.#due(subscription, 1, now, limit, false);
    const windows = [retries, oldest, newest];
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
    this.#raise(subscription, 0, oldest, picked);
    this.#raise(subscription, 1, retries, picked);
    return out;
  }

  /**
   * After a take: the lane's floor moves up to its first entry read and neither held nor taken, or
   * past the last entry read when every one was. (A picked entry whose gist was not open is no
   * gist to deliver, so it may stay below the floor.)
   */
  #raise(subscription: string, lane: number, window: Window, picked: ReadonlyMap<number, DueKey>): void {
    for (const key of window) {
      if (!picked.has(key[3])) return this.leases.raise(subscription, lane, key);
    }
    const last = window.last;
    if (last !== undefined) this.leases.raise(subscription, lane, [subscription, lane, last[2], last[3] + 1]);
  }

  #event(id: number): StoredEvent | undefined {
    const hit = this.recent.get(id);
    if (hit) return hit;
    const row = this.env.events.get(id);
    if (!row) return undefined;
    const event = toStoredEvent(row);
    this.recent.add(event);
    return event;
  }

  /**
   * Due keys of one lane (due ≤ now) that nobody holds, oldest (or newest) first, at most `limit`
   * read, above the lane's floor (everything below it is held).
   */
  #due(subscription: string, lane: number, now: number, limit: number, newest: boolean): Window {
    const out: Window = Object.assign([] as DueKey[], { read: 0, last: undefined as DueKey | undefined });
    const floor = this.leases.floor(subscription, lane) ?? [subscription, lane, 0, 0];
    const top = [subscription, lane, now + 1, 0];
    const range = newest ? { start: top, end: floor, reverse: true, limit } : { start: floor, end: top, limit };
    for (const key of this.env.due.getKeys(range as never)) {
      out.read++;
      const k = key as DueKey;
      out.last = k;
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

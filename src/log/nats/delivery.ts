/**
 * Hand-out in the JetStream engine. The server decides WHO holds a gist: every instance pulls from
 * the same durable consumers (routes.ts), each message goes to one of them, and a message whose
 * holder dies goes to another after `ack_wait` (renewed with +WPI while it is held). amebo decides
 * WHEN, on its own clock like LMDB: a pulled message waits in this process's window until its gist is
 * due, is leased to the dispatcher with a token and an expiry, and its outcome is recorded with a
 * compare-and-swap on the gist's subject (gists.ts), so a stale holder can never record an attempt.
 *
 * The window is bounded (WINDOW messages per subscription); a gist due further off than HOLD_MS is
 * handed back to the server with `nak(delay)` and returns when due, so memory does not grow with the
 * backlog. Within the window, due gists are taken round-robin from three lanes as in LMDB: retries
 * oldest first, first attempts oldest first and newest first, so retries never starve new events.
 *
 * Read-your-writes: a follower that leads a consumer may apply a write a moment after the stream
 * leader acknowledged it. A lease asked for right after this process appended a gist waits (a little,
 * in real time) until the consumer has handed that event out, so its own appends are never missed.
 */
import type { Msg } from '@nats-io/nats-core';
import type { Clock } from '../../types.js';
import { sleep } from '../../types.js';
import { amebo } from '../../errors.js';
import { outcomeOf, type AttemptRecord, type DeliverySource, type Gist, type Lease, type LeaseOptions, type Transition } from '../contract.js';
import type { NatsContext } from './connection.js';
import { getMessage } from './connection.js';
import { PullHandle, settle, type Delivery } from './pull.js';
import { freshGist, gistId, readEvent, type EventRecord } from './records.js';
import type { GistRecords } from './gist-records.js';
import type { Route, Routes } from './routes.js';

/** Messages one subscription may hold in this process at once. */
const WINDOW = 256;
/** A gist due further off than this goes back to the server until it is due. */
const HOLD_MS = 20_000;
/** How long a lease waits (real time) for this process's own append to reach its consumer. */
const OWN_WRITE_WAIT_MS = 2_000;

interface HeldMsg {
  readonly msg: Msg;
  readonly kind: 'route' | 'ticket';
  /** Real ms of the last delivery or +WPI: the server's ack wait runs from here. */
  touched: number;
}

interface Held {
  readonly key: string;
  readonly event: EventRecord;
  gist: Gist;
  /** Sequence of the gist's last record on its subject (0: none yet). */
  seq: number;
  readonly msgs: HeldMsg[];
  /** amebo-clock ms from which it may be handed out. */
  due: number;
  lease: { token: string; expires: number } | null;
}

/** One subscription's window in this process. */
class Window {
  readonly held = new Map<string, Held>();
  readonly handles = new Map<string, PullHandle>();
  readonly processing = new Set<Promise<void>>();
  readonly waiters = new Set<() => void>();
  /** Highest event sequence this process appended with a gist for the subscription. */
  appended = 0;
  /** Highest event sequence this process received from the subscription's routes. */
  seen = 0;
  turn = 0;

  constructor(readonly subscription: string) {}

  wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  /** Resolves at the next wake, or after `ms` of real time. */
  arrival(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }
}

export class NatsDeliverySource implements DeliverySource {
  readonly #windows = new Map<string, Window>();
  readonly #keepAlive: NodeJS.Timeout;
  #next = 0;
  #closed = false;
  readonly #unroute: () => void;
  /** Told the sequence of every event handed out here (the event log's bound for copies.ts). */
  onSeen: (seq: number) => void = () => undefined;

  constructor(
    private readonly ctx: NatsContext,
    private readonly routes: Routes,
    private readonly records: GistRecords,
  ) {
    const every = Math.max(250, Math.floor(ctx.settings.ack_wait_ms / 3));
    this.#keepAlive = setInterval(() => this.#renew(every), every);
    this.#keepAlive.unref();
    void this.#followStatus();
    this.#unroute = routes.onRoute((route) => {
      const w = this.#windows.get(route.subscription);
      if (w) {
        this.#handle(w, route);
        w.wake();
      }
    });
  }

  /** After a reconnect the server has forgotten this process's pull requests: forget them too. */
  async #followStatus(): Promise<void> {
    for await (const status of this.ctx.nc.status()) {
      if (status.type !== 'reconnect') continue;
      for (const w of this.#windows.values()) {
        for (const handle of w.handles.values()) handle.reset();
        w.wake();
      }
    }
  }

  get #clock(): Clock {
    return this.ctx.clock;
  }

  get inflight(): number {
    let n = 0;
    for (const w of this.#windows.values()) for (const h of w.held.values()) if (h.lease) n++;
    return n;
  }

  /** Notes that this process stored an event with a gist for `subscription` (read-your-writes). */
  appended(subscription: string, seq: number): void {
    const w = this.#window(subscription);
    w.appended = Math.max(w.appended, seq);
    w.wake();
  }

  async lease(subscription: string, max: number, options: LeaseOptions): Promise<Lease[]> {
    if (max <= 0 || this.#closed) return [];
    const w = this.#window(subscription);
    const deadline = this.#clock.now() + options.wait_ms;
    for (;;) {
      // This process's own appends are in the window before it chooses (read-your-writes).
      if (w.appended > w.seen) await this.#topUp(w, max);
      let out = this.#take(w, max, options.lease_ms);
      if (out.length < max) {
        await this.#topUp(w, max - out.length);
        out = out.concat(this.#take(w, max - out.length, options.lease_ms));
      }
      const now = this.#clock.now();
      if (out.length > 0 || now >= deadline || options.signal?.aborted || this.#closed) {
        // A pull stays open, so new first attempts keep arriving while retries are due.
        this.#prefetch(w, max);
        return out;
      }
      // Nothing due: sleep on amebo's clock until the deadline, the next due gist or lease expiry,
      // whichever is first; a message arriving on the open pull wakes us.
      this.#prefetch(w, max);
      const wakeAt = Math.min(deadline, this.#nextChange(w));
      await this.#wait(w, wakeAt - now, options.signal);
    }
  }

  release(lease: Lease, retryInMs: number): void {
    const h = this.#held(lease);
    if (!h) return;
    h.lease = null;
    h.due = this.#clock.now() + retryInMs;
    if (retryInMs > HOLD_MS) this.#handBack(this.#window(lease.gist.subscription), h, retryInMs);
    this.#window(lease.gist.subscription).wake();
  }

  /**
   * Records one attempt under `lease` (GistStore.record): a compare-and-swap on the gist's subject,
   * then the messages are settled (ack, term, or kept or handed back until the retry is due).
   */
  async record(lease: Lease, attempt: AttemptRecord, next: Transition): Promise<Gist> {
    const w = this.#window(lease.gist.subscription);
    const h = this.#held(lease);
    if (!h) throw stale(lease);
    const n = h.gist.attempts + 1;
    const row = { n, at: attempt.at, status: attempt.status, ms: attempt.duration_ms, error: attempt.error, response: attempt.response, outcome: outcomeOf(next), replay: attempt.replay };
    let updated: Gist = {
      ...h.gist,
      state: next.state,
      attempts: n,
      next_at: next.state === 'failed' ? next.retry_at : null,
      updated: attempt.at,
      last_status: attempt.status,
      last_error: attempt.error,
    };
    let expected = h.seq;
    for (let tries = 0; ; tries++) {
      const result = await this.records.append(h.event, updated, expected, row);
      if (result.ok) {
        h.seq = result.seq;
        break;
      }
      // Someone wrote the gist meanwhile. A replay (same attempts, more replays) does not void this
      // attempt: it is recorded, and the gist then goes out again now, counting retries afresh, as
      // LMDB does with a replay that comes while an attempt is in flight. Anything else means
      // another holder recorded this attempt: ours is refused.
      const current = result.current;
      if (tries >= 3 || !current || current.gist.attempts !== h.gist.attempts || current.gist.replays <= h.gist.replays) {
        this.#drop(w, h);
        throw stale(lease);
      }
      updated = { ...updated, state: 'pending', next_at: attempt.at, retry_base: n, replays: current.gist.replays };
      expected = current.seq;
    }
    h.gist = updated;
    h.lease = null;
    if (updated.state === 'delivered' || updated.state === 'dead') {
      for (const m of h.msgs) (updated.state === 'dead' && m.kind === 'route' ? settle.term : settle.ack)(this.ctx.nc, m.msg);
      w.held.delete(h.key);
    } else {
      h.due = updated.next_at ?? attempt.at;
      const wait = h.due - this.#clock.now();
      if (wait > HOLD_MS) this.#handBack(w, h, wait);
    }
    w.wake();
    return updated;
  }

  /** A gist of this process changed by a replay: its window entry (if any) follows. */
  replayed(gist: Gist, seq: number): 'leased' | 'held' | 'absent' {
    const h = this.#windows.get(gist.subscription)?.held.get(String(gist.id));
    if (!h) return 'absent';
    if (h.lease) return 'leased';
    h.gist = gist;
    h.seq = seq;
    h.due = gist.next_at ?? this.#clock.now();
    this.#windows.get(gist.subscription)!.wake();
    return 'held';
  }

  /** Whether this process holds the gist with a lease now (a replay then waits for its outcome). */
  leased(subscription: string, id: string): boolean {
    return this.#windows.get(subscription)?.held.get(id)?.lease != null;
  }

  /** Hands every held message back to the server at once, so other instances take them now. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keepAlive);
    this.#unroute();
    const naks: Array<Promise<unknown>> = [];
    for (const w of this.#windows.values()) {
      w.wake();
      for (const handle of w.handles.values()) handle.close();
      await Promise.allSettled([...w.processing]);
      // Redeliver at once, and wait until the server has taken each nak in (an acked ack), so the
      // next process to pull, this one restarted included, gets them straight away.
      for (const h of w.held.values()) for (const m of h.msgs) naks.push(this.ctx.nc.request(m.msg.reply!, '-NAK', { timeout: 2_000 }).catch(() => undefined));
      w.held.clear();
    }
    await Promise.all(naks);
  }

  #window(subscription: string): Window {
    let w = this.#windows.get(subscription);
    if (!w) {
      w = new Window(subscription);
      this.#windows.set(subscription, w);
      for (const route of this.routes.of(subscription)) this.#handle(w, route);
    }
    return w;
  }

  #handle(w: Window, route: Route): void {
    if (w.handles.has(route.name) || this.#closed) return;
    w.handles.set(route.name, new PullHandle(this.ctx.nc, route.stream, route.name, (m, d) => this.#arrived(w, route, m, d)));
  }

  #held(lease: Lease): Held | undefined {
    const h = this.#windows.get(lease.gist.subscription)?.held.get(String(lease.gist.id));
    return h?.lease?.token === lease.token ? h : undefined;
  }

  #room(w: Window, want: number): number {
    return Math.max(1, Math.min(WINDOW - w.held.size, Math.max(want, 64)));
  }

  /** Pulls what is there now (and, after an own append, waits for it), then waits for its processing. */
  async #topUp(w: Window, want: number): Promise<void> {
    if (w.handles.size === 0) await this.routes.refresh();
    this.#makeRoom(w, want);
    const until = Date.now() + OWN_WRITE_WAIT_MS;
    for (;;) {
      const waitOwn = w.appended > w.seen;
      await Promise.all([...w.handles.values()].map((h) => h.pull({ batch: this.#room(w, want), noWait: true, expiresMs: waitOwn ? 500 : undefined })));
      await Promise.allSettled([...w.processing]);
      if (w.appended <= w.seen || this.#closed) return;
      if (Date.now() > until) {
        // Another instance took it: stop waiting for it.
        w.seen = w.appended;
        return;
      }
    }
  }

  /** Keeps one pull open on every consumer of the window while it has room (real time, 5 s each). */
  #prefetch(w: Window, want: number): void {
    if (this.#closed || w.held.size >= WINDOW) return;
    for (const handle of w.handles.values()) if (!handle.busy) void handle.pull({ batch: this.#room(w, want), expiresMs: 5_000 });
  }

  /** A full window makes room by handing back the gists due furthest off. */
  #makeRoom(w: Window, want: number): void {
    const over = w.held.size + want - WINDOW;
    if (over <= 0) return;
    const now = this.#clock.now();
    const waiting = [...w.held.values()].filter((h) => !h.lease && h.due > now).sort((a, b) => b.due - a.due);
    for (const h of waiting.slice(0, over)) this.#handBack(w, h, h.due - now);
  }

  #handBack(w: Window, h: Held, delayMs: number): void {
    for (const m of h.msgs) settle.nak(this.ctx.nc, m.msg, delayMs);
    w.held.delete(h.key);
  }

  /** Forgets a gist without settling its messages: another holder has it now. */
  #drop(w: Window, h: Held): void {
    w.held.delete(h.key);
  }

  #arrived(w: Window, route: Route, msg: Msg, d: Delivery): void {
    if (this.#closed) {
      this.ctx.nc.publish(msg.reply!, '-NAK');
      return;
    }
    if (route.kind === 'route') {
      w.seen = Math.max(w.seen, d.streamSeq);
      this.onSeen(d.streamSeq);
      const record = readEvent(this.ctx.names, d.streamSeq, msg.subject, msg.headers, msg.data);
      if (!record.subscriptions.includes(w.subscription)) {
        // An event of the action published before this subscription matched it: no gist.
        settle.ack(this.ctx.nc, msg);
        return;
      }
      const key = gistId(d.streamSeq, w.subscription);
      const held = w.held.get(key);
      if (held) {
        held.msgs.push({ msg, kind: 'route', touched: Date.now() });
        return;
      }
      // A first delivery has no record to read (it would only say "pending, no attempt"); if a replay
      // wrote one meanwhile, the compare-and-swap at record time finds out.
      if (d.count === 1) return this.#admit(w, record, freshGist(record, w.subscription), 0, { msg, kind: 'route', touched: Date.now() });
      this.#track(w, msg, this.#readAndAdmit(w, record, { msg, kind: 'route', touched: Date.now() }));
      return;
    }
    this.#track(w, msg, this.#ticket(w, msg));
  }

  /** Waits for a message's reads in the background; one that fails (no quorum) comes back in a second. */
  #track(w: Window, msg: Msg, p: Promise<void>): void {
    const tracked = p
      .catch(() => {
        if (!this.#closed) settle.nak(this.ctx.nc, msg, 1_000);
      })
      .finally(() => w.processing.delete(tracked));
    w.processing.add(tracked);
  }

  /** A replay ticket: `{e: event, r: the gist's replay count once replayed}`. */
  async #ticket(w: Window, msg: Msg): Promise<void> {
    let e: number;
    let r: number;
    try {
      ({ e, r } = JSON.parse(msg.string()) as { e: number; r: number });
    } catch {
      settle.term(this.ctx.nc, msg);
      return;
    }
    const m = await getMessage(this.ctx, this.ctx.names.events, { seq: e });
    if (!m) {
      // The event was pruned: nothing left to deliver.
      settle.ack(this.ctx.nc, msg);
      return;
    }
    const record = readEvent(this.ctx.names, m.seq, m.subject, m.header, m.data);
    const key = gistId(e, w.subscription);
    const held = w.held.get(key);
    if (held) {
      held.msgs.push({ msg, kind: 'ticket', touched: Date.now() });
      return;
    }
    // The replay writes its ticket, then the gist's record; a ticket that overtakes its record (or
    // whose replayer died in between) does the record's part itself.
    for (let tries = 0; tries < 5; tries++) {
      const current = await this.records.read(e, w.subscription);
      if (current && current.gist.replays >= r) return this.#admitRead(w, record, current.gist, current.seq, { msg, kind: 'ticket', touched: Date.now() });
      const base = current?.gist ?? freshGist(record, w.subscription);
      const now = this.#clock.now();
      const gist: Gist = { ...base, state: 'pending', retry_base: base.attempts, next_at: now, updated: now, replays: r };
      const result = await this.records.append(record, gist, current?.seq ?? 0);
      if (result.ok) return this.#admitRead(w, record, gist, result.seq, { msg, kind: 'ticket', touched: Date.now() });
    }
    // Still changing: let it come back in a moment.
    settle.nak(this.ctx.nc, msg, 1_000);
  }

  #admitRead(w: Window, record: EventRecord, gist: Gist, seq: number, m: HeldMsg): void {
    const held = w.held.get(String(gist.id));
    if (held) held.msgs.push(m);
    else this.#admit(w, record, gist, seq, m);
  }

  async #readAndAdmit(w: Window, record: EventRecord, m: HeldMsg): Promise<void> {
    const current = await this.records.read(record.event.id, w.subscription);
    this.#admitRead(w, record, current?.gist ?? freshGist(record, w.subscription), current?.seq ?? 0, m);
  }

  #admit(w: Window, record: EventRecord, gist: Gist, seq: number, m: HeldMsg): void {
    if (gist.state === 'delivered' || gist.state === 'dead') {
      // Recorded, but the settle was lost (a crash between record and ack): settle now, send nothing.
      (gist.state === 'dead' && m.kind === 'route' ? settle.term : settle.ack)(this.ctx.nc, m.msg);
      return;
    }
    const due = gist.next_at ?? this.#clock.now();
    const wait = due - this.#clock.now();
    if (wait > HOLD_MS) {
      settle.nak(this.ctx.nc, m.msg, wait);
      return;
    }
    w.held.set(String(gist.id), { key: String(gist.id), event: record, gist, seq, msgs: [m], due, lease: null });
    w.wake();
  }

  /** Due gists, leased: round-robin over retries (oldest first) and first attempts (both ends). */
  #take(w: Window, max: number, leaseMs: number): Lease[] {
    const now = this.#clock.now();
    const retries: Held[] = [];
    const firsts: Held[] = [];
    for (const h of w.held.values()) {
      // An expired lease stays the gist's until it is handed out again (then its holder is refused).
      if ((h.lease && h.lease.expires > now) || h.due > now) continue;
      (h.gist.attempts > h.gist.retry_base ? retries : firsts).push(h);
    }
    if (retries.length + firsts.length === 0) return [];
    retries.sort((a, b) => a.due - b.due || a.event.event.id - b.event.event.id);
    firsts.sort((a, b) => a.event.event.id - b.event.event.id);
    const lanes: Array<() => Held | undefined> = [() => retries.shift(), () => firsts.shift(), () => firsts.pop()];
    const picked: Held[] = [];
    w.turn++;
    for (let progress = true; picked.length < max && progress; ) {
      progress = false;
      for (let k = 0; k < 3 && picked.length < max; k++) {
        const h = lanes[(w.turn + k) % 3]!();
        if (!h) continue;
        picked.push(h);
        progress = true;
      }
    }
    picked.sort((a, b) => a.due - b.due || a.event.event.id - b.event.event.id);
    return picked.map((h) => {
      const token = `${h.key}#${++this.#next}`;
      h.lease = { token, expires: now + leaseMs };
      return { gist: h.gist, event: h.event.event, token, expires_at: now + leaseMs };
    });
  }

  /** The earliest amebo-clock time at which something held becomes due or a lease expires. */
  #nextChange(w: Window): number {
    let next = Infinity;
    for (const h of w.held.values()) next = Math.min(next, h.lease ? h.lease.expires : h.due);
    return next;
  }

  async #wait(w: Window, ms: number, signal?: AbortSignal): Promise<void> {
    const inner = new AbortController();
    const wake = () => inner.abort();
    w.waiters.add(wake);
    const onAbort = () => inner.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await sleep(this.#clock, ms, inner.signal);
    } finally {
      w.waiters.delete(wake);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Restarts the server's ack wait of every message held long enough for it to matter. */
  #renew(every: number): void {
    const now = Date.now();
    for (const w of this.#windows.values()) {
      for (const h of w.held.values()) {
        for (const m of h.msgs) {
          if (now - m.touched < every) continue;
          settle.working(this.ctx.nc, m.msg);
          m.touched = now;
        }
      }
    }
  }
}

function stale(lease: Lease) {
  return amebo('AMEBO_ERR_STALE_LEASE', `gist ${lease.gist.id}: the lease is no longer held (it expired and the gist moved on); this attempt was not recorded`);
}

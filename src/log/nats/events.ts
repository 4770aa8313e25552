/**
 * The event log on JetStream. An event is one message of the events stream; its sequence is its id,
 * assigned by the stream's leader, so ids only ever increase across every instance. The message is
 * acknowledged by the leader once a quorum of replicas holds it: append resolves only then.
 *
 * Dedupers: an event with a deduper goes to its own subject (names.ts) and is published expecting
 * that subject to be empty. The server stores the first and refuses every later one, whichever
 * instance sends it; the refused publisher reads the original back. Retries after a timeout reuse the
 * message id, so an append that did land is not stored twice; a retry that older servers stored a
 * second time anyway is found and deleted before the append answers (copies.ts).
 *
 * Times: an event's time is amebo's clock at the instance that appends it, never less than the last
 * time this instance appended or read at start. Across instances times follow ids within the clock
 * skew of the machines (the README lists it among the differences from LMDB).
 */
import type { StoredEvent } from '../../types.js';
import type { AppendInput, AppendOutput, EventFilter, EventLog, Listing, Page } from '../contract.js';
import { amebo } from '../../errors.js';
import { call, getMessage, uniqueId, write, type NatsContext } from './connection.js';
import { isWrongLastSequence } from './failures.js';
import { MSG_ID, eventHeaders, readEvent, type EventRecord } from './records.js';
import { openScan, type Scan } from './scan.js';
import { Copies } from './copies.js';
import type { Routes } from './routes.js';

/** Matches a listing counts past its page before it settles for a lower bound. */
export const SCAN_LIMIT = 10_000;

export class NatsEventLog {
  #lastTs = 0;
  /** The highest event sequence this process knows exists: no later write can get one at or below it. */
  #known = 0;
  readonly copies: Copies;
  /** Told of every gist this process appends (read-your-writes in the delivery source). */
  onAppended: (subscription: string, seq: number) => void = () => undefined;

  constructor(
    private readonly ctx: NatsContext,
    private readonly routes: Routes,
  ) {
    this.copies = new Copies(ctx);
  }

  /** An event sequence known to exist (read or handed out): a bound for copies.ts. */
  saw(seq: number): void {
    if (seq > this.#known) this.#known = seq;
  }

  /** Seeds the time of the last event, so times never go back across a restart. */
  async start(): Promise<void> {
    const info = await call(this.ctx, 'the events stream', () => this.ctx.jsm.streams.info(this.ctx.names.events));
    this.saw(info.state.last_seq);
    if (info.state.last_seq > 0) {
      const last = await this.#first(info.state.first_seq, info.state.last_seq, -1);
      if (last) this.#lastTs = last.ts;
    }
  }

  async append(inputs: readonly AppendInput[]): Promise<AppendOutput[]> {
    if (inputs.some((input) => input.keys?.some((k) => k !== null && k !== undefined))) {
      throw amebo('AMEBO_ERR_VALIDATION', 'per-key ordering (a subscription with `ordering`) is not available on the NATS JetStream engine');
    }
    const pairs = new Map<string, [string, string]>();
    for (const input of inputs) for (const s of input.subscriptions) pairs.set(`${s}\u0000${input.action}`, [s, input.action]);
    // A route must exist before an event naming it is stored (routes.ts): made first, in parallel.
    await Promise.all([...pairs.values()].map(([s, a]) => this.routes.ensureRoute(s, a)));
    const request = uniqueId(this.ctx);
    const out = await Promise.all(inputs.map((input, i) => this.#appendOne(input, `${request}:${i}`)));
    for (let i = 0; i < out.length; i++) {
      if (out[i]!.duplicate) continue;
      for (const s of inputs[i]!.subscriptions) this.onAppended(s, out[i]!.event.id);
    }
    return out;
  }

  async #appendOne(input: AppendInput, msgID: string): Promise<AppendOutput> {
    const { names } = this.ctx;
    this.#lastTs = Math.max(this.ctx.clock.now(), this.#lastTs);
    const ts = this.#lastTs;
    const subject = names.eventSubject(input.action, input.deduper);
    const known = this.#known;
    try {
      const ack = await write(this.ctx, subject, input.payload_json, {
        msgID,
        headers: eventHeaders(input, ts),
        expectLastSubjectSeq: input.deduper === undefined ? undefined : 0,
      });
      this.saw(ack.seq);
      // A retried write may have been stored by an earlier try too (copies.ts); a deduper's
      // compare-and-swap already refuses a second copy.
      const id = ack.tries > 1 && !ack.duplicate && input.deduper === undefined ? await this.copies.settle(msgID, known, ack.seq) : ack.seq;
      const event: StoredEvent = {
        id,
        action: input.action,
        payload_json: input.payload_json,
        deduper: input.deduper,
        timestamp: new Date(ts).toISOString(),
        deliver_after: input.deliver_after,
      };
      return { event, duplicate: false, gists: input.subscriptions.length };
    } catch (err) {
      if (input.deduper === undefined || !isWrongLastSequence(err)) throw err;
      const original = await getMessage(this.ctx, names.events, { last_by_subj: subject });
      if (!original) throw amebo('AMEBO_ERR_LOG_UNAVAILABLE', 'the event a deduper names could not be read back; try again');
      const event = readEvent(names, original.seq, original.subject, original.header, original.data).event;
      // Our own write, landed before a leader change and refused on retry: it is this append's event.
      if (original.header?.get(MSG_ID) === msgID) return { event, duplicate: false, gists: input.subscriptions.length };
      return { event, duplicate: true, gists: 0 };
    }
  }

  async get(id: number): Promise<StoredEvent | undefined> {
    return (await this.record(id))?.event;
  }

  /** An event with its gists' subscriptions, or undefined. */
  async record(id: number): Promise<EventRecord | undefined> {
    if (!Number.isSafeInteger(id) || id < 1) return undefined;
    const m = await getMessage(this.ctx, this.ctx.names.events, { seq: id });
    return m ? readEvent(this.ctx.names, m.seq, m.subject, m.header, m.data) : undefined;
  }

  async list(filter: EventFilter, page: Page): Promise<Listing<StoredEvent>> {
    const skip = (page.page - 1) * page.per_page;
    const range = await this.#range(filter);
    if (!range) return { items: [], total: 0 };
    if (filter.order === 'desc') return this.#listNewestFirst(filter, range, skip, page.per_page);
    const scan = await this.#open(filter, range[0]);
    // The scan's count is exact when nothing past the range or outside `actions` can be in it.
    const countable = filter.to === undefined && !filter.actions;
    const items: StoredEvent[] = [];
    let total = 0;
    for await (const r of this.#read(scan, filter, range[1])) {
      if (total >= skip && items.length < page.per_page) items.push(r.event);
      total++;
      if (countable && items.length >= page.per_page) return { items, total: scan.count };
      if (total >= skip + page.per_page + SCAN_LIMIT) return { items, total, exact: false };
    }
    return { items, total };
  }

  /**
   * Newest first. A scan only reads forward, so it starts close enough to the end to hold the page
   * (further back each time it falls short), and keeps the last `skip + per_page` it reads.
   */
  async #listNewestFirst(filter: EventFilter, range: [number, number], skip: number, perPage: number): Promise<Listing<StoredEvent>> {
    const keep = skip + perPage;
    for (let span = keep * 2 + 64; ; span *= 4) {
      const from = Math.max(range[0], range[1] - span + 1);
      const scan = await this.#open(filter, from);
      const ring: EventRecord[] = [];
      let seen = 0;
      for await (const r of this.#read(scan, filter, range[1])) {
        ring.push(r);
        if (ring.length > keep) ring.shift();
        seen++;
      }
      if (ring.length >= keep || from === range[0] || span > SCAN_LIMIT * 4) {
        const items = ring.reverse().slice(skip, keep).map((r) => r.event);
        if (from === range[0]) return { items, total: seen };
        // The total of everything before `from` was not read: count it (exact for a plain range).
        const before = await this.#open(filter, range[0]);
        const countable = filter.to === undefined && !filter.actions;
        before.close();
        return countable ? { items, total: before.count } : { items, total: seen, exact: false };
      }
    }
  }

  async *scan(filter: EventFilter): AsyncGenerator<StoredEvent> {
    for await (const r of this.records(filter)) yield r.event;
  }

  /** Matching events with their gists' subscriptions, in log order. */
  async *records(filter: EventFilter): AsyncGenerator<EventRecord> {
    const range = await this.#range(filter);
    if (!range) return;
    const scan = await this.#open(filter, range[0]);
    yield* this.#read(scan, filter, range[1]);
  }

  async #range(filter: EventFilter): Promise<[number, number] | null> {
    if (filter.action !== undefined && filter.actions && !filter.actions.has(filter.action)) return null;
    return this.idRange(filter.from, filter.to);
  }

  #open(filter: EventFilter, from: number) {
    const { names } = this.ctx;
    return openScan(this.ctx, { stream: names.events, filter: filter.action === undefined ? names.eventSubjects : names.actionFilter(filter.action), from });
  }

  async *#read(scan: Scan, filter: EventFilter, last: number): AsyncGenerator<EventRecord> {
    try {
      for await (const { msg, seq } of scan.messages) {
        if (seq > last) return;
        const r = readEvent(this.ctx.names, seq, msg.subject, msg.headers, msg.data);
        if (filter.actions && !filter.actions.has(r.event.action)) continue;
        yield r;
      }
    } finally {
      scan.close();
    }
  }

  /** The sequence range [first, last] of events whose time is within [from, to]; null when empty. */
  async idRange(from: number | undefined, to: number | undefined): Promise<[number, number] | null> {
    const info = await call(this.ctx, 'the events stream', () => this.ctx.jsm.streams.info(this.ctx.names.events));
    const { first_seq: first, last_seq: last, messages } = info.state;
    this.saw(last);
    if (messages === 0) return null;
    const lo = from === undefined ? first : await this.#firstAtOrAfter(first, last, from);
    const hi = to === undefined ? last : (await this.#firstAtOrAfter(first, last, to + 1)) - 1;
    return lo > hi ? null : [lo, hi];
  }

  /** The first sequence whose event time is >= ts (or last + 1): a binary search, O(log n) reads. */
  async #firstAtOrAfter(first: number, last: number, ts: number): Promise<number> {
    let lo = first;
    let hi = last + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const r = await this.#first(mid, last, 1);
      if (!r || r.ts >= ts) hi = mid;
      else lo = r.event.id + 1;
    }
    return lo;
  }

  /** The first event at or after `seq` (dir 1), or the last one at or before `last` (dir -1). */
  async #first(seq: number, last: number, dir: 1 | -1): Promise<EventRecord | undefined> {
    const { names } = this.ctx;
    if (dir === 1) {
      const m = await getMessage(this.ctx, names.events, { seq, next_by_subj: names.eventSubjects });
      return m && m.seq <= last ? readEvent(names, m.seq, m.subject, m.header, m.data) : undefined;
    }
    for (let s = last; s >= seq && s > last - 1_000; s--) {
      const m = await getMessage(this.ctx, names.events, { seq: s });
      if (m) return readEvent(names, m.seq, m.subject, m.header, m.data);
    }
    return undefined;
  }

  /** How many events the stream holds. */
  async count(): Promise<number> {
    return (await call(this.ctx, 'the events stream', () => this.ctx.jsm.streams.info(this.ctx.names.events))).state.messages;
  }
}

export type { EventLog };

/**
 * Gists on JetStream. A gist is (event, subscription): the event's message names the subscriptions
 * it matched; a replay may add one for a subscription that came later, noted on the event's "extra"
 * subject. Its state is its last record (gist-records.ts), or pending if it has none.
 *
 * Listings are scans (JetStream has no secondary index): by event, the event's gists; by state
 * failed, dead or delivered, the last record of every gist subject; otherwise the events in log order
 * with each gist's record. A listing stops counting past a limit and then says its total is a lower
 * bound (`exact: false`).
 *
 * A replay writes a ticket for the subscription's ticket consumer, then the gist's new record. A ticket
 * pulled before its record exists is ignored by the puller... unless the record is already there,
 * which it is in the normal order; a replay that died between the two is done again by the operator.
 */
import type { Attempt, GistId } from '../../types.js';
import type { AttemptRecord, Gist, GistFilter, GistStore, Lease, Listing, Page, ReplayTarget, Transition } from '../contract.js';
import { amebo } from '../../errors.js';
import { getMessage, write, type NatsContext } from './connection.js';
import type { NatsDeliverySource } from './delivery.js';
import { SCAN_LIMIT, type NatsEventLog } from './events.js';
import type { GistRecords } from './gist-records.js';
import { freshGist, gistOf, parseGistId, parseRecord, toAttempt, type EventRecord } from './records.js';
import type { Routes } from './routes.js';
import { token, untoken } from './names.js';
import { openScan } from './scan.js';

/** Reads of records made at once while a listing walks events. */
const PARALLEL = 32;

export class NatsGistStore implements GistStore {
  constructor(
    private readonly ctx: NatsContext,
    private readonly events: NatsEventLog,
    private readonly records: GistRecords,
    private readonly delivery: NatsDeliverySource,
    private readonly routes: Routes,
  ) {}

  async get(id: GistId): Promise<Gist | undefined> {
    const key = parseGistId(id);
    if (!key) return undefined;
    const current = await this.records.read(key.event, key.subscription);
    if (current) return current.gist;
    const event = await this.events.record(key.event);
    return event?.subscriptions.includes(key.subscription) ? freshGist(event, key.subscription) : undefined;
  }

  async attempts(id: GistId): Promise<Attempt[]> {
    const key = parseGistId(id);
    if (!key) return [];
    const out: Attempt[] = [];
    for (const { record } of await this.records.history(key.event, key.subscription)) if (record.attempt) out.push(toAttempt(String(id), record.attempt));
    return out;
  }

  async ofEvent(event: number): Promise<Gist[]> {
    const record = await this.events.record(event);
    return record ? this.#gistsOf(record) : [];
  }

  /** Every gist of an event: its subscriptions in order, then those replays added. */
  async #gistsOf(record: EventRecord, filter?: GistFilter): Promise<Gist[]> {
    const subs = [...record.subscriptions, ...(await this.#extras(record.event.id)).filter((s) => !record.subscriptions.includes(s))];
    const wanted = subs.filter((s) => (filter?.subscription === undefined || filter.subscription === s) && (filter?.subscriptions?.has(s) ?? true));
    const gists = await Promise.all(
      wanted.map(async (s) => (await this.records.read(record.event.id, s))?.gist ?? (record.subscriptions.includes(s) ? freshGist(record, s) : undefined)),
    );
    return gists.filter((g): g is Gist => g !== undefined && (filter?.state === undefined || g.state === filter.state));
  }

  /** Subscriptions a replay gave the event a gist for, beyond those it matched when published. */
  async #extras(event: number): Promise<string[]> {
    const subject = this.ctx.names.extraSubject(event);
    const out: string[] = [];
    for (let seq = 1; ; ) {
      const m = await getMessage(this.ctx, this.ctx.names.gists, { seq, next_by_subj: subject });
      if (!m) return out;
      out.push(m.string());
      seq = m.seq + 1;
    }
  }

  async list(filter: GistFilter, page: Page): Promise<Listing<Gist>> {
    const skip = (page.page - 1) * page.per_page;
    const items: Gist[] = [];
    let total = 0;
    for await (const g of this.#rows(filter)) {
      if (total >= skip && items.length < page.per_page) items.push(g);
      total++;
      if (total >= skip + page.per_page + SCAN_LIMIT) return { items, total, exact: false };
    }
    return { items, total };
  }

  async *scan(filter: GistFilter): AsyncGenerator<Gist> {
    yield* this.#rows(filter);
  }

  async *#rows(filter: GistFilter): AsyncGenerator<Gist> {
    if (filter.event !== undefined) {
      const record = await this.events.record(filter.event);
      if (!record || !this.#inRange(record.ts, filter)) return;
      yield* await this.#gistsOf(record, filter);
      return;
    }
    if (filter.state === 'failed' || filter.state === 'dead' || filter.state === 'delivered') {
      yield* this.#byRecord(filter);
      return;
    }
    // Pending gists may have no record: walk the events, a few at a time.
    let batch: EventRecord[] = [];
    const flush = async function* (this: NatsGistStore) {
      const lists = await Promise.all(batch.map((r) => this.#gistsOf(r, filter)));
      batch = [];
      for (const list of lists) yield* list;
    }.bind(this);
    for await (const record of this.events.records({ from: filter.from, to: filter.to })) {
      batch.push(record);
      if (batch.length >= PARALLEL) yield* flush();
    }
    yield* flush();
  }

  /** Gists in a state only a record can give, from the last record of each gist's subject. */
  async *#byRecord(filter: GistFilter): AsyncGenerator<Gist> {
    const { names } = this.ctx;
    const subject = filter.subscription === undefined ? `${names.prefix}.gs.>` : `${names.prefix}.gs.*.${token(filter.subscription)}`;
    const scan = await openScan(this.ctx, { stream: names.gists, filter: subject, lastPerSubject: true });
    try {
      const found: Gist[] = [];
      for await (const { msg } of scan.messages) {
        const [, , ev, tok] = msg.subject.split('.');
        const event = Number(ev);
        const subscription = untoken(tok ?? '');
        const record = parseRecord(msg.data);
        if (record.state !== filter.state || !this.#inRange(record.event_ts, filter)) continue;
        if (filter.subscriptions && !filter.subscriptions.has(subscription)) continue;
        found.push(gistOf(event, subscription, record));
      }
      // In event order, as LMDB lists them (the scan comes in order of last change).
      found.sort((a, b) => a.event_id - b.event_id || (a.subscription < b.subscription ? -1 : 1));
      yield* found;
    } finally {
      scan.close();
    }
  }

  #inRange(ts: number, filter: GistFilter): boolean {
    return (filter.from === undefined || ts >= filter.from) && (filter.to === undefined || ts <= filter.to);
  }

  record(lease: Lease, attempt: AttemptRecord, next: Transition): Promise<Gist> {
    return this.delivery.record(lease, attempt, next);
  }

  async replay(targets: readonly ReplayTarget[], now: number): Promise<Gist[]> {
    if (targets.some((t) => 'event' in t && t.key !== null && t.key !== undefined)) {
      throw amebo('AMEBO_ERR_VALIDATION', 'per-key ordering (a subscription with `ordering`) is not available on the NATS JetStream engine');
    }
    const out = await Promise.all(targets.map((t) => ('gist' in t ? this.#replayOne(parseGistId(t.gist), now) : this.#replayOne({ event: t.event, subscription: t.subscription }, now))));
    return out.filter((g): g is Gist => g !== null);
  }

  async #replayOne(key: { event: number; subscription: string } | null, now: number): Promise<Gist | null> {
    if (!key) return null;
    const { event: id, subscription } = key;
    const event = await this.events.record(id);
    if (!event) return null;
    await this.routes.ensureTickets(subscription);
    let target = 0;
    for (let tries = 0; tries < 5; tries++) {
      const current = await this.records.read(id, subscription);
      // A ticket's puller may have done the record's part already (delivery.ts): then it is done.
      if (target > 0 && current && current.gist.replays >= target) return current.gist;
      const isNew = !current && !event.subscriptions.includes(subscription);
      const base = current?.gist ?? freshGist(event, subscription);
      const gist: Gist = { ...base, state: 'pending', retry_base: base.attempts, next_at: now, updated: now, replays: base.replays + 1 };
      target = gist.replays;
      // The ticket first: if this process dies before the record, the ticket's puller finds the gist
      // as it was and delivers it anyway (a replay is a request to deliver again).
      await write(this.ctx, this.ctx.names.ticketSubject(subscription), JSON.stringify({ e: id, r: gist.replays }), { msgID: `rp:${id}:${subscription}:${gist.replays}` });
      const result = await this.records.append(event, gist, current?.seq ?? 0);
      if (!result.ok) continue;
      if (isNew) await write(this.ctx, this.ctx.names.extraSubject(id), subscription, { msgID: `gx:${id}:${subscription}` });
      // An entry this process holds follows at once (one held under a lease is settled by its record).
      this.delivery.replayed(gist, result.seq);
      return gist;
    }
    throw amebo('AMEBO_ERR_LOG_UNAVAILABLE', `gist ${id}.${subscription} kept changing while it was replayed; try again`);
  }
}

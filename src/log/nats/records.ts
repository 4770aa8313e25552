/**
 * What the JetStream engine stores, and its conversion to the contract's types.
 *
 * - An event is ONE message on the events stream: the payload as the body (never re-encoded), its
 *   time, gists (the subscriptions it matched) and delivery delay in headers. One message is one
 *   atomic write, so an event and its gists are stored together or not at all.
 * - A gist has no record until something happens to it: "no record" means pending with no attempt,
 *   due at the event's time (or its `deliver_after`). Each attempt, and each replay, appends one
 *   record to the gist's own subject, carrying the gist's whole state after it and the attempt made.
 *   The last record of the subject is the gist's state; the subject's history is its attempts.
 *   Appends are compare-and-swap on the subject's last sequence, so two instances can never both
 *   record attempt n of one gist.
 */
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';
import type { Attempt, GistState, Outcome, StoredEvent } from '../../types.js';
import type { AppendInput, Gist } from '../contract.js';
import type { Names } from './names.js';

/** The header a message id is stored under. */
export const MSG_ID = 'Nats-Msg-Id';

/** Header names of an event message. */
export const H = {
  ts: 'Amebo-Ts',
  subs: 'Amebo-Subs',
  after: 'Amebo-After',
  deduper: 'Amebo-Deduper',
} as const;

/** An event as read back from the stream, with the subscriptions it has gists for. */
export interface EventRecord {
  readonly event: StoredEvent;
  /** Event time, unix ms. */
  readonly ts: number;
  readonly subscriptions: readonly string[];
}

/** The headers an event is published with. */
export function eventHeaders(input: AppendInput, ts: number): MsgHdrs {
  const h = natsHeaders();
  h.set(H.ts, String(ts));
  // Subscription names hold no comma ([A-Za-z0-9._:-]), so a comma list is unambiguous.
  if (input.subscriptions.length > 0) h.set(H.subs, input.subscriptions.join(','));
  if (input.deliver_after !== undefined) h.set(H.after, String(input.deliver_after));
  // A deduper is any string: encoded, so no byte of it can break the header block.
  if (input.deduper !== undefined) h.set(H.deduper, encodeURIComponent(input.deduper));
  return h;
}

/** Reads an event message back (from a get, a consumer or an ordered scan). */
export function readEvent(names: Names, seq: number, subject: string, header: MsgHdrs | undefined, data: Uint8Array): EventRecord {
  const ts = Number(header?.get(H.ts) ?? 0);
  const subs = header?.get(H.subs) ?? '';
  const after = header?.get(H.after);
  const deduper = header?.get(H.deduper);
  const event: StoredEvent = {
    id: seq,
    action: names.actionOf(subject),
    payload_json: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'),
    deduper: deduper ? decodeURIComponent(deduper) : undefined,
    timestamp: new Date(ts).toISOString(),
    deliver_after: after ? Number(after) : undefined,
  };
  return { event, ts, subscriptions: subs === '' ? [] : subs.split(',') };
}

/** One attempt as recorded. */
export interface AttemptRow {
  readonly n: number;
  readonly at: number;
  readonly status: number | null;
  readonly ms: number;
  readonly error: string | null;
  readonly response: string | null;
  readonly outcome: Outcome;
  readonly replay: boolean;
}

/** One record on a gist's subject: the state after it, and the attempt that led there (if one did). */
export interface GistRecord {
  readonly v: 1;
  readonly action: string;
  readonly state: GistState;
  readonly attempts: number;
  readonly retry_base: number;
  readonly replays: number;
  readonly next_at: number | null;
  readonly created: number;
  readonly updated: number;
  readonly last_status: number | null;
  readonly last_error: string | null;
  /** The event's time (range filters on gists read it without fetching the event). */
  readonly event_ts: number;
  readonly attempt?: AttemptRow | undefined;
}

/** A gist id in this engine: `<event id>.<subscription>`. */
export function gistId(event: number, subscription: string): string {
  return `${event}.${subscription}`;
}

/** The event and subscription a gist id names, or null. */
export function parseGistId(id: number | string): { event: number; subscription: string } | null {
  const text = String(id);
  const m = /^(\d{1,15})\.([A-Za-z0-9][A-Za-z0-9._:-]{0,127})$/.exec(text);
  if (!m) return null;
  const event = Number(m[1]);
  return event >= 1 ? { event, subscription: m[2]! } : null;
}

/** A gist that has no record yet: pending, no attempt, due at the event's time or its delay. */
export function freshGist(record: EventRecord, subscription: string): Gist {
  const { event, ts } = record;
  return {
    id: gistId(event.id, subscription),
    event_id: event.id,
    action: event.action,
    subscription,
    state: 'pending',
    attempts: 0,
    retry_base: 0,
    next_at: Math.max(ts, event.deliver_after ?? ts),
    created: ts,
    updated: ts,
    replays: 0,
    last_status: null,
    last_error: null,
  };
}

/** The gist a record describes. */
export function gistOf(event: number, subscription: string, r: GistRecord): Gist {
  return {
    id: gistId(event, subscription),
    event_id: event,
    action: r.action,
    subscription,
    state: r.state,
    attempts: r.attempts,
    retry_base: r.retry_base,
    next_at: r.next_at,
    created: r.created,
    updated: r.updated,
    replays: r.replays,
    last_status: r.last_status,
    last_error: r.last_error,
  };
}

/** The record that states `gist` (with the event time it belongs to). */
export function recordOf(gist: Gist, eventTs: number, attempt?: AttemptRow): GistRecord {
  return {
    v: 1,
    action: gist.action,
    state: gist.state,
    attempts: gist.attempts,
    retry_base: gist.retry_base,
    replays: gist.replays,
    next_at: gist.next_at,
    created: gist.created,
    updated: gist.updated,
    last_status: gist.last_status,
    last_error: gist.last_error,
    event_ts: eventTs,
    attempt,
  };
}

export function toAttempt(id: string, a: AttemptRow): Attempt {
  return {
    gist_id: id,
    n: a.n,
    at: new Date(a.at).toISOString(),
    status: a.status,
    duration_ms: a.ms,
    error: a.error,
    response: a.response,
    outcome: a.outcome,
    replay: a.replay,
  };
}

export function parseRecord(data: Uint8Array): GistRecord {
  return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as GistRecord;
}

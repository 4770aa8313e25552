/**
 * Names of everything the JetStream engine keeps in the cluster, from one prefix (`server.nats.prefix`,
 * default `amebo`), so several amebo deployments can share one NATS.
 *
 * amebo names (`[A-Za-z0-9][A-Za-z0-9._:-]*`) hold `.`, NATS's token separator, and may hold `..`,
 * which no subject may. Every name therefore goes into a subject as ONE token, with `.` written `~`
 * (a character no amebo name holds, so the mapping is reversible and `*` matches exactly one name).
 * KV keys allow fewer characters, so there `.` and `:` are escaped `=2E` / `=3A`. Consumer names are
 * hashes of what they serve, bounded in length whatever the names; their description says what.
 */
import { createHash } from 'node:crypto';
import type { ObjectKind } from '../contract.js';

/** A name as one subject token. */
export function token(name: string): string {
  return name.replaceAll('.', '~');
}

/** The name a subject token stands for. */
export function untoken(tok: string): string {
  return tok.replaceAll('~', '.');
}

/** A short, stable hash for consumer names and deduper subjects (base32, lower case). */
export function hash(text: string, chars = 20): string {
  const digest = createHash('sha256').update(text).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= chars) break;
  }
  return out;
}

/** Everything named from one prefix. */
export class Names {
  /** Stream of events: one message per event; its sequence is the event id. */
  readonly events: string;
  /** Stream of gist records: every attempt and replay of a gist, one subject per gist. */
  readonly gists: string;
  /** Work-queue stream of replay tickets, one subject per subscription. */
  readonly tickets: string;
  /** KV bucket of API objects. */
  readonly objects: string;

  constructor(readonly prefix: string) {
    const upper = prefix.toUpperCase().replace(/[^A-Z0-9_-]/g, '_');
    this.events = `${upper}_EVENTS`;
    this.gists = `${upper}_GISTS`;
    this.tickets = `${upper}_TICKETS`;
    this.objects = `${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}_objects`;
  }

  /** Subjects of the events stream. */
  get eventSubjects(): string {
    return `${this.prefix}.ev.>`;
  }
  /** Gist records (`gs`) and the subscriptions replays added to events (`gx`). */
  get gistSubjectList(): readonly string[] {
    return [`${this.prefix}.gs.>`, `${this.prefix}.gx.>`];
  }

  /** Where a replay notes a gist for a subscription the event did not match when published. */
  extraSubject(event: number): string {
    return `${this.prefix}.gx.${event}`;
  }
  get ticketSubjects(): string {
    return `${this.prefix}.tk.>`;
  }

  /**
   * An event's subject: `<p>.ev.<d>.<action>`, where `<d>` is `_` without a deduper or a hash of the
   * deduper. One subject per (action, deduper) is what makes a deduper a compare-and-swap: a publish
   * that expects the subject to be empty is stored only once, whichever instance sends it.
   */
  eventSubject(action: string, deduper: string | undefined): string {
    return `${this.prefix}.ev.${deduper === undefined ? '_' : hash(deduper, 26)}.${token(action)}`;
  }

  /** Every event without a deduper. */
  get plainEventSubjects(): string {
    return `${this.prefix}.ev._.*`;
  }

  /** Every event of one action, with or without deduper. */
  actionFilter(action: string): string {
    return `${this.prefix}.ev.*.${token(action)}`;
  }

  /** The action an event subject belongs to. */
  actionOf(subject: string): string {
    return untoken(subject.slice(subject.lastIndexOf('.') + 1));
  }

  /** One gist's records: `<p>.gs.<event>.<subscription>`. */
  gistSubject(event: number, subscription: string): string {
    return `${this.prefix}.gs.${event}.${token(subscription)}`;
  }

  /** Every gist record of one event. */
  gistsOfEvent(event: number): string {
    return `${this.prefix}.gs.${event}.>`;
  }

  /** Replay tickets of one subscription. */
  ticketSubject(subscription: string): string {
    return `${this.prefix}.tk.${token(subscription)}`;
  }

  /** Core NATS subject of notices between instances (deliveries, publishes, new consumers). */
  notice(kind: 'bus' | 'route'): string {
    return `${this.prefix}.nt.${kind}`;
  }

  /** Durable consumer that hands out one subscription's gists of one action. */
  routeConsumer(subscription: string, action: string): string {
    return `g-${hash(subscription)}-${hash(action, 12)}`;
  }

  /** Durable consumer of one subscription's replay tickets. */
  ticketConsumer(subscription: string): string {
    return `t-${hash(subscription)}`;
  }
}

const KEY_ESCAPES: Record<string, string> = { '.': '=2E', ':': '=3A', '=': '=3D' };

/** The KV key of an API object: `<kind>.<name>` with the name as one escaped token. */
export function objectKey(kind: ObjectKind, name: string): string {
  return `${kind}.${name.replace(/[.:=]/g, (c) => KEY_ESCAPES[c]!)}`;
}

/** The kind and name of a KV key, or null for a key amebo did not write. */
export function parseObjectKey(key: string): { kind: ObjectKind; name: string } | null {
  const dot = key.indexOf('.');
  const kind = key.slice(0, dot);
  if (kind !== 'application' && kind !== 'action' && kind !== 'subscription' && kind !== 'state') return null;
  const name = key.slice(dot + 1).replace(/=(2E|3A|3D)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return { kind, name };
}

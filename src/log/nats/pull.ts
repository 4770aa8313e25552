/**
 * Pulling from a JetStream consumer with the wire protocol itself: one private inbox per consumer,
 * at most one pull request outstanding, every message that arrives on the inbox handed on (a message
 * that arrives after its request was given up on is still handed on, so none is stranded until its
 * ack wait). The client's own iterators end a pull when they stop reading, which would strand the
 * rest of a batch; and amebo needs `no_wait` pulls that answer at once.
 *
 * Acks are written here too, byte for byte: nats-server 2.9 matches `+TERM` exactly and ignores a
 * `+TERM reason` (the message is then redelivered), so there is no reason argument to get wrong, and
 * `-NAK` always carries a delay (a bare NAK redelivers at once and ignores any BackOff).
 */
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';

/** What the reply subject of a delivered message says about it. */
export interface Delivery {
  readonly stream: string;
  readonly consumer: string;
  /** How many times this message has been delivered (1 the first time). */
  readonly count: number;
  readonly streamSeq: number;
  /** Messages the consumer still had to deliver after this one. */
  readonly pending: number;
}

/** Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (and the 12-token form with domain and account). */
export function parseDelivery(reply: string): Delivery | null {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return null;
  const base = t.length >= 12 ? 4 : 2;
  if (t.length < base + 7) return null;
  return { stream: t[base]!, consumer: t[base + 1]!, count: Number(t[base + 2]), streamSeq: Number(t[base + 3]), pending: Number(t[base + 6]) };
}

/** Settles a delivered message. */
export const settle = {
  ack: (nc: NatsConnection, m: Msg) => nc.publish(m.reply!, '+ACK'),
  /** Redeliver after `delayMs` (never at once by accident). */
  nak: (nc: NatsConnection, m: Msg, delayMs: number) => nc.publish(m.reply!, `-NAK {"delay":${Math.max(1, Math.round(delayMs)) * 1_000_000}}`),
  /** Never redeliver (2.9 understands only the bare form). */
  term: (nc: NatsConnection, m: Msg) => nc.publish(m.reply!, '+TERM'),
  /** Still working on it: restarts the ack wait. */
  working: (nc: NatsConnection, m: Msg) => nc.publish(m.reply!, '+WPI'),
};

export interface PullOptions {
  readonly batch: number;
  /** Answer at once with what is there (with `expiresMs`: wait for at least one, up to then). */
  readonly noWait?: boolean;
  readonly expiresMs?: number;
}

/** How long after a request's own expiry it is given up on locally (the server may be gone). */
const GRACE_MS = 1_000;

/** One inbox with at most one pull request outstanding on it. */
class Lane {
  readonly inbox = createInbox();
  readonly sub: Subscription;
  current: { remaining: number; finish: () => void; timer: NodeJS.Timeout; done: Promise<void> } | null = null;

  constructor(nc: NatsConnection, onMessage: (m: Msg, d: Delivery) => void) {
    this.sub = nc.subscribe(this.inbox, {
      callback: (err, m) => {
        if (err) return;
        const d = m.reply ? parseDelivery(m.reply) : null;
        if (d) {
          if (this.current && --this.current.remaining <= 0) this.current.finish();
          onMessage(m, d);
          return;
        }
        // A status: 404 no messages, 408 request expired, 409 (consumer deleted, too many waiting...):
        // each ends the request it answers. 100 is a heartbeat.
        const code = Number(m.headers?.code ?? 0);
        if (code !== 100) this.current?.finish();
      },
    });
  }
}

/**
 * One consumer as this process pulls it: a long lane for requests that wait for messages (a pull kept
 * open while idle) and a probe lane for `no_wait` requests, so a probe is never stuck behind an open
 * pull. The server serves waiting requests in order and writes a request's status after the messages
 * it sent earlier on the same connection, so once a probe has its answer, whatever was there when it
 * was asked has arrived on one lane or the other.
 */
export class PullHandle {
  readonly #long: Lane;
  readonly #probe: Lane;

  constructor(
    private readonly nc: NatsConnection,
    readonly stream: string,
    readonly consumer: string,
    onMessage: (m: Msg, d: Delivery) => void,
  ) {
    this.#long = new Lane(nc, onMessage);
    this.#probe = new Lane(nc, onMessage);
  }

  /** True while a waiting (long) pull request is outstanding. */
  get busy(): boolean {
    return this.#long.current !== null;
  }

  /** Sends one pull request; resolves when it has been answered in full, or given up on. */
  pull(options: PullOptions): Promise<void> {
    const lane = options.noWait ? this.#probe : this.#long;
    if (lane.current) return lane.current.done;
    const body: Record<string, unknown> = { batch: options.batch };
    if (options.noWait) body['no_wait'] = true;
    if (options.expiresMs !== undefined) body['expires'] = Math.round(options.expiresMs) * 1_000_000;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const current = {
      remaining: options.batch,
      finish: () => {
        clearTimeout(current.timer);
        if (lane.current === current) lane.current = null;
        finish();
      },
      timer: setTimeout(() => current.finish(), (options.expiresMs ?? 0) + GRACE_MS),
      done,
    };
    current.timer.unref();
    lane.current = current;
    try {
      this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${this.consumer}`, JSON.stringify(body), { reply: lane.inbox });
    } catch {
      current.finish();
    }
    return done;
  }

  /** Forgets outstanding requests (after a reconnect the server has forgotten them too). */
  reset(): void {
    this.#long.current?.finish();
    this.#probe.current?.finish();
  }

  close(): void {
    this.reset();
    this.#long.sub.unsubscribe();
    this.#probe.sub.unsubscribe();
  }
}

/**
 * The client of `GET /v1/stream`: opens the SSE stream, turns its messages into typed values and
 * reconnects when the daemon goes away, resuming with `Last-Event-ID`. No React in here; the TUI and
 * `amebo tail --json` both sit on it.
 */
import { request } from 'undici';
import { amebo, type AmeboError } from '../errors.js';
import type { BusMessage } from '../types.js';
import { errorFromResponse, errorFromTransport } from './errors.js';
import type { HttpClient } from './http.js';
import { SseParser } from './sse.js';
import type { StreamStats } from './types.js';

/** A delivery outcome as the stream sends it. */
export type DeliveryMessage = Extract<BusMessage, { type: 'delivery' }>;
/** A freshly published event as the stream sends it. */
export type PublishedMessage = Extract<BusMessage, { type: 'published' }>;

/** One typed message of the stream. `seq` is the SSE id (monotonic), when the daemon sent one. */
export type StreamMessage =
  | { readonly type: 'delivery'; readonly seq: number | undefined; readonly delivery: DeliveryMessage }
  | { readonly type: 'published'; readonly seq: number | undefined; readonly published: PublishedMessage }
  | { readonly type: 'stats'; readonly seq: number | undefined; readonly stats: StreamStats };

/** Kinds of message the stream can be asked for. */
export type StreamType = StreamMessage['type'];

/** Where the connection stands. */
export type StreamStatus =
  | { readonly state: 'connecting'; readonly attempt: number }
  | { readonly state: 'open'; readonly attempt: number }
  | { readonly state: 'retrying'; readonly attempt: number; readonly retryInMs: number; readonly error: AmeboError }
  | { readonly state: 'closed'; readonly error?: AmeboError | undefined };

/** What to subscribe to and what to call. */
export interface StreamOptions {
  /** Server-side filters. */
  readonly action?: string | undefined;
  readonly subscription?: string | undefined;
  readonly types?: readonly StreamType[] | undefined;
  /** Only failed and dead deliveries. */
  readonly failures?: boolean | undefined;
  /**
   * Called for each message, in order. Returning a promise pauses reading until it settles (a slow
   * pipe), which lets TCP push back on the daemon.
   */
  readonly onMessage: (message: StreamMessage) => void | Promise<void>;
  /** Called whenever the connection state changes. */
  readonly onStatus?: ((status: StreamStatus) => void) | undefined;
  /** Reconnect after the daemon goes away (default true). Refusals (401, 403, 404, 400) never retry. */
  readonly reconnect?: boolean | undefined;
  /**
   * Give up if the very first connection fails (a wrong `--url`, a daemon that is not running) instead
   * of retrying; once connected, a lost connection is always retried.
   */
  readonly failFast?: boolean | undefined;
  /** First and largest wait between reconnects, in ms. */
  readonly backoffInitialMs?: number | undefined;
  readonly backoffMaxMs?: number | undefined;
  /** Give up on a connection that sends nothing (not even the 15 s heartbeat) for this long. */
  readonly idleTimeoutMs?: number | undefined;
  /** Resume after this SSE id. */
  readonly lastEventId?: string | undefined;
}

/** A running stream subscription. */
export interface StreamHandle {
  /** Stops reading and reconnecting. Resolves once the connection is gone. Safe to call twice. */
  close(): Promise<void>;
  /** Resolves when the stream ends for good: closed, or refused with no retry. */
  readonly done: Promise<void>;
  /** The last SSE id received. */
  lastEventId(): string | undefined;
}

/** Statuses that mean "asking again will not help". */
const PERMANENT = new Set([400, 401, 403, 404, 405, 415]);

/** Decodes one SSE message into a typed one, or undefined for unknown types and bad JSON. */
export function decodeStreamMessage(event: string, data: string, id: string | undefined): StreamMessage | undefined {
  if (event !== 'delivery' && event !== 'published' && event !== 'stats') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const seq = id !== undefined && /^\d+$/.test(id) ? Number(id) : undefined;
  switch (event) {
    case 'delivery':
      return { type: 'delivery', seq, delivery: { ...(value as DeliveryMessage), type: 'delivery' } };
    case 'published':
      return { type: 'published', seq, published: { ...(value as PublishedMessage), type: 'published' } };
    case 'stats':
      return { type: 'stats', seq, stats: value as StreamStats };
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Opens the stream and keeps it open until `close()` or a refusal. */
export function openStream(http: HttpClient, options: StreamOptions): StreamHandle {
  const controller = new AbortController();
  const parser = new SseParser();
  parser.lastEventId = options.lastEventId;
  const initial = options.backoffInitialMs ?? 250;
  const max = options.backoffMaxMs ?? 5_000;
  const status = (s: StreamStatus): void => options.onStatus?.(s);
  const query = {
    action: options.action,
    subscription: options.subscription,
    types: options.types?.join(','),
    failures: options.failures ? 1 : undefined,
  };

  async function connectOnce(attempt: number): Promise<{ opened: boolean; error: AmeboError; permanent: boolean }> {
    status({ state: 'connecting', attempt });
    const headers = http.headers({ accept: 'text/event-stream', 'cache-control': 'no-cache' });
    if (parser.lastEventId !== undefined) headers['last-event-id'] = parser.lastEventId;
    let opened = false;
    try {
      const res = await request(http.url('/v1/stream', query), {
        method: 'GET',
        headers,
        dispatcher: http.dispatcher,
        signal: controller.signal,
        headersTimeout: options.idleTimeoutMs ?? 45_000,
        bodyTimeout: options.idleTimeoutMs ?? 45_000,
      });
      if (res.statusCode !== 200) {
        const text = await res.body.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text) as unknown;
        } catch {
          // Not JSON; the text is the message.
        }
        return { opened, error: errorFromResponse(res.statusCode, body), permanent: PERMANENT.has(res.statusCode) };
      }
      opened = true;
      status({ state: 'open', attempt });
      parser.reset();
      for await (const chunk of res.body) {
        for (const m of parser.feed(chunk as Buffer)) {
          const msg = decodeStreamMessage(m.event, m.data, m.id);
          if (!msg) continue;
          const wait = options.onMessage(msg);
          if (wait) await wait;
        }
      }
      return { opened, error: amebo('AMEBO_ERR_UNAVAILABLE', `the stream from ${http.baseUrl} ended`), permanent: false };
    } catch (err) {
      return { opened, error: errorFromTransport(err, http.baseUrl), permanent: false };
    }
  }

  async function loop(): Promise<void> {
    let delay = initial;
    let everOpened = false;
    for (let attempt = 1; ; attempt++) {
      const { opened, error, permanent } = await connectOnce(attempt);
      everOpened ||= opened;
      if (controller.signal.aborted) break;
      if (permanent || options.reconnect === false || (options.failFast && !everOpened)) {
        status({ state: 'closed', error });
        return;
      }
      // A connection that worked resets the backoff: the daemon restarted, so come back quickly.
      if (opened) delay = initial;
      const wait = parser.retryMs !== undefined && opened ? Math.min(parser.retryMs, max) : delay;
      status({ state: 'retrying', attempt, retryInMs: wait, error });
      await sleep(wait, controller.signal);
      if (controller.signal.aborted) break;
      delay = Math.min(delay * 2, max);
    }
    status({ state: 'closed' });
  }

  const done = loop();
  return {
    async close() {
      controller.abort();
      await done;
    },
    done,
    lastEventId: () => parser.lastEventId,
  };
}

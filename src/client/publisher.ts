/**
 * A batching publisher, as Kafka's producers batch: `publish()` queues one event and returns a
 * promise of the stored event; queued events go out together once `lingerMs` has passed since the
 * first of them, or as soon as `maxBatch` are queued. Each batch is one `POST /v1/events/stream`
 * request whose answer lines settle the promises one by one, as the daemon's commits land. Unlike
 * `POST /v1/events/batch`, a batch is not all-or-nothing: an invalid event rejects only its own
 * promise.
 *
 * Order: with `maxInFlight: 1` (the default) batches go one after another, so events are stored in
 * the order they were published. Meanwhile the next batch fills, so batches grow with the load.
 */
import { request } from 'undici';
import { amebo, AmeboError } from '../errors.js';
import { errorFromResponse, errorFromTransport } from './errors.js';
import type { HttpClient } from './http.js';
import type { PublishInput, WireEvent } from './types.js';

/** How a publisher batches. */
export interface PublisherOptions {
  /** How long the first event of a batch waits for others, in ms (default 5). */
  readonly lingerMs?: number | undefined;
  /** Events per batch at most (default 500). A full batch goes at once. */
  readonly maxBatch?: number | undefined;
  /** Batches sent at the same time (default 1, which keeps publish order). */
  readonly maxInFlight?: number | undefined;
}

interface Queued {
  readonly line: string;
  readonly resolve: (event: WireEvent) => void;
  readonly reject: (err: AmeboError) => void;
}

/** Publishes events in batches through one client. Get one with `client.publisher()`. */
export class Publisher {
  readonly #http: HttpClient;
  readonly #lingerMs: number;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: Queued[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** The queue is due: linger passed or a full batch waits. */
  #due = false;
  #inFlight = 0;
  #sentUnanswered = 0;
  #closed = false;
  #idle: Array<() => void> = [];

  constructor(http: HttpClient, options: PublisherOptions = {}) {
    this.#http = http;
    this.#lingerMs = Math.max(0, options.lingerMs ?? 5);
    this.#maxBatch = Math.max(1, Math.floor(options.maxBatch ?? 500));
    this.#maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? 1));
  }

  /** Events queued or sent and not yet answered. */
  get pending(): number {
    return this.#queue.length + this.#sentUnanswered;
  }

  /**
   * Queues one event. Resolves with the stored event once it is committed (for a repeated deduper,
   * the original event); rejects with the daemon's error for this event alone (`AMEBO_ERR_SCHEMA_INVALID`
   * for a 422, ...), or `AMEBO_ERR_UNAVAILABLE` when the daemon could not be reached: then the event
   * may or may not be stored, and publishing it again with a deduper is safe.
   */
  publish(action: string, payload: unknown, options: { readonly deduper?: string | undefined; readonly sleepUntil?: number | undefined } = {}): Promise<WireEvent> {
    if (this.#closed) return Promise.reject(amebo('AMEBO_ERR_BAD_REQUEST', 'the publisher is closed'));
    const input: PublishInput = { action, payload, deduper: options.deduper, sleep_until: options.sleepUntil };
    let line: string;
    try {
      line = JSON.stringify(input);
    } catch (err) {
      return Promise.reject(amebo('AMEBO_ERR_BAD_REQUEST', `the payload cannot be sent as JSON: ${(err as Error).message}`));
    }
    if (line === undefined || line.includes('\n')) return Promise.reject(amebo('AMEBO_ERR_BAD_REQUEST', 'the payload cannot be sent as JSON'));
    return new Promise<WireEvent>((resolve, reject) => {
      this.#queue.push({ line, resolve, reject });
      if (this.#queue.length >= this.#maxBatch) this.#markDue();
      else if (this.#timer === undefined && !this.#due) this.#timer = setTimeout(() => this.#markDue(), this.#lingerMs);
      this.#pump();
    });
  }

  /** Sends everything queued now, and resolves once every event published so far is answered. */
  async flush(): Promise<void> {
    this.#markDue();
    if (this.pending === 0 && this.#inFlight === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Flushes, then refuses further events. Safe to call twice. Does not close the client. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #markDue(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = this.#queue.length > 0;
    this.#pump();
  }

  #pump(): void {
    while (this.#due && this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      if (this.#queue.length === 0) this.#due = false;
      else if (this.#queue.length < this.#maxBatch && this.#idle.length === 0) {
        // The rest starts a batch of its own, which lingers like any other (unless a flush waits).
        this.#due = false;
        this.#timer = setTimeout(() => this.#markDue(), this.#lingerMs);
      }
      this.#inFlight++;
      this.#sentUnanswered += batch.length;
      void this.#send(batch).finally(() => {
        this.#inFlight--;
        this.#sentUnanswered -= batch.length;
        this.#pump();
        if (this.pending === 0 && this.#inFlight === 0) for (const done of this.#idle.splice(0)) done();
      });
    }
  }

  /** One batch: one request, its answer lines settling the batch's promises in order. */
  async #send(batch: readonly Queued[]): Promise<void> {
    let answered = 0;
    const fail = (err: AmeboError): void => {
      for (let i = answered; i < batch.length; i++) batch[i]!.reject(err);
      answered = batch.length;
    };
    try {
      const res = await request(this.#http.url('/v1/events/stream'), {
        method: 'POST',
        headers: this.#http.headers({ 'content-type': 'application/x-ndjson', accept: 'application/x-ndjson' }),
        body: `${batch.map((q) => q.line).join('\n')}\n`,
        dispatcher: this.#http.dispatcher,
      });
      if (res.statusCode !== 200) {
        const text = await res.body.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON: the text is the message.
        }
        fail(errorFromResponse(res.statusCode, body));
        return;
      }
      const decoder = new TextDecoder();
      let rest = '';
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n');
        rest = lines.pop()!;
        for (const text of lines) {
          if (text === '' || answered >= batch.length) continue;
          settle(batch[answered++]!, text);
        }
      }
      if (answered < batch.length) fail(amebo('AMEBO_ERR_UNAVAILABLE', `amebo at ${this.#http.baseUrl} ended the stream before answering ${batch.length - answered} events; they may or may not be stored`));
    } catch (err) {
      fail(errorFromTransport(err, this.#http.baseUrl));
    }
  }
}

function settle(q: Queued, text: string): void {
  let answer: { data?: WireEvent; error?: string; code?: number } | undefined;
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    q.reject(amebo('AMEBO_ERR_INTERNAL', `amebo answered a line that is not JSON: ${text.slice(0, 200)}`));
    return;
  }
  if (answer?.data !== undefined) q.resolve(answer.data);
  else q.reject(errorFromResponse(typeof answer?.code === 'number' ? answer.code : 500, answer));
}

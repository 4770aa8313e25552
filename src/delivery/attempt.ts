/**
 * One HTTP attempt with undici: POST the body, keep the first 1 KiB of the answer, never throw.
 *
 * It drives undici's dispatcher with a handler of its own rather than `request()`: an attempt reads
 * at most 64 KiB of the answer and keeps 1 KiB of it, so a response stream, its async iterator and
 * their promises would be garbage made for every webhook.
 */
import type { Dispatcher } from 'undici';
import type { Clock } from '../types.js';
import { parseRetryAfter } from './backoff.js';
import type { NetworkGuard } from './networks.js';

export interface AttemptRequest {
  readonly url: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly timeoutMs: number;
}

export interface AttemptResponse {
  /** The handler's address is in a network the policy denies: no request was sent. */
  readonly blocked?: boolean;
  /** Null when no response arrived. */
  readonly status: number | null;
  readonly durationMs: number;
  readonly error: string | null;
  /** First 1 KiB of the response body. */
  readonly response: string | null;
  readonly retryAfterMs: number | null;
}

const KEEP_BYTES = 1024;
/** undici's timers back up the deadline in case it ever fails to fire. */
const BACKSTOP_MS = 5_000;
/** Read at most this much of an answer, so a receiver cannot make amebo download a huge body. */
const DRAIN_BYTES = 64 * 1024;

/** An answer: its status, its Retry-After header, and the first KEEP_BYTES of its body. */
interface Answer {
  readonly status: number;
  readonly retryAfter: string | string[] | undefined;
  readonly head: string | null;
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Origin and path of each handler URL (the URLs come from the config: a handful). */
const targets = new Map<string, { origin: string; path: string }>();

function targetOf(url: string): { origin: string; path: string } {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (targets.size >= 1024) targets.clear();
    targets.set(url, t);
  }
  return t;
}

/**
 * Sends one attempt. `timeoutMs` bounds the whole attempt: the wait for a connection and the response
 * head, and then reading the body (cut at the deadline). The connection itself has the dispatcher's
 * connect timeout.
 */
export async function sendAttempt(dispatcher: Dispatcher, req: AttemptRequest, clock: Clock, guard?: NetworkGuard): Promise<AttemptResponse> {
  const started = performance.now();
  if (guard) {
    const reason = guard.checkUrl(req.url);
    if (reason) return { status: null, durationMs: 0, error: `blocked: ${reason}`, response: null, retryAfterMs: null, blocked: true };
  }
  try {
    const res = await post(dispatcher, req);
    return {
      status: res.status,
      durationMs: round(performance.now() - started),
      error: res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`,
      response: res.head,
      retryAfterMs: parseRetryAfter(res.retryAfter, clock.now()),
    };
  } catch (err) {
    const blocked = (err as { code?: string; cause?: { code?: string } }).cause?.code === 'AMEBO_NETWORK_DENIED' || (err as { code?: string }).code === 'AMEBO_NETWORK_DENIED';
    return { status: null, durationMs: round(performance.now() - started), error: describe(err, req.timeoutMs), response: null, retryAfterMs: null, blocked };
  }
}

/**
 * POSTs and settles once: with the answer when its body has ended (or was cut at DRAIN_BYTES or at
 * the deadline after the head arrived), or with the error when no answer came in time.
 */
function post(dispatcher: Dispatcher, req: AttemptRequest): Promise<Answer> {
  const { origin, path } = targetOf(req.url);
  return new Promise<Answer>((resolve, reject) => {
    const handler = new AttemptHandler(resolve, reject, req.timeoutMs);
    try {
      dispatcher.dispatch(
        { origin, path, method: 'POST', body: req.body, headers: req.headers, headersTimeout: req.timeoutMs + BACKSTOP_MS, bodyTimeout: req.timeoutMs + BACKSTOP_MS },
        handler,
      );
    } catch (err) {
      handler.finish(err as Error);
    }
  });
}

/** undici's handler for one attempt (a class: one object per webhook, its methods shared). */
class AttemptHandler implements Dispatcher.DispatchHandler {
  #settled = false;
  #controller: Dispatcher.DispatchController | null = null;
  #status = 0;
  #retryAfter: string | string[] | undefined;
  #kept: Buffer[] = [];
  #keptBytes = 0;
  #seen = 0;
  /**
   * One precise deadline for the whole attempt (undici's own timers are coarse); it also cuts a body
   * that is still trickling in, so a slow receiver cannot hold the slot. A request still waiting for a
   * connection is aborted as soon as undici starts it.
   */
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (answer: Answer) => void,
    private readonly reject: (err: Error) => void,
    private readonly timeoutMs: number,
  ) {
    this.#timer = setTimeout(() => this.#expire(), timeoutMs);
  }

  #expire(): void {
    const err = new TimeoutError(`no answer within ${this.timeoutMs} ms`);
    this.#controller?.abort(err);
    this.finish(err);
  }

  finish(err: Error | null): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    if (this.#status !== 0) this.resolve({ status: this.#status, retryAfter: this.#retryAfter, head: this.#keptBytes === 0 ? null : headOf(this.#kept) });
    else this.reject(err ?? new Error('the connection closed without an answer'));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#settled) controller.abort(new TimeoutError(`no answer within ${this.timeoutMs} ms`));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // 1xx answers are informational: the final one follows.
    if (statusCode < 200) return;
    this.#status = statusCode;
    this.#retryAfter = headers['retry-after'];
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    if (this.#keptBytes < KEEP_BYTES) {
      const part = chunk.subarray(0, KEEP_BYTES - this.#keptBytes);
      // Copied: a view would keep the whole socket read (up to 64 KiB) alive for 1 KiB of it.
      this.#kept.push(Buffer.from(part));
      this.#keptBytes += part.length;
    }
    this.#seen += chunk.length;
    if (this.#seen > DRAIN_BYTES) {
      this.finish(null);
      controller.abort(new Error('answer too long: the rest is not read'));
    }
  }

  onResponseEnd(): void {
    this.finish(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    // A body cut short still leaves the status code, which decides the outcome.
    this.finish(err);
  }
}

/** The kept bytes as text, cut on a character boundary (a trailing partial UTF-8 sequence is dropped). */
function headOf(kept: readonly Buffer[]): string {
  const bytes = kept.length === 1 ? kept[0]! : Buffer.concat(kept);
  return bytes.toString('utf8').replace(/\uFFFD+$/, '');
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  const name = (err as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_ABORTED') {
    return `timeout: no answer within ${timeoutMs} ms`;
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout: could not connect';
  const message = e.cause?.message ?? e.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

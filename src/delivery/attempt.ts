/** One HTTP attempt with undici: POST the body, keep the first 1 KiB of the answer, never throw. */
import { request, type Dispatcher } from 'undici';
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
/** undici's timers back up the deadline signal in case it ever fails to fire. */
const BACKSTOP_MS = 5_000;
/** Read at most this much of an answer, so a receiver cannot make amebo download a huge body. */
const DRAIN_BYTES = 64 * 1024;

/**
 * Sends one attempt. `timeoutMs` bounds the whole attempt: the wait for the response head, and then
 * reading the body (cut at the deadline). The connection itself has the dispatcher's connect timeout.
 */
export async function sendAttempt(dispatcher: Dispatcher, req: AttemptRequest, clock: Clock, guard?: NetworkGuard): Promise<AttemptResponse> {
  const started = performance.now();
  if (guard) {
    const reason = guard.checkUrl(req.url);
    if (reason) return { status: null, durationMs: 0, error: `blocked: ${reason}`, response: null, retryAfterMs: null, blocked: true };
  }
  try {
    const res = await request(req.url, {
      method: 'POST',
      body: req.body,
      headers: req.headers,
      dispatcher,
      // One precise deadline for the whole attempt (undici's own timers are coarse); it also cuts a
      // body that is still trickling in, so a slow receiver cannot hold the slot.
      signal: AbortSignal.timeout(req.timeoutMs),
      headersTimeout: req.timeoutMs + BACKSTOP_MS,
      bodyTimeout: req.timeoutMs + BACKSTOP_MS,
    });
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], clock.now());
    // The status decides the outcome; the body is read only for the record.
    const head = await readHead(res.body);
    return {
      status: res.statusCode,
      durationMs: round(performance.now() - started),
      error: res.statusCode >= 200 && res.statusCode < 300 ? null : `HTTP ${res.statusCode}`,
      response: head,
      retryAfterMs,
    };
  } catch (err) {
    const blocked = (err as { code?: string; cause?: { code?: string } }).cause?.code === 'AMEBO_NETWORK_DENIED' || (err as { code?: string }).code === 'AMEBO_NETWORK_DENIED';
    return { status: null, durationMs: round(performance.now() - started), error: describe(err, req.timeoutMs), response: null, retryAfterMs: null, blocked };
  }
}

async function readHead(body: Dispatcher.ResponseData['body']): Promise<string | null> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let seen = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (keptBytes < KEEP_BYTES) {
        const part = chunk.subarray(0, KEEP_BYTES - keptBytes);
        kept.push(part);
        keptBytes += part.length;
      }
      seen += chunk.length;
      if (seen > DRAIN_BYTES) {
        body.destroy();
        break;
      }
    }
  } catch {
    // A body cut short (or by the deadline) still leaves the status code, which decides the outcome.
  }
  if (keptBytes === 0) return null;
  // Cut on a character boundary: decoding drops a trailing partial UTF-8 sequence.
  return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(kept)).replace(/\uFFFD+$/, '');
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

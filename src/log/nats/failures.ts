/**
 * How the JetStream engine treats failures. While a cluster elects a leader (4–9 s on 2.9) or has no
 * quorum, requests time out, find no responders ("jetstream is not enabled" in the v3 client) or get
 * 503 / err_code 10008 "JetStream system temporarily unavailable". All of these are retried, with the
 * same message id so a write that did land is not written twice, until a budget runs out; then the
 * caller gets AMEBO_ERR_LOG_UNAVAILABLE (503 with Retry-After), never an internal error.
 */
import { amebo, isAmeboError, type AmeboError } from '../../errors.js';

/** JetStream API error codes amebo decides on. */
export const API = {
  wrongLastSequence: 10071,
  noMessage: 10037,
  streamNotFound: 10059,
  consumerNotFound: 10014,
  temporarilyUnavailable: 10008,
  streamNameInUse: 10058,
  consumerExists: 10148,
  consumerNameExists: 10013,
} as const;

/** The JetStream API error code of `err`, if it is one. */
export function apiCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; apiError?: () => { err_code?: number } };
  if (typeof e?.apiError === 'function') return e.apiError().err_code;
  return undefined;
}

/** True for a compare-and-swap refusal: the subject's last sequence was not the one expected. */
export function isWrongLastSequence(err: unknown): boolean {
  if (apiCode(err) === API.wrongLastSequence) return true;
  return /wrong last sequence/i.test(String((err as Error)?.message ?? ''));
}

/** True for failures that go away once the cluster has a leader again (or the connection is back). */
export function isTransient(err: unknown): boolean {
  // A refused compare-and-swap is an answer, not an outage (its message holds a sequence number).
  if (isAmeboError(err) || isWrongLastSequence(err)) return false;
  const name = String((err as Error)?.name ?? '');
  const message = String((err as Error)?.message ?? '');
  const code = apiCode(err);
  if (code === API.temporarilyUnavailable) return true;
  if (/TimeoutError|NoRespondersError|ClosedConnectionError|ConnectionError|DrainingConnectionError|RequestError|JetStreamNotEnabled/.test(name)) return true;
  if (/timeout|timed out|no responders|not enabled|temporarily unavailable|no suitable peers|connection (closed|draining|lost)|disconnect|reconnect|leader|not current|insufficient resources/i.test(message)) return true;
  const status = (err as { status?: unknown }).status;
  return status === 503 || status === 408;
}

/** The registry error for a failure of the log that is not amebo's own. */
export function unavailable(err: unknown, what: string): AmeboError {
  if (isAmeboError(err)) return err;
  return amebo(
    'AMEBO_ERR_LOG_UNAVAILABLE',
    `the event log (NATS JetStream) is unavailable: ${what} (${String((err as Error)?.message ?? err).slice(0, 200)}); nothing was lost, try again`,
    undefined,
    err,
  );
}

/** A try that has not settled after this long is given up on (and retried): see `retrying`. */
export const PER_TRY_MS = 6_000;

/** Settles as `p`, or rejects with a TimeoutError after `ms` (the late outcome of `p` is dropped). */
function capped<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError' })), ms);
  });
  p.catch(() => undefined);
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * Runs `op` until it succeeds, fails for a reason that is not transient, or `budgetMs` has passed
 * (then AMEBO_ERR_LOG_UNAVAILABLE). Waits grow from 50 ms to 1 s between tries. Each try is capped at
 * `perTryMs`: a request in flight when the client lost its server can stay unanswered (seen with
 * kill -9 of the server a client was connected to), and nothing may hang a publish for ever. A
 * retried write reuses its message id, so a try that did land late is not stored twice.
 */
export async function retrying<T>(what: string, budgetMs: number, op: () => Promise<T>, perTryMs = PER_TRY_MS): Promise<T> {
  const deadline = Date.now() + budgetMs;
  let wait = 50;
  for (;;) {
    try {
      return await capped(op(), Math.max(1, Math.min(perTryMs, deadline - Date.now())));
    } catch (err) {
      if (!isTransient(err)) throw err;
      if (Date.now() + wait > deadline) throw unavailable(err, what);
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(1_000, wait * 2);
    }
  }
}

/** Maps whatever a read threw to a registry error: transient failures are 503, ours pass through. */
export function readFailure(err: unknown, what: string): Error {
  if (isAmeboError(err)) return err;
  if (isTransient(err)) return unavailable(err, what);
  return amebo('AMEBO_ERR_LOG_UNAVAILABLE', `the event log (NATS JetStream) refused ${what}: ${String((err as Error)?.message ?? err).slice(0, 200)}`, undefined, err);
}

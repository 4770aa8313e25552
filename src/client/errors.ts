/**
 * Turns what went wrong on the wire into the registry's errors, so verbs pick their exit code and
 * message from `code` alone.
 */
import { AmeboError, amebo, specOf, type ErrorCode } from '../errors.js';
import type { Violation } from './types.js';

/** The error body every non-2xx answer of the daemon carries. */
interface ErrorBody {
  error?: unknown;
  code?: unknown;
  error_code?: unknown;
  details?: unknown;
}

/** The registry code to fall back on when a body names none we know. */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'AMEBO_ERR_BAD_REQUEST';
    case 401:
      return 'AMEBO_ERR_UNAUTHORIZED';
    case 403:
      return 'AMEBO_ERR_FORBIDDEN';
    case 404:
      return 'AMEBO_ERR_NOT_FOUND';
    case 405:
      return 'AMEBO_ERR_METHOD_NOT_ALLOWED';
    case 408:
      return 'AMEBO_ERR_TIMEOUT';
    case 409:
      return 'AMEBO_ERR_CONFLICT';
    case 413:
      return 'AMEBO_ERR_BODY_TOO_LARGE';
    case 415:
      return 'AMEBO_ERR_UNSUPPORTED_MEDIA_TYPE';
    case 422:
      return 'AMEBO_ERR_SCHEMA_INVALID';
    case 503:
      return 'AMEBO_ERR_SHUTTING_DOWN';
    case 507:
      return 'AMEBO_ERR_STORAGE_FULL';
    default:
      return 'AMEBO_ERR_INTERNAL';
  }
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Builds the error for a non-2xx answer. `body` is the parsed JSON, or the raw text when the body was
 * not JSON (a proxy's HTML page, say). The daemon's `error_code` wins; otherwise the HTTP status picks.
 */
export function errorFromResponse(status: number, body: unknown): AmeboError {
  const b = asRecord(body) as ErrorBody | undefined;
  const named = typeof b?.error_code === 'string' && specOf(b.error_code) ? (b.error_code as ErrorCode) : undefined;
  const code = named ?? codeForStatus(status);
  let message: string;
  if (typeof b?.error === 'string' && b.error !== '') message = b.error;
  else if (typeof body === 'string' && body.trim() !== '') message = `HTTP ${status}: ${body.trim().slice(0, 200)}`;
  else message = `HTTP ${status}`;
  const details = asRecord(b?.details) ?? {};
  return amebo(code, message, { ...details, http_status: status });
}

/** Transport failures worth a sentence of their own. */
const TRANSPORT_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (is `amebo serve` running?)',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'the daemon did not answer in time',
  UND_ERR_BODY_TIMEOUT: 'the daemon stopped sending',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
  UND_ERR_CLOSED: 'the connection closed unexpectedly',
};

/** The first `code` found on an error or its causes (undici wraps node's socket errors). */
function transportCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && typeof e === 'object' && e !== null; i++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string' && c in TRANSPORT_REASONS) return c;
    // AggregateError (happy-eyeballs tries ::1 and 127.0.0.1) keeps the real errors in `errors`.
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) e = errors[0];
    else e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Wraps a failure that happened before any HTTP answer arrived. The message names the URL, since
 * the usual cause is a wrong `--url` or a daemon that is not running.
 */
export function errorFromTransport(err: unknown, baseUrl: string): AmeboError {
  if (err instanceof AmeboError) return err;
  const code = transportCode(err);
  const reason = code ? TRANSPORT_REASONS[code] : err instanceof Error ? err.message : String(err);
  return amebo('AMEBO_ERR_UNAVAILABLE', `cannot reach amebo at ${baseUrl}: ${reason}`, code ? { cause_code: code } : {}, err);
}

/** The schema violations of a 422 answer (`details.violations`), tolerating their absence. */
export function violationsOf(details: Readonly<Record<string, unknown>> | undefined): Violation[] {
  const list = details?.['violations'];
  if (!Array.isArray(list)) return [];
  const out: Violation[] = [];
  for (const v of list) {
    const r = asRecord(v);
    if (!r) continue;
    out.push({
      pointer: typeof r['pointer'] === 'string' ? r['pointer'] : '',
      keyword: typeof r['keyword'] === 'string' ? r['keyword'] : '',
      message: typeof r['message'] === 'string' ? r['message'] : JSON.stringify(v),
    });
  }
  return out;
}

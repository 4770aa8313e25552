/**
 * The one registry of expected failures. Each has a stable code, an HTTP status and a CLI exit code.
 * Compare errors by `code`, never by `instanceof`: an error that crossed a module or process boundary
 * keeps its code but not its prototype.
 */

interface ErrorSpec {
  readonly status: number;
  readonly exit: number;
  readonly message: string;
}

const REGISTRY = {
  AMEBO_ERR_BAD_JSON: { status: 400, exit: 2, message: 'request body is not valid JSON' },
  AMEBO_ERR_BAD_REQUEST: { status: 400, exit: 2, message: 'bad request' },
  AMEBO_ERR_VALIDATION: { status: 400, exit: 2, message: 'request failed validation' },
  AMEBO_ERR_INVALID_SCHEMA: { status: 400, exit: 1, message: 'schemata is not a valid JSON Schema' },
  AMEBO_ERR_UNAUTHORIZED: { status: 401, exit: 1, message: 'missing or invalid credentials' },
  AMEBO_ERR_FORBIDDEN: { status: 403, exit: 1, message: 'these credentials may not do that' },
  AMEBO_ERR_NOT_FOUND: { status: 404, exit: 1, message: 'not found' },
  AMEBO_ERR_UNKNOWN_ACTION: { status: 404, exit: 1, message: 'unknown action' },
  AMEBO_ERR_METHOD_NOT_ALLOWED: { status: 405, exit: 1, message: 'method not allowed' },
  AMEBO_ERR_CONFLICT: { status: 409, exit: 1, message: 'already exists' },
  AMEBO_ERR_MANAGED_BY_FILE: { status: 409, exit: 1, message: 'managed by amebo.yaml' },
  AMEBO_ERR_BATCH_ABORTED: { status: 424, exit: 1, message: 'not stored: another event in the batch was rejected' },
  AMEBO_ERR_BODY_TOO_LARGE: { status: 413, exit: 1, message: 'request body is too large' },
  AMEBO_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, exit: 1, message: 'unsupported content type' },
  AMEBO_ERR_SCHEMA_INVALID: { status: 422, exit: 1, message: 'payload does not match the action schema' },
  AMEBO_ERR_TIMEOUT: { status: 408, exit: 1, message: 'request timed out' },
  AMEBO_ERR_SHUTTING_DOWN: { status: 503, exit: 1, message: 'amebo is shutting down' },
  AMEBO_ERR_STALE_LEASE: { status: 409, exit: 1, message: 'the lease on this gist is no longer held' },
  AMEBO_ERR_STORAGE_FULL: { status: 507, exit: 1, message: 'storage is full: the event log cannot grow' },
  AMEBO_ERR_CONFIG: { status: 500, exit: 1, message: 'invalid configuration' },
  AMEBO_ERR_DATA_DIR: { status: 500, exit: 1, message: 'the data directory cannot be used' },
  AMEBO_ERR_UNAVAILABLE: { status: 503, exit: 1, message: 'amebo is unreachable' },
  // A distributed log without a quorum (a NATS cluster electing a leader): nothing acknowledged is lost.
  AMEBO_ERR_LOG_UNAVAILABLE: { status: 503, exit: 1, message: 'the event log is unavailable (no quorum); try again' },
  AMEBO_ERR_INTERNAL: { status: 500, exit: 1, message: 'internal error' },
  // Raised by the clients' verifyWebhook in a receiver, never sent by the daemon.
  AMEBO_ERR_WEBHOOK_VERIFICATION: { status: 401, exit: 1, message: 'the webhook does not verify' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof REGISTRY;

/** An expected failure with a stable code. `details` is safe to show to the client. */
export class AmeboError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly exit: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    const spec = REGISTRY[code];
    super(message ?? spec.message, options);
    this.name = 'AmeboError';
    this.code = code;
    this.status = spec.status;
    this.exit = spec.exit;
    this.details = details;
  }
}

/** Builds an error from the registry. */
export function amebo(code: ErrorCode, message?: string, details?: Record<string, unknown>, cause?: unknown): AmeboError {
  return new AmeboError(code, message, details, cause === undefined ? undefined : { cause });
}

/** True when `err` carries one of the registry's codes (checked by code, not prototype). */
export function isAmeboError(err: unknown, code?: ErrorCode): err is AmeboError {
  if (typeof err !== 'object' || err === null) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string' || !(c in REGISTRY)) return false;
  return code === undefined || c === code;
}

/** The registry entry for a code, e.g. to map an HTTP error body back to an exit code. */
export function specOf(code: string): ErrorSpec | undefined {
  return (REGISTRY as Record<string, ErrorSpec>)[code];
}

/** Every code with its HTTP status and default message, in registry order (the API description lists them). */
export function errorCatalog(): ReadonlyArray<{ readonly code: ErrorCode; readonly status: number; readonly message: string }> {
  return (Object.entries(REGISTRY) as Array<[ErrorCode, ErrorSpec]>).map(([code, spec]) => ({ code, status: spec.status, message: spec.message }));
}

/** Turns anything thrown into an AmeboError; unknown failures become AMEBO_ERR_INTERNAL. */
export function toAmeboError(err: unknown): AmeboError {
  if (err instanceof AmeboError) return err;
  if (isAmeboError(err)) {
    const e = err as unknown as { code: ErrorCode; message: string; details?: Record<string, unknown> };
    return new AmeboError(e.code, e.message, e.details);
  }
  return new AmeboError('AMEBO_ERR_INTERNAL', undefined, undefined, { cause: err });
}

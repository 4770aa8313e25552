/**
 * Domain types shared by every stage. No I/O lives here.
 *
 * Names follow Amebo's vocabulary: an application publishes and receives, an
 * action is an event type with a JSON Schema, an event is one occurrence of an
 * action, a subscription is a webhook handler for one action, and a gist is one
 * event on its way to one subscription together with every attempt made.
 */

/** A JSON Schema: an object, or a boolean schema (`true` accepts everything, `false` nothing). */
export type JsonSchema = boolean | Readonly<Record<string, unknown>>;

/** Where an object was declared: in amebo.yaml (read-only through the API) or through the API. */
export type Source = 'file' | 'api' | 'builtin';

/** A service that publishes and/or receives events. */
export interface Application {
  readonly name: string;
  /** Base URL that `/path` handlers are joined to. */
  readonly address: string;
  /** Signing and auth secret. Never logged or returned. */
  readonly secret: string;
  /** A previous secret still accepted and still signed with until `previous_secret_expires_at`. */
  readonly previous_secret?: string | undefined;
  readonly previous_secret_expires_at?: string | undefined;
  readonly source: Source;
  /**
   * True when the application was created as a placeholder because a subscription named it before it
   * was registered (the seed's `email-service`). A later `POST /v1/applications` claims it.
   */
  readonly implicit?: boolean | undefined;
  readonly created_at: string;
}

/** An event type, owned by one application, with the JSON Schema its payloads must satisfy. */
export interface Action {
  readonly name: string;
  readonly application: string;
  /** The payloads' JSON Schema: an object, or `true` / `false`. */
  readonly schemata: JsonSchema;
  /** Allows a reload to make this schema reject events it used to accept. */
  readonly allow_breaking_changes?: boolean | undefined;
  readonly source: Source;
  readonly created_at: string;
}

/** Retry policy of one subscription, durations in milliseconds. */
export interface RetryPolicy {
  readonly max_retries: number;
  readonly timeout_ms: number;
  readonly backoff_initial_ms: number;
  readonly backoff_max_ms: number;
  /** 0..1: the share of each delay that is randomised. */
  readonly backoff_jitter: number;
  /** Retry 4xx answers other than 408/429 instead of killing the gist at once. */
  readonly retry_4xx: boolean;
  /** How many attempts to this subscription may be in flight at once. */
  readonly concurrency: number;
}

/** The circuit breaker of a subscription: opens after `failures` failed attempts in a row. */
export interface CircuitPolicy {
  readonly failures: number;
  /** How long an open circuit makes no attempt before one probe. */
  readonly cooldown_ms: number;
}

/** Per-key delivery order: by the payload's value at a JSON pointer, or one order for everything. */
export type OrderingPolicy = { readonly key: string } | 'strict';

/** At most `count` attempts per `per_ms` to one subscription. */
export interface RateLimit {
  readonly count: number;
  readonly per_ms: number;
}

/** Routing and delivery control of a subscription, beyond its retry policy. */
export interface SubscriptionControl {
  /** A MongoDB-style query on the payload: events that do not match make no gist. */
  readonly filter?: Readonly<Record<string, unknown>> | undefined;
  /** Headers added to every webhook (amebo's own and the signature headers excepted). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Declared paused (in the file or the API object): gists are made, nothing is sent. */
  readonly paused?: boolean | undefined;
  /** Null: no circuit breaker. */
  readonly circuit: CircuitPolicy | null;
  readonly ordering?: OrderingPolicy | undefined;
  readonly rate_limit?: RateLimit | undefined;
}

/** A webhook handler of one application for one or more actions. */
export interface Subscription extends RetryPolicy, SubscriptionControl {
  readonly name: string;
  readonly application: string;
  /** One action name, a pattern (`user.*`, `order.>`) or a list of them, as written. */
  readonly action: string | readonly string[];
  /** Handler as written: a full URL or a `/path` joined to the application's address. */
  readonly handler: string;
  readonly source: Source;
  readonly created_at: string;
}

/** One stored occurrence of an action. Immutable once appended. */
export interface StoredEvent {
  readonly id: number;
  readonly action: string;
  /** The payload as JSON text, exactly as it will be sent. */
  readonly payload_json: string;
  readonly deduper?: string | undefined;
  /** ISO 8601 time at which the event was appended; never decreases with id. */
  readonly timestamp: string;
  /** Unix ms before which the first delivery is not attempted (from `sleep_until`). */
  readonly deliver_after?: number | undefined;
}

export type GistState = 'pending' | 'delivered' | 'failed' | 'dead';

/**
 * A gist id, opaque to callers: LMDB hands out numbers (and shows them as JSON numbers), the JetStream
 * engine strings (`<event id>.<subscription>`). Either is stable for every attempt of the gist.
 */
export type GistId = number | string;

/** One delivery attempt of a gist. */
export interface Attempt {
  readonly gist_id: GistId;
  readonly n: number;
  readonly at: string;
  readonly status: number | null;
  readonly duration_ms: number;
  readonly error: string | null;
  /** The first 1 KiB of the response body. */
  readonly response: string | null;
  readonly outcome: Outcome;
  /** True when this attempt was made by a replay. */
  readonly replay: boolean;
}

/** The verdict on one attempt. */
export type Outcome = 'success' | 'retry' | 'dead';

/** What `/v1/stream` and `amebo tail` receive. */
export type BusMessage =
  | { readonly type: 'published'; readonly event_id: number; readonly action: string; readonly at: string; readonly gists: number }
  | {
      readonly type: 'delivery';
      readonly gist_id: GistId;
      readonly event_id: number;
      readonly action: string;
      readonly subscription: string;
      readonly attempt: number;
      readonly status: number | null;
      readonly latency_ms: number;
      readonly state: GistState;
      readonly error: string | null;
      readonly replay: boolean;
      readonly at: string;
    };

/**
 * Who is asking: the admin (or a trusted loopback client when no admin token is set), or one
 * application, which may see and change only its own actions, events and subscriptions.
 */
/** Who makes a request: the admin token, anyone on loopback when no admin token is set, an application, or amebo itself (its own events). */
export type Caller = { readonly kind: 'admin' } | { readonly kind: 'open' } | { readonly kind: 'app'; readonly app: string } | { readonly kind: 'amebo' };

/** A timer of a Clock. */
export interface Timer {
  unref?(): unknown;
}

/**
 * Time, as every time-dependent piece takes it: the current time and timers on the same clock, so a
 * test can drive both (test/helpers/fake-clock.ts) and policy over time runs without real waits.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, Math.max(0, ms));
    timer.unref?.();
    signal?.addEventListener('abort', done, { once: true });
  });
}

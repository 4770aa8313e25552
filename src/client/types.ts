/**
 * The shapes the daemon's HTTP API sends and accepts, as the client sees them (JSON on the wire).
 * They differ from the domain types in `src/types.ts`, which are how the daemon stores things.
 */
import type { GistState, Outcome } from '../types.js';

/** A stored event as `GET /v1/events/:id` returns it. */
export interface WireEvent {
  readonly id: number;
  readonly action: string;
  readonly payload: unknown;
  readonly deduper: string | null;
  /** ISO 8601 time at which the event was appended. */
  readonly timestamp: string;
  /** ISO 8601 time before which the first delivery is not attempted, from `sleep_until`. */
  readonly deliver_after: string | null;
}

/** One delivery attempt of a gist. */
export interface WireAttempt {
  readonly n: number;
  readonly at: string;
  readonly status: number | null;
  readonly duration_ms: number;
  readonly error: string | null;
  /** The first 1 KiB of the response body. */
  readonly response: string | null;
  readonly outcome: Outcome;
  readonly replay: boolean;
}

/** One event on its way to one subscription, with every attempt made. */
/**
 * A gist id. Opaque: the LMDB engine answers numbers, the JetStream engine strings
 * (`<event id>.<subscription>`); send it back exactly as received.
 */
export type WireGistId = number | string;

export interface WireGist {
  readonly id: WireGistId;
  readonly event_id: number;
  readonly action: string;
  readonly subscription: string;
  readonly state: GistState;
  readonly attempt_count: number;
  readonly next_attempt_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly replays: number;
  /** True while the gist's subscription is removed from the config (its delivery waits). */
  readonly orphaned?: boolean | undefined;
  readonly last_status: number | null;
  readonly last_error: string | null;
  /** Present on `GET /v1/gists/:id`; lists may leave it out. */
  readonly attempts?: readonly WireAttempt[] | undefined;
}

/** Pagination metadata of a list response. */
export interface PageMeta {
  readonly total: number;
  readonly page: number;
  readonly per_page: number;
}

/** A list response: one page of items and where it sits. */
export interface Page<T> {
  readonly data: readonly T[];
  readonly meta: PageMeta;
}

/** The body of `POST /v1/events`. */
export interface PublishInput {
  readonly action: string;
  readonly payload: unknown;
  readonly deduper?: string | undefined;
  /** Delay in seconds before the first delivery. */
  readonly sleep_until?: number | undefined;
}

/** The result of publishing one event: the event, and whether it was a deduper repeat (HTTP 200). */
export interface PublishResult {
  readonly event: WireEvent;
  readonly duplicate: boolean;
}

/** One item of a `POST /v1/events/batch` answer. */
export interface BatchItemResult {
  readonly status: number;
  readonly data?: WireEvent | undefined;
  readonly error?: string | undefined;
  readonly error_code?: string | undefined;
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

/** One JSON Schema violation of a rejected payload. */
export interface Violation {
  readonly pointer: string;
  readonly keyword: string;
  readonly message: string;
}

/** Filters of `GET /v1/events`. */
export interface EventQuery {
  readonly action?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly page?: number | undefined;
  readonly per_page?: number | undefined;
}

/** Filters of `GET /v1/gists`. */
export interface GistQuery {
  readonly subscription?: string | undefined;
  readonly event?: number | undefined;
  readonly state?: GistState | undefined;
  readonly action?: string | undefined;
  readonly page?: number | undefined;
  readonly per_page?: number | undefined;
}

/** The body of `POST /v1/replays`. */
export interface ReplayInput {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly action?: string | undefined;
  readonly subscription?: string | undefined;
  readonly event?: number | undefined;
  readonly failed?: boolean | undefined;
  readonly dry_run?: boolean | undefined;
}

/** The answer of `POST /v1/replays`: the replay's id (null for a dry run) and how many gists it queues. */
export interface ReplayCreated {
  readonly replay: string | null;
  readonly count: number;
}

/** Progress of a replay, from `GET /v1/replays/:id`. */
export interface ReplayProgress {
  readonly replay: string;
  readonly count: number;
  readonly queued: number;
  readonly delivered: number;
  /** Gists whose last attempt failed and that are waiting for a retry. */
  readonly failed: number;
  readonly dead: number;
  readonly done: boolean;
}

/** The `stats` message of `/v1/stream`, sent every second. */
export interface StreamStats {
  readonly published_per_s: number;
  readonly delivered_per_s: number;
  readonly failed_per_s: number;
  readonly backlog: number;
  readonly inflight: number;
  /** The subscriptions that need attention: paused, or with a circuit open or probing. */
  readonly subscriptions?: Readonly<Record<string, WireSubscriptionStatus>>;
  readonly at: string;
}

/** A subscription's delivery state, as `/health` and the `stats` stream message show it. */
export interface WireSubscriptionStatus {
  readonly paused: boolean;
  readonly paused_by: 'config' | 'api' | null;
  readonly circuit: { readonly state: 'closed' | 'open' | 'half_open' | 'off'; readonly failures: number; readonly opened_at: string | null; readonly probe_at: string | null };
}

/** `GET /health`. Only `status` is relied upon; the rest is shown as is. */
export interface Health {
  readonly status: string;
  readonly [key: string]: unknown;
}

/** Where an object was declared: amebo.yaml (read-only through the API) or the API. */
export type WireSource = 'file' | 'api' | 'builtin';

/** An application as the API returns it. Its secret is never returned. */
export interface WireApplication {
  readonly application: string;
  readonly address: string;
  readonly source: WireSource;
  /** A placeholder created by a subscription before the application was registered. */
  readonly implicit: boolean;
  readonly secret_rotation: { readonly previous_secret_expires_at: string | null } | null;
  readonly created_at: string;
}

/** An action (event type) and its JSON Schema. */
export interface WireAction {
  readonly action: string;
  readonly application: string;
  readonly schemata: Readonly<Record<string, unknown>> | boolean;
  readonly source: WireSource;
  readonly created_at: string;
}

/** A subscription: one application's webhook handler for one action, with its delivery policy. */
/** A subscription's circuit breaker and its state. */
export interface WireCircuit {
  readonly state: 'closed' | 'open' | 'half_open' | 'off';
  /** Failed attempts in a row. */
  readonly failures: number;
  readonly failures_to_open: number | null;
  readonly cooldown: string | null;
  readonly opened_at: string | null;
  /** When an open circuit lets one probe through. */
  readonly probe_at: string | null;
}

export interface WireSubscription {
  readonly subscription: string;
  /** The same as `subscription`. */
  readonly id: string;
  readonly application: string;
  /** As written: a name, a pattern (`user.*`, `order.>`), or a list of them. */
  readonly action: string | readonly string[];
  readonly handler: string;
  /** The resolved handler URL. */
  readonly url: string | null;
  readonly max_retries: number;
  readonly timeout: string;
  readonly backoff: { readonly initial: string; readonly max: string; readonly jitter: number };
  readonly retry_4xx: boolean;
  readonly concurrency: number;
  readonly filter: Readonly<Record<string, unknown>> | null;
  /** The headers added to every webhook, without the credential headers' values. */
  readonly headers: Readonly<Record<string, string>> | null;
  /** Headers that are set but whose values are credentials, never returned (`Authorization`, `X-Api-Key`, ...). */
  readonly sensitive_headers: readonly string[];
  readonly ordering: 'strict' | { readonly key: string } | null;
  readonly rate_limit: string | null;
  /** Paused now, by the config or through the API. */
  readonly paused: boolean;
  readonly paused_by: 'config' | 'api' | null;
  readonly circuit: WireCircuit;
  readonly source: WireSource;
  readonly created_at: string;
}

/**
 * `secret` on a body that is not about secrets: the caller's application secret, sent in the body as
 * Amebo's clients do instead of `Authorization: Bearer`.
 */
export interface BodyCredentials {
  readonly secret?: string | undefined;
}

/** The body of `POST /v1/applications`. */
export interface ApplicationInput {
  readonly application: string;
  /** Base URL that `/path` handlers are joined to. */
  readonly address: string;
  readonly secret: string;
}

/** The body of `PUT /v1/applications/:name`. */
export interface ApplicationUpdate {
  readonly address?: string | null | undefined;
  readonly new_secret?: string | null | undefined;
  /** The new secret, from the admin token only. */
  readonly secret?: string | null | undefined;
  readonly previous_secret?: string | null | undefined;
  readonly previous_secret_expires_at?: string | null | undefined;
}

/** The body of `POST /v1/actions`. `schemata` may also be JSON text of a schema. */
export interface ActionInput extends BodyCredentials {
  readonly action: string;
  readonly application: string;
  readonly schemata: Readonly<Record<string, unknown>> | boolean | string;
  readonly allow_breaking_changes?: boolean | undefined;
}

/** The body of `PUT /v1/actions/:name`. */
export interface ActionUpdate extends BodyCredentials {
  readonly application?: string | null | undefined;
  readonly schemata?: Readonly<Record<string, unknown>> | boolean | string | null | undefined;
  readonly allow_breaking_changes?: boolean | undefined;
}

/** Delivery policy keys of a subscription body. */
export interface SubscriptionPolicyInput {
  readonly max_retries?: number | null | undefined;
  /** A duration such as `500ms`, `30s`, `5m` (a bare number is milliseconds). */
  readonly timeout?: string | number | null | undefined;
  readonly concurrency?: number | null | undefined;
  readonly retry_4xx?: boolean | undefined;
}

/** The routing and delivery-control keys of a subscription body (`null` clears one on a PUT). */
export interface SubscriptionControlInput {
  /** A MongoDB-style query on the payload: `$eq $ne $gt $gte $lt $lte $in $nin $exists $regex`, `$and $or $not`. */
  readonly filter?: Readonly<Record<string, unknown>> | null | undefined;
  readonly headers?: Readonly<Record<string, string>> | null | undefined;
  readonly paused?: boolean | null | undefined;
  /** `{failures, cooldown}`, or `false` to turn the circuit breaker off. */
  readonly circuit?: { readonly failures?: number; readonly cooldown?: string | number } | boolean | null | undefined;
  /** `"strict"`, or `{key: "/json/pointer"}`. */
  readonly ordering?: 'strict' | { readonly key: string } | null | undefined;
  /** `"50/s"` or `"600/m"`. */
  readonly rate_limit?: string | null | undefined;
}

/** The body of `POST /v1/subscriptions`. */
export interface SubscriptionInput extends SubscriptionPolicyInput, SubscriptionControlInput, BodyCredentials {
  readonly application: string;
  /** One action name, a pattern (`user.*`, `order.>`), or a list of them. */
  readonly action: string | readonly string[];
  /** A full http(s) URL or a `/path` joined to the application's address. */
  readonly handler: string;
  /** Its name; `<application>.<action>` when left out. */
  readonly subscription?: string | null | undefined;
}

/** The body of `PUT /v1/subscriptions/:id`. */
export interface SubscriptionUpdate extends SubscriptionPolicyInput, SubscriptionControlInput, BodyCredentials {
  readonly handler?: string | null | undefined;
  readonly action?: string | readonly string[] | null | undefined;
}

/** The body of a webhook amebo sends to a handler. */
export interface WebhookBody {
  readonly event_id: number;
  readonly action: string;
  readonly payload: unknown;
  /** When the event was published (ISO 8601). */
  readonly timestamp: string;
  /** 1 for the first attempt; keeps counting through retries and replays. */
  readonly delivery_attempt: number;
  readonly subscription: string;
}

/**
 * The storage contract: everything amebo keeps, behind one interface, as bullmq keeps every datastore
 * operation behind one backend and litestream one replica client. The core, the dispatcher, replays,
 * retention, the config registry and the routes use only this; an engine (LMDB in `lmdb/`, a
 * distributed one next) implements it. Every method is asynchronous and no engine type appears here.
 *
 * The parts:
 * - `events`: the append-only log. An append writes an event and its gists atomically.
 * - `gists`: deliveries and their attempts. An attempt is recorded under a lease; a stale lease is
 *   refused, so two holders can never both record an attempt of one gist.
 * - `delivery`: hands out due gists as leases, takes expired leases back, reports what is in flight.
 * - `objects`: the applications, actions and subscriptions created through the API, with revisions
 *   (compare-and-swap) and a watch.
 * - stats, retention (`prune`) and the lifecycle (`start`, `close`). Ids come from the engine.
 */
import type { Attempt, BusMessage, GistId, GistState, Outcome, StoredEvent } from '../types.js';

export type { GistId } from '../types.js';

/** An event id: it only ever increases. */
export type EventId = number;

/** One event to append, already validated. */
export interface AppendInput {
  readonly action: string;
  /** The payload as JSON text, stored and delivered as it is. */
  readonly payload_json: string;
  readonly deduper?: string | undefined;
  /** Unix ms before which the first delivery is not attempted. */
  readonly deliver_after?: number | undefined;
  /** The subscriptions that match the event now: one gist each. */
  readonly subscriptions: readonly string[];
  /**
   * For each subscription (same index), the event's ordering key when that subscription orders its
   * deliveries (`ordering`), else null: gists of one subscription and key are attempted one at a
   * time, in log order, and other keys keep flowing.
   */
  readonly keys?: readonly (string | null)[] | undefined;
}

export interface AppendOutput {
  readonly event: StoredEvent;
  /** True when the deduper matched an earlier event: nothing was written, `event` is the original. */
  readonly duplicate: boolean;
  /** Gists created (0 for a duplicate). */
  readonly gists: number;
}

/** One delivery of one event to one subscription. */
export interface Gist {
  readonly id: GistId;
  readonly event_id: EventId;
  readonly action: string;
  readonly subscription: string;
  readonly state: GistState;
  /** Attempts made so far. */
  readonly attempts: number;
  /** Attempt count when the gist was last replayed: retries are counted from here. */
  readonly retry_base: number;
  /** Unix ms of the next attempt; null once delivered or dead. */
  readonly next_at: number | null;
  readonly created: number;
  readonly updated: number;
  readonly replays: number;
  readonly last_status: number | null;
  readonly last_error: string | null;
}

export interface Page {
  readonly page: number;
  readonly per_page: number;
}

export interface Listing<T> {
  readonly items: T[];
  /** How many match. A lower bound when `exact` is false. */
  readonly total: number;
  /**
   * False when an engine without secondary indexes stopped counting at its scan limit (JetStream);
   * absent or true: `total` is exact (LMDB always is).
   */
  readonly exact?: boolean;
}

export interface EventFilter {
  readonly action?: string | undefined;
  /** Unix ms, inclusive. */
  readonly from?: number | undefined;
  /** Unix ms, inclusive. */
  readonly to?: number | undefined;
  /** Restricts to these actions (an application's own), when set. */
  readonly actions?: ReadonlySet<string> | undefined;
  readonly order?: 'asc' | 'desc' | undefined;
}

export interface GistFilter {
  readonly subscription?: string | undefined;
  readonly event?: EventId | undefined;
  readonly state?: GistState | undefined;
  /** Restricts to these subscriptions (an application's own), when set. */
  readonly subscriptions?: ReadonlySet<string> | undefined;
  /** Unix ms range of the gist's event time, inclusive (replays of failed gists). */
  readonly from?: number | undefined;
  readonly to?: number | undefined;
}

export interface EventLog {
  /**
   * Appends every input in one atomic write: each event, its gists, its deduper. A deduper already
   * used for the action (in the log or earlier in the same call) returns the original event instead.
   * Resolves once the write is durable under the engine's durability setting.
   */
  append(inputs: readonly AppendInput[]): Promise<AppendOutput[]>;
  get(id: EventId): Promise<StoredEvent | undefined>;
  /** One page in log order (or reverse), and how many match. */
  list(filter: EventFilter, page: Page): Promise<Listing<StoredEvent>>;
  /** Every matching event in log order, streamed (replays). */
  scan(filter: EventFilter): AsyncIterable<StoredEvent>;
}

/** What one attempt produced, as recorded. */
export interface AttemptRecord {
  readonly at: number;
  readonly status: number | null;
  readonly duration_ms: number;
  readonly error: string | null;
  readonly response: string | null;
  readonly replay: boolean;
}

/** The gist's next state after an attempt, decided by the delivery policy (delivery/policy.ts). */
export type Transition =
  | { readonly state: 'delivered' }
  | { readonly state: 'dead' }
  | { readonly state: 'failed'; readonly retry_at: number };

/** Where a replay sends a delivery again: an existing gist, or an event for a subscription without one. */
export type ReplayTarget = { readonly gist: GistId } | { readonly event: EventId; readonly subscription: string; readonly key?: string | null | undefined };

export interface GistStore {
  get(id: GistId): Promise<Gist | undefined>;
  /** Every attempt of a gist, in order. */
  attempts(id: GistId): Promise<Attempt[]>;
  list(filter: GistFilter, page: Page): Promise<Listing<Gist>>;
  /** Every matching gist, streamed in id order (replays of failed gists). */
  scan(filter: GistFilter): AsyncIterable<Gist>;
  ofEvent(event: EventId): Promise<Gist[]>;
  /**
   * Records one attempt made under `lease` and moves the gist to `next`; the attempt's outcome is
   * `success`, `retry` or `dead` to match. Throws AMEBO_ERR_STALE_LEASE when the lease is no longer
   * the gist's (it expired and another holder took the gist, or the gist moved on). A gist replayed
   * while its attempt was in flight is put back as pending, due now, after the attempt is recorded.
   */
  record(lease: Lease, attempt: AttemptRecord, next: Transition): Promise<Gist>;
  /**
   * Puts gists back on their way now: an existing gist becomes pending (retries counted afresh from
   * here), an (event, subscription) pair without a gist gets a new one. Returns the gists queued.
   */
  replay(targets: readonly ReplayTarget[], now: number): Promise<Gist[]>;
}

/** A gist handed to one holder for one attempt. */
export interface Lease {
  readonly gist: Gist;
  readonly event: StoredEvent;
  /** Unix ms after which the gist may be handed to another holder. */
  readonly expires_at: number;
  /** Opaque proof of holding; `record` refuses a lease whose token is no longer the gist's. */
  readonly token: string;
}

export interface LeaseOptions {
  /** How long the lease holds (the attempt's timeout and a margin). */
  readonly lease_ms: number;
  /** How long to wait for a due gist when none is due now; 0 answers at once. */
  readonly wait_ms: number;
  /** Ends the wait early (shutdown, a removed subscription). */
  readonly signal?: AbortSignal | undefined;
}

export interface DeliverySource {
  /**
   * Hands out up to `max` due gists of `subscription` as leases, first attempts before retries so a
   * backlog of retries never starves new events. Waits up to `wait_ms` when none is due.
   */
  lease(subscription: string, max: number, options: LeaseOptions): Promise<Lease[]>;
  /**
   * Gives a lease back without recording an attempt; the gist is due again after `retry_in_ms`
   * (0: at once). Used when an outcome could not be written, or the daemon stops mid-attempt.
   */
  release(lease: Lease, retry_in_ms: number): void;
  /** Leases this process holds now. */
  readonly inflight: number;
}

/** API objects, and `state`: what delivery keeps per subscription (pause, circuit) for every instance. */
export type ObjectKind = 'application' | 'action' | 'subscription' | 'state';

export interface StoredObject {
  readonly kind: ObjectKind;
  readonly name: string;
  readonly value: unknown;
  /** Increases with every write; the compare-and-swap token. */
  readonly revision: number;
}

/** A change to an API object; `value` null when it was deleted. */
export interface ObjectChange {
  readonly kind: ObjectKind;
  readonly name: string;
  readonly value: unknown;
  readonly revision: number;
}

export interface ObjectStore {
  list(): Promise<StoredObject[]>;
  /**
   * Writes an object if its current revision is `expected` (null: it must not exist). Resolves with
   * the new revision; throws AMEBO_ERR_CONFLICT when another write came first.
   */
  put(kind: ObjectKind, name: string, value: unknown, expected: number | null): Promise<number>;
  /** Deletes an object if its current revision is `expected`; throws AMEBO_ERR_CONFLICT otherwise. */
  delete(kind: ObjectKind, name: string, expected: number): Promise<void>;
  /** Calls `listener` after every change, this process's own included. Returns the unsubscribe. */
  watch(listener: (change: ObjectChange) => void): () => void;
}

/** How far retention may prune. */
export interface RetentionPolicy {
  /** Prune events older than this (ms); null keeps them by age. */
  readonly max_age_ms: number | null;
  /** Prune the oldest events while live data exceeds this many bytes; null means no cap. */
  readonly max_bytes: number | null;
  readonly interval_ms: number;
}

export interface PruneResult {
  readonly pruned: number;
  /** Events due for pruning but kept because a gist is not delivered. */
  readonly kept: number;
}

export interface LogStats {
  readonly engine: 'lmdb' | 'nats';
  readonly events: number;
  /** Open gists (pending or failed), in flight included. */
  readonly backlog: number;
  /** Open gists per subscription. */
  readonly backlog_by_subscription: Readonly<Record<string, number>>;
  /** Per subscription with open gists: when the oldest of them was made (unix ms). */
  readonly oldest_pending_by_subscription: Readonly<Record<string, number>>;
  /** Engine-specific figures for `/health` (file sizes, servers). */
  readonly storage: Readonly<Record<string, unknown>>;
}

/**
 * Notices between the processes that share one log: what one instance delivered or published reaches
 * the others' buses, so `/v1/stream`, `amebo tail` and replay progress see the whole cluster. At most
 * once: a notice is news, never state (the log is the state). LMDB has one process per log, so its
 * channel carries nothing.
 */
export interface NoticeChannel {
  /** True when other processes may be listening (a shared log); false for a log with one process. */
  readonly shared: boolean;
  /** Tells the other processes. */
  publish(message: BusMessage): void;
  /** Calls `listener` for every notice from another process. Returns the unsubscribe. */
  subscribe(listener: (message: BusMessage) => void): () => void;
}

export interface LogEngine {
  readonly kind: 'lmdb' | 'nats';
  /**
   * Whether the engine keeps per-key delivery order (`AppendInput.keys`, `ReplayTarget.key`). One that
   * does not refuses an append with a key, so no ordered subscription is ever delivered out of order.
   */
  readonly ordering: boolean;
  /** Random id of this log, stamped at creation: the prefix of every `webhook-id`. */
  readonly instanceId: string;
  /** Notices to and from the other processes sharing this log. */
  readonly notices: NoticeChannel;
  /**
   * The gist id a path segment names, in this engine's form (LMDB: a number; JetStream: a string);
   * undefined when it cannot be one.
   */
  parseGistId(text: string): GistId | undefined;
  readonly events: EventLog;
  readonly gists: GistStore;
  readonly delivery: DeliverySource;
  readonly objects: ObjectStore;
  /**
   * Prunes events older than the policy allows, only those whose gists are all delivered: events with
   * a pending, failed or dead gist are never pruned silently.
   */
  prune(policy: RetentionPolicy, now: number): Promise<PruneResult>;
  stats(): Promise<LogStats>;
  /** Opens the log (creating it if needed); refuses logs it must not touch. */
  start(): Promise<void>;
  /** Waits for writes in progress and closes. Safe to call twice. */
  close(): Promise<void>;
}

/** The outcome an attempt is recorded with, given the transition it led to. */
export function outcomeOf(next: Transition): Outcome {
  return next.state === 'delivered' ? 'success' : next.state === 'dead' ? 'dead' : 'retry';
}

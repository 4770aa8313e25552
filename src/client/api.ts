/**
 * The typed client of amebo's HTTP API: the one the CLI verbs and the TUI use, and the one users import
 * as `amebo/client`. One method per endpoint, each returning the `data` of the answer, plus the
 * methods of the seed's `amebo_client` in camelCase (seed.ts). Failures throw registry errors.
 */
import type { Dispatcher } from 'undici';
import { amebo } from '../errors.js';
import { HttpClient } from './http.js';
import { Publisher, type PublisherOptions } from './publisher.js';
import type {
  BatchItemResult,
  EventQuery,
  GistQuery,
  Health,
  Page,
  PublishInput,
  PublishResult,
  ReplayCreated,
  ReplayInput,
  ReplayProgress,
  ActionInput,
  WireAction,
  WireApplication,
  WireEvent,
  WireGist,
  WireGistId,
  WireSubscription,
  SubscriptionControlInput,
  SubscriptionInput,
} from './types.js';

/** A time for a filter: a Date, or ISO 8601 text (`2026-11-03` or `2026-11-03T12:00:00Z`). */
export type TimeInput = Date | string;

const isoOf = (t: TimeInput | undefined): string | undefined => (t instanceof Date ? t.toISOString() : t);

/** Items per page when a method gathers every page. */
const GATHER_PAGE = 1000;

function dataOf<T>(body: unknown): T {
  if (typeof body !== 'object' || body === null || !('data' in body)) {
    throw amebo('AMEBO_ERR_INTERNAL', 'the daemon answered without a "data" field; is --url pointing at amebo?');
  }
  return (body as { data: T }).data;
}

function pageOf<T>(body: unknown): Page<T> {
  const data = dataOf<readonly T[]>(body);
  if (!Array.isArray(data)) throw amebo('AMEBO_ERR_INTERNAL', 'the daemon answered a list request without a list');
  const meta = (body as { meta?: Partial<Page<T>['meta']> }).meta ?? {};
  return {
    data,
    meta: {
      total: typeof meta.total === 'number' ? meta.total : data.length,
      page: typeof meta.page === 'number' ? meta.page : 1,
      per_page: typeof meta.per_page === 'number' ? meta.per_page : data.length,
    },
  };
}

const id = (n: number | string): string => encodeURIComponent(String(n));

/** How to reach the daemon. Every key is optional; the environment fills in what is left out. */
export interface AmeboClientOptions {
  /** Base URL of the daemon (default `$AMEBO_URL`, else `http://127.0.0.1:3310`). A path prefix is kept. */
  readonly url?: string | undefined;
  /** The application this client acts for, the default owner in `registerAction` and `subscribe` (default `$AMEBO_APPLICATION`). */
  readonly application?: string | undefined;
  /** The application's secret, sent as `Authorization: Bearer` when there is no token (default `$AMEBO_SECRET`). */
  readonly secret?: string | undefined;
  /** The admin token (default `$AMEBO_TOKEN`); wins over `secret`. */
  readonly token?: string | undefined;
  /** How long to wait for an answer, in ms (default 30 s). */
  readonly timeoutMs?: number | undefined;
  /** Send requests through this dispatcher instead of a private Agent. */
  readonly dispatcher?: Dispatcher | undefined;
  /** Where the defaults come from (default `process.env`); `{}` turns them off. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** The default base URL: `amebo serve`'s default listen address. */
export const DEFAULT_URL = 'http://127.0.0.1:3310';

/** A client of one amebo daemon. `close()` it when done so the process can exit. */
export class AmeboClient {
  /** The transport, for the stream client and for requests this class has no method for. */
  readonly http: HttpClient;
  /** The application this client acts for, if any. */
  readonly application: string | undefined;

  constructor(options: AmeboClientOptions = {}) {
    const env = options.env ?? process.env;
    const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
    this.application = nonEmpty(options.application) ?? nonEmpty(env['AMEBO_APPLICATION']);
    this.http = new HttpClient({
      url: nonEmpty(options.url) ?? nonEmpty(env['AMEBO_URL']) ?? DEFAULT_URL,
      token: nonEmpty(options.token) ?? nonEmpty(options.secret) ?? nonEmpty(env['AMEBO_TOKEN']) ?? nonEmpty(env['AMEBO_SECRET']),
      timeoutMs: options.timeoutMs,
      dispatcher: options.dispatcher,
    });
  }

  /** The base URL, for messages. */
  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** `GET /health`. */
  async health(): Promise<Health> {
    return dataOf<Health>((await this.http.send('GET', '/health')).body);
  }

  /** `POST /v1/events`: publishes one event; `duplicate` is true when the deduper matched (HTTP 200). */
  async publish(input: PublishInput): Promise<PublishResult> {
    const res = await this.http.send('POST', '/v1/events', { body: input });
    return { event: dataOf<WireEvent>(res.body), duplicate: res.status === 200 };
  }

  /**
   * A batching publisher (`POST /v1/events/stream`): `publish()` returns a promise of the stored
   * event, events go out together after `lingerMs` or `maxBatch` of them, and `flush()` / `close()`
   * wait for every answer. The fastest way to publish many events.
   */
  publisher(options: PublisherOptions = {}): Publisher {
    return new Publisher(this.http, options);
  }

  /**
   * `POST /v1/events/batch`: publishes events all together or not at all. A rejected batch throws,
   * with the per-item results in `details.results`.
   */
  async publishBatch(events: readonly PublishInput[]): Promise<BatchItemResult[]> {
    const res = await this.http.send('POST', '/v1/events/batch', { body: { events } });
    return dataOf<BatchItemResult[]>(res.body);
  }

  /** `GET /v1/events`: one page of events, oldest first. */
  async listEvents(query: EventQuery = {}): Promise<Page<WireEvent>> {
    return pageOf<WireEvent>((await this.http.send('GET', '/v1/events', { query: { ...query } })).body);
  }

  /** `GET /v1/events/:id`. */
  async getEvent(eventId: number): Promise<WireEvent> {
    return dataOf<WireEvent>((await this.http.send('GET', `/v1/events/${id(eventId)}`)).body);
  }

  /** `GET /v1/gists`: one page of gists. */
  async listGists(query: GistQuery = {}): Promise<Page<WireGist>> {
    return pageOf<WireGist>((await this.http.send('GET', '/v1/gists', { query: { ...query } })).body);
  }

  /** `GET /v1/gists/:id`: a gist with every attempt. */
  async getGist(gistId: WireGistId, signal?: AbortSignal): Promise<WireGist> {
    return dataOf<WireGist>((await this.http.send('GET', `/v1/gists/${id(gistId)}`, { signal })).body);
  }

  /** `POST /v1/gists/:id/replay`: delivers the gist again now. */
  async replayGist(gistId: WireGistId): Promise<WireGist> {
    return dataOf<WireGist>((await this.http.send('POST', `/v1/gists/${id(gistId)}/replay`)).body);
  }

  /** `POST /v1/subscriptions/:id/pause`: gists are still made; nothing is sent until resumed. */
  async pauseSubscription(subscription: string): Promise<WireSubscription> {
    return dataOf<WireSubscription>((await this.http.send('POST', `/v1/subscriptions/${id(subscription)}/pause`)).body);
  }

  /** `POST /v1/subscriptions/:id/resume`: everything the subscription holds is delivered. */
  async resumeSubscription(subscription: string): Promise<WireSubscription> {
    return dataOf<WireSubscription>((await this.http.send('POST', `/v1/subscriptions/${id(subscription)}/resume`)).body);
  }

  /** Every application, over all pages (`GET /v1/applications`). */
  async getApplications(): Promise<WireApplication[]> {
    return this.#gather((page) => this.#list<WireApplication>('/v1/applications', page));
  }

  /** Every action, over all pages (`GET /v1/actions`). */
  async getActions(): Promise<WireAction[]> {
    return this.#gather((page) => this.#list<WireAction>('/v1/actions', page));
  }

  /** Every subscription with its delivery status, over all pages (`GET /v1/subscriptions`). */
  async getSubscriptions(): Promise<WireSubscription[]> {
    return this.#gather((page) => this.#list<WireSubscription>('/v1/subscriptions', page));
  }

  async #list<T>(path: string, page: number): Promise<Page<T>> {
    return pageOf<T>((await this.http.send('GET', path, { query: { page, per_page: GATHER_PAGE } })).body);
  }

  /** `GET /v1/subscriptions/:id`. */
  async getSubscription(subscription: string): Promise<WireSubscription> {
    return dataOf<WireSubscription>((await this.http.send('GET', `/v1/subscriptions/${id(subscription)}`)).body);
  }

  /** `POST /v1/replays`: queues (or with `dry_run`, only counts) the gists the filters match. */
  async createReplay(input: ReplayInput): Promise<ReplayCreated> {
    const data = dataOf<Partial<ReplayCreated>>((await this.http.send('POST', '/v1/replays', { body: input })).body);
    return { replay: typeof data.replay === 'string' ? data.replay : null, count: Number(data.count ?? 0) };
  }

  /** `GET /v1/replays/:id`: how far a replay has got. */
  async getReplay(replayId: string): Promise<ReplayProgress> {
    return dataOf<ReplayProgress>((await this.http.send('GET', `/v1/replays/${id(replayId)}`)).body);
  }

  // The methods of the seed's `amebo_client`, in camelCase: the same as the Python client's.

  /** Publishes one event; returns it as stored (the original event when `deduper` repeats one). */
  async publishEvent(action: string, payload: unknown, options: { readonly deduper?: string | undefined; readonly sleepUntil?: number | undefined } = {}): Promise<WireEvent> {
    return (await this.publish({ action, payload, deduper: options.deduper, sleep_until: options.sleepUntil })).event;
  }

  /** Publishes events all together or none (`POST /v1/events/batch`); returns them as stored, in order. */
  async publishEvents(events: readonly PublishInput[]): Promise<WireEvent[]> {
    return (await this.publishBatch(events)).map((r) => r.data!);
  }

  /** Every event that matches, over all pages, in log order. `from` and `to` are both inclusive. */
  async getEvents(filter: { readonly from?: TimeInput | undefined; readonly to?: TimeInput | undefined; readonly action?: string | undefined } = {}): Promise<WireEvent[]> {
    const query = { from: isoOf(filter.from), to: isoOf(filter.to), action: filter.action };
    return this.#gather((page) => this.listEvents({ ...query, page, per_page: GATHER_PAGE }));
  }

  /** Registers an application (admin token only). */
  async registerApplication(application: string, address: string, secret: string): Promise<WireApplication> {
    return dataOf<WireApplication>((await this.http.send('POST', '/v1/applications', { body: { application, address, secret } })).body);
  }

  /** Defines an action and its JSON Schema, owned by `application` (default: this client's). */
  async registerAction(
    action: string,
    schemata: ActionInput['schemata'],
    options: { readonly application?: string | undefined; readonly allowBreakingChanges?: boolean | undefined } = {},
  ): Promise<WireAction> {
    const body: ActionInput = { action, application: this.#owner(options.application, 'registerAction'), schemata, allow_breaking_changes: options.allowBreakingChanges };
    return dataOf<WireAction>((await this.http.send('POST', '/v1/actions', { body })).body);
  }

  /**
   * Subscribes `application`'s (default: this client's) webhook `handler`, a URL or a `/path`, to
   * `action`: one name, a pattern (`user.*`, `order.>`) or a list of them. The routing and delivery
   * control keys (`filter`, `headers`, `paused`, `circuit`, `ordering`, `rate_limit`) are passed as the
   * API spells them.
   */
  async subscribe(
    action: string | readonly string[],
    handler: string,
    options: {
      readonly application?: string | undefined;
      readonly subscription?: string | undefined;
      readonly maxRetries?: number | undefined;
      /** A duration such as `10s`. */
      readonly timeout?: string | undefined;
      readonly concurrency?: number | undefined;
      readonly retry4xx?: boolean | undefined;
    } & SubscriptionControlInput = {},
  ): Promise<WireSubscription> {
    const { application, subscription, maxRetries, timeout, concurrency, retry4xx, ...control } = options;
    const body: SubscriptionInput = {
      application: this.#owner(application, 'subscribe'),
      action,
      handler,
      subscription,
      max_retries: maxRetries,
      timeout,
      concurrency,
      retry_4xx: retry4xx,
      ...control,
    };
    return dataOf<WireSubscription>((await this.http.send('POST', '/v1/subscriptions', { body })).body);
  }

  /** Every gist (delivery, with its attempts) that matches, over all pages. */
  async getGists(filter: { readonly subscription?: string | undefined; readonly event?: number | undefined; readonly state?: GistQuery['state'] } = {}): Promise<WireGist[]> {
    return this.#gather((page) => this.listGists({ ...filter, page, per_page: GATHER_PAGE }));
  }

  /** Delivers past events again (`POST /v1/replays`); `dryRun` only counts. */
  async replay(
    filter: {
      readonly from?: TimeInput | undefined;
      readonly to?: TimeInput | undefined;
      readonly action?: string | undefined;
      readonly subscription?: string | undefined;
      readonly event?: number | undefined;
      readonly failed?: boolean | undefined;
      readonly dryRun?: boolean | undefined;
    } = {},
  ): Promise<ReplayCreated> {
    const { dryRun, from, to, ...rest } = filter;
    return this.createReplay({ ...rest, from: isoOf(from), to: isoOf(to), dry_run: dryRun });
  }

  #owner(application: string | undefined, method: string): string {
    const owner = application ?? this.application;
    if (owner === undefined) throw amebo('AMEBO_ERR_BAD_REQUEST', `${method} needs an application: pass one, or set AMEBO_APPLICATION`);
    return owner;
  }

  async #gather<T>(fetchPage: (page: number) => Promise<Page<T>>): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; ; page++) {
      const { data, meta } = await fetchPage(page);
      out.push(...data);
      if (data.length < meta.per_page || out.length >= meta.total) return out;
    }
  }

  /** Releases the connection pool. */
  async close(): Promise<void> {
    await this.http.close();
  }
}

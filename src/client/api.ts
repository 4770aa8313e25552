/**
 * The typed client of amebo's HTTP API that every client verb and the TUI use. One method per
 * endpoint; each returns the `data` of the answer and throws registry errors.
 */
import { amebo } from '../errors.js';
import { HttpClient, type ClientConfig } from './http.js';
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
  WireEvent,
  WireGist,
} from './types.js';

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

/** A client of one amebo daemon. Create one per verb run and `close()` it at the end. */
export class AmeboClient {
  /** The transport, for the stream client and for requests this class has no method for. */
  readonly http: HttpClient;

  constructor(config: ClientConfig) {
    this.http = new HttpClient(config);
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
  async getGist(gistId: number, signal?: AbortSignal): Promise<WireGist> {
    return dataOf<WireGist>((await this.http.send('GET', `/v1/gists/${id(gistId)}`, { signal })).body);
  }

  /** `POST /v1/gists/:id/replay`: delivers the gist again now. */
  async replayGist(gistId: number): Promise<WireGist> {
    return dataOf<WireGist>((await this.http.send('POST', `/v1/gists/${id(gistId)}/replay`)).body);
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

  /** Releases the connection pool. */
  async close(): Promise<void> {
    await this.http.close();
  }
}

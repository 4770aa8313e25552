/**
 * The transport under the typed client: one undici Agent per client, bearer auth, JSON in and out,
 * and every failure turned into a registry error.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { amebo } from '../errors.js';
import { errorFromResponse, errorFromTransport } from './errors.js';

/** Where the daemon is and how to talk to it. */
export interface ClientConfig {
  /** Base URL of the daemon, e.g. `http://127.0.0.1:3310`. A path prefix is kept. */
  readonly url: string;
  /** Sent as `Authorization: Bearer`. */
  readonly token?: string | undefined;
  /** Use this dispatcher instead of a private Agent (tests, or sharing one across clients). */
  readonly dispatcher?: Dispatcher | undefined;
  /** How long to wait for response headers, in ms. */
  readonly timeoutMs?: number | undefined;
}

/** A query string's values; undefined and empty values are left out. */
export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

/** One HTTP answer with its parsed JSON body. */
export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Options of one request. */
export interface SendOptions {
  readonly query?: Query | undefined;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Parses and checks a base URL; a bad one is a usage error. */
export function parseBaseUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw amebo('AMEBO_ERR_BAD_REQUEST', `--url: ${JSON.stringify(url)} is not a valid URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw amebo('AMEBO_ERR_BAD_REQUEST', `--url: ${url} must start with http:// or https://`);
  }
  return u;
}

/** Joins the base URL, a path and a query, keeping any path prefix of the base. */
export function buildUrl(base: URL, path: string, query?: Query): URL {
  const u = new URL(base.href);
  u.pathname = base.pathname.replace(/\/+$/, '') + path;
  u.search = '';
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === '' || v === false) continue;
    u.searchParams.set(k, String(v));
  }
  return u;
}

/** Sends JSON requests to one daemon. Call `close()` when done so the process can exit. */
export class HttpClient {
  /** The base URL, as shown in error messages. */
  readonly baseUrl: string;
  readonly #base: URL;
  readonly #token: string | undefined;
  readonly #dispatcher: Dispatcher;
  readonly #owned: boolean;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(config: ClientConfig) {
    this.#base = parseBaseUrl(config.url);
    this.baseUrl = this.#base.href.replace(/\/+$/, '');
    this.#token = config.token === '' ? undefined : config.token;
    this.#owned = config.dispatcher === undefined;
    this.#dispatcher = config.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connections: 16 });
    this.#timeoutMs = config.timeoutMs ?? 30_000;
  }

  /** The dispatcher requests go through (the stream client shares it). */
  get dispatcher(): Dispatcher {
    return this.#dispatcher;
  }

  /** A full URL for `path` and `query`. */
  url(path: string, query?: Query): URL {
    return buildUrl(this.#base, path, query);
  }

  /** Headers every request carries: auth and what we accept. */
  headers(extra?: Readonly<Record<string, string>>): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...extra };
    if (this.#token !== undefined) h['authorization'] = `Bearer ${this.#token}`;
    return h;
  }

  /**
   * Sends one request and returns the status and parsed body of a 2xx answer. Any other answer
   * throws the registry error its body names; a transport failure throws `AMEBO_ERR_UNAVAILABLE`.
   */
  async send(method: Dispatcher.HttpMethod, path: string, options: SendOptions = {}): Promise<JsonResponse> {
    const url = this.url(path, options.query);
    const headers = this.headers(options.headers);
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await request(url, {
        method,
        headers,
        body: payload,
        dispatcher: this.#dispatcher,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: options.signal,
      });
      text = await res.body.text();
    } catch (err) {
      throw errorFromTransport(err, this.baseUrl);
    }
    const body = parseBody(text);
    if (res.statusCode < 200 || res.statusCode >= 300) throw errorFromResponse(res.statusCode, body);
    return { status: res.statusCode, body };
  }

  /** Closes the private Agent (not a dispatcher that was passed in). Safe to call twice. */
  async close(): Promise<void> {
    if (!this.#owned || this.#closed) return;
    this.#closed = true;
    await this.#dispatcher.close();
  }
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

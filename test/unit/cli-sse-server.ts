/**
 * A real `node:http` server speaking the shape of `/v1/stream` (ids, event types, Last-Event-ID
 * resume from a buffer) plus scripted JSON routes, for testing the stream client and the TUI before
 * and besides the real daemon.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson } from './cli-stub.js';

/** A JSON route: answers `[status, body]`. */
export type Route = (req: IncomingMessage, body: string) => [number, unknown];

/** A running SSE server. */
export interface SseServer {
  url: string;
  /** Headers of every `/v1/stream` request, in order. */
  streamRequests: IncomingMessage['headers'][];
  /** Paths of every other request, as `METHOD /path`. */
  calls: string[];
  /** Connected stream clients. */
  readonly clients: number;
  /** Sends one message to every client (and keeps it for resume). Returns its id. */
  send(event: string, data: unknown): number;
  /** Cuts every stream connection, as a daemon restart would. */
  dropClients(): void;
  /** Resolves once `n` stream clients are connected. */
  waitForClients(n: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1:0. `routes` maps `METHOD /path` to a JSON answer. */
export async function startSseServer(options: { routes?: Record<string, Route>; streamStatus?: number } = {}): Promise<SseServer> {
  const history: { id: number; text: string }[] = [];
  const clients = new Set<ServerResponse>();
  const streamRequests: IncomingMessage['headers'][] = [];
  const calls: string[] = [];
  let nextId = 1;
  let waiters: (() => void)[] = [];

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (path === '/v1/stream') {
      streamRequests.push(req.headers);
      if (options.streamStatus && options.streamStatus !== 200) {
        sendJson(res, options.streamStatus, { error: 'missing or invalid credentials', code: options.streamStatus, error_code: 'AMEBO_ERR_UNAUTHORIZED' });
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': hello\n\n');
      const last = Number(req.headers['last-event-id'] ?? 0);
      for (const m of history) if (m.id > last) res.write(m.text);
      clients.add(res);
      res.on('close', () => clients.delete(res));
      const w = waiters;
      waiters = [];
      for (const f of w) f();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = `${req.method} ${path}`;
      calls.push(key);
      const route = options.routes?.[key];
      if (!route) return sendJson(res, 404, { error: `no route ${key}`, code: 404, error_code: 'AMEBO_ERR_NOT_FOUND' });
      const [status, body] = route(req, Buffer.concat(chunks).toString('utf8'));
      sendJson(res, status, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    streamRequests,
    calls,
    get clients() {
      return clients.size;
    },
    send(event, data) {
      const id = nextId++;
      const text = `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
      history.push({ id, text });
      if (history.length > 10_000) history.shift();
      for (const c of clients) c.write(text);
      return id;
    },
    dropClients() {
      for (const c of clients) c.destroy();
      clients.clear();
    },
    waitForClients(n) {
      return new Promise<void>((resolve) => {
        const check = (): void => {
          if (clients.size >= n) resolve();
          else waiters.push(check);
        };
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let gistSeq = 0;
/** A delivery message as the daemon sends it. */
export function delivery(over: Partial<Record<string, unknown>> = {}): Record<string, unknown> {
  gistSeq++;
  return {
    type: 'delivery',
    gist_id: gistSeq,
    event_id: gistSeq,
    action: 'user.created',
    subscription: 'welcome-emails',
    attempt: 1,
    status: 200,
    latency_ms: 12.5,
    state: 'delivered',
    error: null,
    replay: false,
    at: new Date().toISOString(),
    ...over,
  };
}

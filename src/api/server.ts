/**
 * The node:http front end: timeouts against slow clients, one request pipeline (route → body → auth →
 * handler → reply), one error envelope, and a clean close that answers 503 while draining.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Core } from '../amebo.js';
import { amebo, toAmeboError } from '../errors.js';
import { readJson } from './body.js';
import { authenticate, isLoopback, type Principal } from './auth.js';
import { Router } from './router.js';
import { errorReply, send, type Ctx } from './http.js';
import { applicationRoutes } from './routes/applications.js';
import { actionRoutes } from './routes/actions.js';
import { subscriptionRoutes } from './routes/subscriptions.js';
import { eventRoutes } from './routes/events.js';
import { gistRoutes } from './routes/gists.js';
import { healthRoutes } from './routes/health.js';
import { configRoutes } from './routes/config.js';
import { openApiRoutes } from './routes/openapi.js';
import { checkBody } from './validate.js';
import { StreamHub } from './stream.js';
import { IngestStreams, STREAM_PATH } from './routes/events-stream.js';
import { armDeadline } from './deadline.js';

export interface HttpServer {
  readonly server: Server;
  /** The routes it serves (method and pattern). */
  readonly routes: ReadonlyArray<{ readonly method: string; readonly pattern: string }>;
  /** Listens and resolves to the bound address. */
  listen(): Promise<{ host: string; port: number; url: string }>;
  /** Stops accepting, answers 503 to requests on kept-alive connections, and waits for open requests. */
  close(): Promise<void>;
}

const OPEN: Principal = { kind: 'open' };

export function createHttpServer(core: Core): HttpServer {
  const settings = core.registry.snapshot.config.server;
  const router = new Router();
  const hub = new StreamHub(core);
  const ingest = new IngestStreams();
  applicationRoutes(router);
  actionRoutes(router);
  subscriptionRoutes(router);
  eventRoutes(router);
  gistRoutes(router);
  healthRoutes(router);
  configRoutes(router);
  openApiRoutes(router);
  router.on('GET', '/v1/stream', hub.handle);
  router.on(
    'POST',
    STREAM_PATH,
    ({ core: c, req, res }) => {
      ingest.handle(c, req, res);
      return 'handled';
    },
    { rawBody: true },
  );

  let closing = false;
  const server = createServer(
    {
      // The request deadline is amebo's own (deadline.ts): node's would cut every NDJSON stream.
      requestTimeout: 0,
      headersTimeout: settings.headers_timeout_ms,
      // Node checks both timeouts only this often (30 s by default), which let a slowloris client
      // hold a socket for up to 30 s past headers_timeout.
      connectionsCheckingInterval: Math.min(1_000, settings.headers_timeout_ms),
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
      noDelay: true,
    },
    (req, res) => {
      void handle(req, res);
    },
  );
  server.maxHeadersCount = 100;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ error: status === 431 ? 'request headers are too large' : status === 408 ? 'request timed out' : 'malformed HTTP request', code: status, details: {} });
    socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (closing || core.closing) {
        res.setHeader('connection', 'close');
        throw amebo('AMEBO_ERR_SHUTTING_DOWN');
      }
      const target = req.url ?? '/';
      const method = req.method ?? 'GET';
      const route = router.match(method, pathOf(target));
      let parsed: URL | undefined;
      const urlOf = (): URL => (parsed ??= new URL(target, 'http://amebo.local'));
      if (route.options.rawBody) {
        // Reads its own body and checks its own credentials, which may come with each line.
        const reply = await route.handler({ core, req, res, get url() { return urlOf(); }, params: route.params, body: undefined, principal: OPEN });
        if (reply !== 'handled') send(res, reply);
        return;
      }
      armDeadline(req, res, settings.request_timeout_ms);
      const body =
        method === 'POST' || method === 'PUT' || method === 'PATCH'
          ? await readJson(req, { maxBytes: settings.max_body_bytes, maxDepth: settings.max_depth, keepPayload: route.options.keepsPayload === true })
          : undefined;
      const snap = core.registry.snapshot;
      let principal = OPEN;
      if (!route.options.public) {
        const bodySecret =
          !route.options.secretIsData && typeof body === 'object' && body !== null && typeof (body as { secret?: unknown }).secret === 'string'
            ? (body as { secret: string }).secret
            : undefined;
        principal = authenticate(req, snap, bodySecret, core.clock.now());
      }
      // After authentication, so a caller without credentials learns nothing from a body's shape.
      checkBody(method, route.pattern, body);
      const ctx: Ctx = {
        core,
        req,
        res,
        get url() {
          return urlOf();
        },
        params: route.params,
        body,
        principal,
      };
      const reply = await route.handler(ctx);
      if (reply !== 'handled') send(res, reply);
    } catch (err) {
      const e = toAmeboError(err);
      if (e.status >= 500 && e.code !== 'AMEBO_ERR_SHUTTING_DOWN') core.logger.error({ err: e.cause ?? e, code: e.code, method: req.method, path: req.url?.split('?')[0] }, e.message);
      else core.logger.debug({ code: e.code, method: req.method, path: req.url?.split('?')[0] }, e.message);
      const reply = errorReply(e);
      if (e.code === 'AMEBO_ERR_BODY_TOO_LARGE') reply.headers = { ...reply.headers, connection: 'close' };
      send(res, reply);
    }
  }

  let closed: Promise<void> | null = null;
  return {
    server,
    routes: router.routes(),
    listen() {
      const { host, port } = settings.listen;
      if (core.registry.snapshot.config.auth.admin_token === null && !isLoopbackHost(host)) {
        return Promise.reject(
          amebo('AMEBO_ERR_CONFIG', `refusing to listen on ${host}: without an admin token (AMEBO_ADMIN_TOKEN or auth.admin_token) amebo only serves loopback clients`),
        );
      }
      return new Promise((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(amebo('AMEBO_ERR_CONFIG', `cannot listen on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the address is in use' : err.message}`, undefined, err)),
        );
        server.listen(port, host, () => {
          const a = server.address() as AddressInfo;
          const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
          resolve({ host: a.address, port: a.port, url: `http://${shown}:${a.port}` });
        });
      });
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        hub.close();
        ingest.close();
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still open after the drain bound are cut so shutdown is bounded.
        setTimeout(() => server.closeAllConnections(), settings.shutdown_timeout_ms).unref();
      });
      return closed;
    },
  };
}

/**
 * The path of a request target. A plain path (nearly every request) is taken as it is; one that a
 * URL parser would change (dot segments, percent escapes, backslashes, a full URL) goes through
 * `new URL`, which is a microsecond a request: the URL object is built only for routes that read
 * the query.
 */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_-]+)*\/?$/;
function pathOf(target: string): string {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  return PLAIN_PATH.test(path) ? path : new URL(target, 'http://amebo.local').pathname;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopback(host);
}

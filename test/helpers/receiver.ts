/** A real node:http webhook receiver on port 0 that records every request. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly json: Record<string, unknown>;
  readonly at: number;
}

export interface ReceiverReply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

export type ReceiverHandler = (r: Received, index: number) => ReceiverReply | Promise<ReceiverReply>;

export interface Receiver {
  readonly url: string;
  readonly requests: Received[];
  /** Resolves once `n` requests (matching `filter`) have arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number, filter?: (r: Received) => boolean): Promise<Received[]>;
  close(): Promise<void>;
}

/** Listens on `port` (default 0: any free port), e.g. to bring a receiver back up where it was down. */
export async function startReceiver(handler: ReceiverHandler = () => ({ status: 200, body: '{"status":"ok"}' }), port = 0): Promise<Receiver> {
  const requests: Received[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // Recorded as is; tests assert on it.
      }
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json, at: Date.now() };
      const index = requests.length;
      requests.push(r);
      for (const w of waiters) w();
      void Promise.resolve(handler(r, index)).then(async (reply) => {
        if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body ?? '');
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    waitFor(n, timeoutMs = 10_000, filter = () => true) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const matching = requests.filter(filter);
          if (matching.length >= n) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(matching);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver got ${requests.filter(filter).length} of ${n} requests within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

/**
 * Support for the reliability tests: raw HTTP over a TCP socket (for requests node's client refuses to
 * send), resident memory of a process, and a sampler that keeps the peak.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';

export interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly body: string;
  /** The body parsed as JSON, or undefined. */
  readonly json: any;
}

/**
 * Writes `request` (bytes, or a producer that writes to the socket) to `url`'s host and port and reads
 * one HTTP/1.1 response: up to the end of a Content-Length body, or until the server closes. With
 * `untilClose`, it waits for the server to close the connection even after a complete response.
 */
export function rawHttp(
  url: string,
  request: string | Buffer | ((socket: Socket) => void),
  { timeoutMs = 10_000, untilClose = false }: { timeoutMs?: number; untilClose?: boolean } = {},
): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m) {
        reject(err ?? new Error(`no HTTP response (got ${JSON.stringify(text.slice(0, 200))})`));
        return;
      }
      const split = text.indexOf('\r\n\r\n');
      const head = text.slice(0, split);
      const body = text.slice(split + 4);
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ status: Number(m[1]), head, body, json });
    };
    const timer = setTimeout(() => finish(new Error(`no complete response within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split));
      if (length && !untilClose && Buffer.byteLength(text.slice(split + 4), 'latin1') >= Number(length[1])) finish();
    });
    // A server that answers and closes while we are still writing resets the socket: the answer counts.
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish());
    socket.on('connect', () => {
      if (typeof request === 'function') request(socket);
      else socket.write(request);
    });
  });
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples `read()` every `everyMs` and keeps the peak until stopped. */
export function peakSampler(read: () => number, everyMs = 50): { readonly peak: number; sample(): number; stop(): number } {
  let peak = read();
  const sample = () => {
    const v = read();
    if (v > peak) peak = v;
    return v;
  };
  const timer = setInterval(() => {
    try {
      sample();
    } catch {
      // The process went away between samples; the peak so far stands.
    }
  }, everyMs);
  timer.unref();
  return {
    get peak() {
      return peak;
    },
    sample,
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

export const MiB = 1024 * 1024;

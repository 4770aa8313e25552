/**
 * GET /v1/stream: Server-Sent Events of publishes and delivery outcomes, plus a `stats` message each
 * second. Fed by the core's bus. Each message gets a sequence id; a reconnecting client sends
 * Last-Event-ID and gets what it missed from a bounded ring. A client whose socket buffer grows past a
 * bound (it stopped reading) is dropped, so a slow reader can never grow the daemon's memory.
 */
import type { ServerResponse } from 'node:http';
import type { BusMessage } from '../types.js';
import type { Core } from '../amebo.js';
import type { Ctx, Reply } from './http.js';
import type { Principal } from './auth.js';
import { amebo } from '../errors.js';

const RING = 10_000;
/**
 * Bytes a client may have buffered and unread before it is dropped. A batch publish writes thousands
 * of messages in one tick, so a reader that keeps up can still be a few MiB behind for a moment; one
 * that stopped reading passes the bound and is cut. Memory per client stays below this bound.
 */
export const MAX_CLIENT_BUFFER = 8 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;

type MessageType = 'delivery' | 'published' | 'stats';

interface Client {
  readonly res: ServerResponse;
  readonly types: ReadonlySet<MessageType>;
  readonly action: string | undefined;
  readonly subscription: string | undefined;
  readonly failuresOnly: boolean;
  readonly principal: Principal;
}

interface Frame {
  readonly seq: number;
  readonly message: BusMessage;
  readonly text: string;
}

export class StreamHub {
  readonly #clients = new Set<Client>();
  readonly #ring: Frame[] = [];
  /**
   * Ids start from the time the hub started (in µs), so they keep increasing across daemon restarts
   * and a client's Last-Event-ID from before a restart never hides newer messages.
   */
  #seq = Date.now() * 1000;
  #window = { published: 0, delivered: 0, failed: 0 };
  readonly #unsubscribe: () => void;
  readonly #statsTimer: NodeJS.Timeout;
  readonly #heartbeat: NodeJS.Timeout;

  constructor(private readonly core: Core) {
    this.#unsubscribe = core.bus.subscribe((m) => this.#onMessage(m));
    this.#statsTimer = setInterval(() => {
      this.#stats().catch(() => undefined);
    }, 1000);
    this.#statsTimer.unref();
    this.#heartbeat = setInterval(() => this.#broadcastRaw(': ping\n\n'), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** The route handler. */
  handle = ({ req, res, url, principal }: Ctx): Reply => {
    const typesParam = url.searchParams.get('types');
    const types = new Set<MessageType>();
    for (const t of (typesParam ?? 'delivery,published,stats').split(',').map((s) => s.trim()).filter(Boolean)) {
      if (t !== 'delivery' && t !== 'published' && t !== 'stats') {
        throw amebo('AMEBO_ERR_VALIDATION', `types may hold delivery, published and stats, not ${JSON.stringify(t)}`, { field: 'types' });
      }
      types.add(t);
    }
    const client: Client = {
      res,
      types,
      action: url.searchParams.get('action') || undefined,
      subscription: url.searchParams.get('subscription') || undefined,
      failuresOnly: url.searchParams.get('failures') === '1' || url.searchParams.get('failures') === 'true',
      principal,
    };
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    res.socket?.setNoDelay(true);
    // Replay what a reconnecting client missed, if it is still in the ring.
    const last = Number(req.headers['last-event-id'] ?? url.searchParams.get('last_event_id') ?? NaN);
    if (Number.isInteger(last) && last >= 0) {
      for (const frame of this.#ring) if (frame.seq > last && this.#wants(client, frame.message)) res.write(frame.text);
    }
    this.#clients.add(client);
    this.core.metrics.streamClients.set(this.#clients.size);
    const drop = () => {
      this.#clients.delete(client);
      this.core.metrics.streamClients.set(this.#clients.size);
    };
    res.on('close', drop);
    req.on('close', drop);
    return 'handled';
  };

  close(): void {
    this.#unsubscribe();
    clearInterval(this.#statsTimer);
    clearInterval(this.#heartbeat);
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }

  #onMessage(m: BusMessage): void {
    if (m.type === 'published') this.#window.published++;
    else if (m.state === 'delivered') this.#window.delivered++;
    else this.#window.failed++;
    if (this.#clients.size === 0 && this.#ring.length === 0) return;
    const seq = ++this.#seq;
    const frame: Frame = { seq, message: m, text: `id: ${seq}\nevent: ${m.type}\ndata: ${JSON.stringify(m)}\n\n` };
    this.#ring.push(frame);
    if (this.#ring.length > RING) this.#ring.splice(0, this.#ring.length - RING);
    for (const c of this.#clients) if (this.#wants(c, m)) this.#write(c, frame.text);
  }

  #wants(c: Client, m: BusMessage): boolean {
    if (!c.types.has(m.type)) return false;
    if (c.action !== undefined && m.action !== c.action) return false;
    if (m.type === 'delivery') {
      if (c.subscription !== undefined && m.subscription !== c.subscription) return false;
      if (c.failuresOnly && m.state === 'delivered') return false;
      if (c.principal.kind === 'app' && this.core.registry.snapshot.subscriptions.get(m.subscription)?.application !== c.principal.app) return false;
    } else {
      if (c.subscription !== undefined || c.failuresOnly) return false;
      if (c.principal.kind === 'app' && this.core.registry.snapshot.actions.get(m.action)?.application !== c.principal.app) return false;
    }
    return true;
  }

  #write(c: Client, text: string): void {
    if (c.res.writableLength > MAX_CLIENT_BUFFER) {
      // The client stopped reading: drop it rather than buffer without bound.
      this.#clients.delete(c);
      this.core.metrics.streamClients.set(this.#clients.size);
      c.res.destroy();
      return;
    }
    c.res.write(text);
  }

  #broadcastRaw(text: string): void {
    for (const c of this.#clients) this.#write(c, text);
  }

  async #stats(): Promise<void> {
    const w = this.#window;
    this.#window = { published: 0, delivered: 0, failed: 0 };
    if (this.#clients.size === 0) return;
    const health = await this.core.health();
    const stats = {
      published_per_s: w.published,
      delivered_per_s: w.delivered,
      failed_per_s: w.failed,
      backlog: health.backlog,
      inflight: health.inflight,
      // Subscriptions that are paused or whose circuit is open or probing, for `amebo tail`'s header.
      subscriptions: health.attention,
      at: new Date(this.core.clock.now()).toISOString(),
    };
    const text = `event: stats\ndata: ${JSON.stringify(stats)}\n\n`;
    for (const c of this.#clients) if (c.types.has('stats') && !c.failuresOnly) this.#write(c, text);
  }
}

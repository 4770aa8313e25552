/**
 * The NATS JetStream engine: the storage contract (../contract.ts) on a JetStream cluster that any
 * number of amebo processes share. Events are one stream (sequence = event id), gists' attempts
 * another (one subject per gist, compare-and-swap), replay tickets a third; durable consumers hand
 * out gists to whichever instance pulls (delivery.ts); API objects are a KV bucket every instance
 * mirrors (objects.ts). Nothing is kept on the instance: kill one and the others carry on.
 *
 * Only this folder imports the NATS client (a test keeps it so).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Clock, GistId } from '../../types.js';
import { amebo } from '../../errors.js';
import type { NatsSettings } from '../../config/load.js';
import type { LogEngine, LogStats, PruneResult, RetentionPolicy } from '../contract.js';
import { call, clients, getMessage, openConnection, type NatsContext } from './connection.js';
import { readFailure } from './failures.js';
import { Names } from './names.js';
import { ensureStreams } from './setup.js';
import { Routes } from './routes.js';
import { GistRecords } from './gist-records.js';
import { NatsEventLog } from './events.js';
import { NatsGistStore } from './gists.js';
import { NatsDeliverySource } from './delivery.js';
import { NatsObjectStore } from './objects.js';
import { NatsNotices } from './notices.js';
import { parseGistId, readEvent } from './records.js';
import { prune } from './retention.js';

export interface NatsEngineOptions {
  readonly settings: NatsSettings;
  readonly clock: Clock;
}

interface Parts {
  readonly ctx: NatsContext;
  readonly id: string;
  readonly routes: Routes;
  readonly events: NatsEventLog;
  readonly gists: NatsGistStore;
  readonly delivery: NatsDeliverySource;
  readonly objects: NatsObjectStore;
  readonly notices: NatsNotices;
}

const STATS_TTL_MS = 1_000;

export class NatsEngine implements LogEngine {
  readonly kind = 'nats' as const;
  /** Per-key order is not kept on JetStream yet (see the README's differences): keys are refused. */
  readonly ordering = false;
  #parts: Parts | null = null;
  #closed: Promise<void> | null = null;
  #stats: { at: number; value: Promise<LogStats> } | null = null;

  constructor(private readonly options: NatsEngineOptions) {}

  get #p(): Parts {
    if (!this.#parts) throw amebo('AMEBO_ERR_INTERNAL', 'the NATS log is not open (start() it first)');
    return this.#parts;
  }

  get instanceId(): string {
    return this.#p.id;
  }
  get events(): NatsEventLog {
    return this.#p.events;
  }
  get gists(): NatsGistStore {
    return this.#p.gists;
  }
  get delivery(): NatsDeliverySource {
    return this.#p.delivery;
  }
  get objects(): NatsObjectStore {
    return this.#p.objects;
  }
  get notices(): NatsNotices {
    return this.#p.notices;
  }

  parseGistId(text: string): GistId | undefined {
    return parseGistId(text) ? text : undefined;
  }

  async start(): Promise<void> {
    if (this.#parts) return;
    const { settings, clock } = this.options;
    const process = randomBytes(6).toString('hex');
    const nc = await openConnection(settings, `amebo ${hostname()} ${globalThis.process.pid}`);
    try {
      const { js, jsm } = await clients(nc, settings);
      const replicas = settings.replicas ?? (nc.info?.cluster ? 3 : 1);
      const ctx: NatsContext = { nc, js, jsm, names: new Names(settings.prefix), settings, clock, replicas, process };
      const id = await ensureStreams(ctx);
      const routes = new Routes(ctx);
      await routes.start();
      const records = new GistRecords(ctx);
      const events = new NatsEventLog(ctx, routes);
      await events.start();
      const delivery = new NatsDeliverySource(ctx, routes, records);
      events.onAppended = (s, seq) => delivery.appended(s, seq);
      delivery.onSeen = (seq) => events.saw(seq);
      const gists = new NatsGistStore(ctx, events, records, delivery, routes);
      const objects = new NatsObjectStore(ctx);
      await objects.start();
      const notices = new NatsNotices(nc, ctx.names.notice('bus'), process);
      notices.start();
      this.#parts = { ctx, id, routes, events, gists, delivery, objects, notices };
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err instanceof Error && 'code' in err ? err : readFailure(err, 'start-up');
    }
  }

  prune(policy: RetentionPolicy, now: number): Promise<PruneResult> {
    const p = this.#p;
    return prune(p.ctx, p.events, p.gists, policy, now, () => this.#closed !== null);
  }

  stats(): Promise<LogStats> {
    const now = Date.now();
    if (this.#stats && now - this.#stats.at < STATS_TTL_MS) return this.#stats.value;
    const value = call(this.#p.ctx, 'the statistics', () => this.#readStats()).catch((err: unknown) => {
      this.#stats = null;
      throw readFailure(err, 'the statistics');
    });
    this.#stats = { at: now, value };
    return value;
  }

  async #readStats(): Promise<LogStats> {
    const { ctx, routes, objects } = this.#p;
    const { jsm, names, nc } = ctx;
    const [events, gists] = await Promise.all([jsm.streams.info(names.events), jsm.streams.info(names.gists)]);
    const bySubscription: Record<string, number> = {};
    const oldest: Record<string, number> = {};
    const firsts: Array<Promise<void>> = [];
    const owner = new Map(routes.all().map((r) => [r.name, r.subscription]));
    for (const stream of [names.events, names.tickets]) {
      for await (const c of jsm.consumers.list(stream)) {
        const sub = owner.get(c.name);
        if (sub === undefined) continue;
        // Not yet handed out, plus handed out and not settled (in flight, backing off, sleeping).
        const open = c.num_pending + c.num_ack_pending;
        bySubscription[sub] = (bySubscription[sub] ?? 0) + open;
        // The oldest open gist of a gist consumer is the first event of its subject after the ack floor
        // (every message at or below the floor is settled; the first one above it is not).
        if (open > 0 && stream === names.events && c.config.filter_subject) {
          const seq = c.ack_floor.stream_seq + 1;
          firsts.push(
            getMessage(ctx, names.events, { seq, next_by_subj: c.config.filter_subject }).then((m) => {
              if (!m) return;
              const at = Date.parse(readEvent(names, m.seq, m.subject, m.header, m.data).event.timestamp);
              if (Number.isFinite(at) && (oldest[sub] === undefined || at < oldest[sub]!)) oldest[sub] = at;
            }),
          );
        }
      }
    }
    await Promise.all(firsts);
    const backlog = Object.values(bySubscription).reduce((a, b) => a + b, 0);
    return {
      engine: 'nats',
      events: events.state.messages,
      backlog,
      backlog_by_subscription: bySubscription,
      oldest_pending_by_subscription: oldest,
      storage: {
        servers: serversOf(nc),
        connected: nc.info ? { server: nc.info.server_name, version: nc.info.version, cluster: nc.info.cluster ?? null } : null,
        prefix: names.prefix,
        replicas: ctx.replicas,
        events: { messages: events.state.messages, bytes: events.state.bytes, leader: events.cluster?.leader ?? null, copies_checked: this.#p.events.copies.checked, copies_deleted: this.#p.events.copies.deleted, copies_unchecked: this.#p.events.copies.unchecked },
        gists: { messages: gists.state.messages, bytes: gists.state.bytes },
        objects_revision: objects.revision,
        objects_corrections: objects.corrections,
      },
    };
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      const parts = this.#parts;
      if (!parts) return;
      await parts.delivery.close();
      parts.objects.close();
      parts.notices.close();
      parts.routes.close();
      // Drain: the naks and acks just written reach the server before the socket closes.
      await parts.ctx.nc.drain().catch(() => parts.ctx.nc.close());
    })();
    return this.#closed;
  }
}

/** The servers the client knows of (those it was given and those the cluster told it about). */
function serversOf(nc: NatsConnection): string[] {
  const info = nc.info;
  const urls = new Set<string>((info?.connect_urls ?? []).map((u) => `nats://${u}`));
  const current = nc.getServer();
  if (current) urls.add(current.startsWith('nats://') || current.startsWith('tls://') ? current : `nats://${current}`);
  return [...urls].sort();
}

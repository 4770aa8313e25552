/**
 * Replays: re-deliver a slice of history. The log is scanned in key order in chunks; each chunk puts
 * its gists back on the queue in one transaction. The scan pauses while too many replayed gists are
 * still outstanding, so replaying a million events never holds a million of anything in memory.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../types.js';
import type { ReplayProgress } from '../client/types.js';
import type { Store } from '../log/store.js';
import type { GistLog } from '../log/gist-log.js';
import type { LogQuery } from '../log/query.js';
import type { EventAppender, NewGist } from '../log/event-log.js';
import type { Registry } from '../config/registry.js';
import type { Bus } from '../runtime/bus.js';
import type { Scheduler } from './scheduler.js';

export interface ReplayFilter {
  /** Unix ms, inclusive. */
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  readonly action?: string | undefined;
  readonly subscription?: string | undefined;
  readonly event?: number | undefined;
  /** Only gists that are failed or dead. */
  readonly failed?: boolean | undefined;
  /** Restricts to these subscriptions (an application's own), when set. */
  readonly subscriptions?: ReadonlySet<string> | undefined;
}

/** A replay's progress; the wire shape is the client's, so the two cannot drift apart. */
export type ReplayStatus = ReplayProgress;

interface Job {
  id: string;
  /** The application that started it, or null for the admin (who may see every replay). */
  owner: string | null;
  count: number;
  queued: number;
  delivered: number;
  /** Replayed gists whose last attempt failed and which will be retried. */
  failing: Set<number>;
  dead: number;
  scanned: boolean;
  outstanding: Set<number>;
  finishedAt: number | null;
}

/** One delivery a replay will make: an existing gist to reset, or a subscription with no gist yet. */
type Target = { kind: 'gist'; id: number } | { kind: 'new'; eventId: number; action: string; subscription: string };

const CHUNK = 500;
const YIELD_EVERY = 5_000;
const MAX_OUTSTANDING = 20_000;
const KEEP_FINISHED_MS = 3_600_000;

export class Replayer {
  readonly #jobs = new Map<string, Job>();
  #closed = false;

  constructor(
    private readonly deps: {
      store: Store;
      gists: GistLog;
      query: LogQuery;
      appender: EventAppender;
      registry: Registry;
      scheduler: Scheduler;
      bus: Bus;
      clock: Clock;
      logger: Logger;
    },
  ) {
    deps.bus.subscribe((m) => {
      if (m.type !== 'delivery') return;
      for (const job of this.#jobs.values()) {
        if (m.state === 'failed') {
          if (job.outstanding.has(m.gist_id)) job.failing.add(m.gist_id);
          continue;
        }
        if (!job.outstanding.delete(m.gist_id)) continue;
        job.failing.delete(m.gist_id);
        if (m.state === 'delivered') job.delivered++;
        else if (m.state === 'dead') job.dead++;
        this.#maybeFinish(job);
      }
    });
  }

  /** Counts the deliveries a filter would make, without making them. */
  async count(filter: ReplayFilter): Promise<number> {
    let n = 0;
    for (const _ of this.#targets(filter)) {
      // A scan of a long log must not stop the daemon from serving: yield to the event loop.
      if (++n % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return n;
  }

  /** Starts a replay in the background and returns its id and the number of deliveries it queues. */
  async start(filter: ReplayFilter, owner: string | null = null): Promise<{ replay: string; count: number }> {
    const count = await this.count(filter);
    const job: Job = {
      id: `r_${randomBytes(6).toString('hex')}`,
      owner,
      count,
      queued: 0,
      delivered: 0,
      failing: new Set(),
      dead: 0,
      scanned: false,
      outstanding: new Set(),
      finishedAt: null,
    };
    this.#jobs.set(job.id, job);
    this.#prune();
    void this.#run(job, filter).catch((err: unknown) => {
      this.deps.logger.error({ err, replay: job.id }, 'replay stopped');
      job.scanned = true;
      this.#maybeFinish(job);
    });
    return { replay: job.id, count };
  }

  /** A replay's progress; an application sees only the replays it started. */
  status(id: string, viewer: string | null = null): ReplayStatus | undefined {
    const job = this.#jobs.get(id);
    if (!job || (viewer !== null && job.owner !== viewer)) return undefined;
    const done = job.scanned && job.outstanding.size === 0;
    return { replay: job.id, count: job.count, queued: job.queued, delivered: job.delivered, failed: job.failing.size, dead: job.dead, done };
  }

  close(): void {
    this.#closed = true;
  }

  async #run(job: Job, filter: ReplayFilter): Promise<void> {
    let chunk: Target[] = [];
    for (const target of this.#targets(filter)) {
      chunk.push(target);
      if (chunk.length >= CHUNK) {
        await this.#flush(job, chunk);
        chunk = [];
        while (job.outstanding.size > MAX_OUTSTANDING && !this.#closed) await sleep(20);
        if (this.#closed) return;
      }
    }
    if (chunk.length > 0) await this.#flush(job, chunk);
    job.scanned = true;
    this.#maybeFinish(job);
  }

  async #flush(job: Job, targets: Target[]): Promise<void> {
    const { store, gists, appender, clock } = this.deps;
    const now = clock.now();
    const queued: NewGist[] = await store.commit(() => {
        const out: NewGist[] = [];
        for (const t of targets) {
          if (t.kind === 'gist') {
            const row = gists.replayInTxn(t.id, now);
            if (row) out.push({ id: row.id, subscription: row.subscription, due: now });
            continue;
          }
          const id = appender.nextGistId();
          store.gists.putSync(id, {
            id,
            event_id: t.eventId,
            action: t.action,
            subscription: t.subscription,
            state: 'pending',
            attempts: 0,
            retry_base: 0,
            next_at: now,
            created: now,
            updated: now,
            replays: 1,
          });
          store.open.putSync(id, [t.subscription, now]);
          store.gistIndex.putSync(['e', t.eventId, id], null);
          store.gistIndex.putSync(['s', t.subscription, id], null);
          out.push({ id, subscription: t.subscription, due: now });
        }
        return out;
      });
    for (const g of queued) job.outstanding.add(g.id);
    job.queued += queued.length;
    this.deps.scheduler.enqueue(queued);
  }

  /** The deliveries a filter selects, streamed in log order. */
  *#targets(filter: ReplayFilter): Generator<Target> {
    const { query, gists, registry } = this.deps;
    const subs = registry.snapshot.subscriptions;
    const wanted = (name: string) =>
      subs.has(name) && (filter.subscription === undefined || filter.subscription === name) && (filter.subscriptions?.has(name) ?? true);

    if (filter.failed) {
      const range = query.idRange(filter.from, filter.to);
      if (!range) return;
      for (const state of ['failed', 'dead'] as const) {
        for (const id of query.gistIds({ state, subscription: filter.subscription, event: filter.event })) {
          const row = gists.get(id);
          if (!row || !wanted(row.subscription)) continue;
          if (filter.action !== undefined && row.action !== filter.action) continue;
          if (row.event_id < range[0] || row.event_id > range[1]) continue;
          yield { kind: 'gist', id };
        }
      }
      return;
    }

    const eventIds: Iterable<number> =
      filter.event !== undefined ? [filter.event] : query.eventIds({ action: filter.action, from: filter.from, to: filter.to });
    for (const eventId of eventIds) {
      const event = this.deps.store.events.get(eventId);
      if (!event) continue;
      if (filter.action !== undefined && event.action !== filter.action) continue;
      const matching = (registry.snapshot.byAction.get(event.action) ?? []).filter((s) => wanted(s.name));
      if (matching.length === 0) continue;
      const existing = new Map<string, number>();
      for (const gistId of query.gistsOfEvent(eventId)) {
        const row = gists.get(gistId);
        if (row) existing.set(row.subscription, gistId);
      }
      for (const sub of matching) {
        const gistId = existing.get(sub.name);
        yield gistId !== undefined ? { kind: 'gist', id: gistId } : { kind: 'new', eventId, action: event.action, subscription: sub.name };
      }
    }
  }

  #maybeFinish(job: Job): void {
    if (job.scanned && job.outstanding.size === 0 && job.finishedAt === null) {
      job.finishedAt = this.deps.clock.now();
      this.deps.logger.info({ replay: job.id, count: job.count, delivered: job.delivered, dead: job.dead }, 'replay finished');
    }
  }

  #prune(): void {
    const now = this.deps.clock.now();
    for (const [id, job] of this.#jobs) if (job.finishedAt !== null && now - job.finishedAt > KEEP_FINISHED_MS) this.#jobs.delete(id);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

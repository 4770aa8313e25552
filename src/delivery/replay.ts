/**
 * Replays: re-deliver a slice of history. The log is scanned in order in chunks; each chunk puts its
 * gists back on their way in one engine write. The scan pauses while too many replayed gists are
 * still outstanding, so replaying a million events never holds a million of anything in memory.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { BusMessage, Clock } from '../types.js';
import { sleep } from '../types.js';
import type { ReplayProgress } from '../client/types.js';
import type { GistId, LogEngine, ReplayTarget } from '../log/contract.js';
import type { Registry } from '../config/registry.js';
import type { Bus } from '../runtime/bus.js';
import { orderingKey } from '../routing/keys.js';

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
  readonly id: string;
  /** The application that started it, or null for the admin (who may see every replay). */
  readonly owner: string | null;
  readonly count: number;
  queued: number;
  delivered: number;
  /** Replayed gists whose last attempt failed and which will be retried. */
  readonly failing: Set<GistId>;
  dead: number;
  scanned: boolean;
  readonly outstanding: Set<GistId>;
  /**
   * While a chunk's write is in flight: the replayed deliveries seen meanwhile, by gist. Another
   * instance may deliver a replayed gist before this one's write returns its id.
   */
  early: Map<GistId, BusMessage & { type: 'delivery' }> | null;
  finishedAt: number | null;
}

const CHUNK = 500;
const MAX_OUTSTANDING = 20_000;
const PACE_MS = 20;
const KEEP_FINISHED_MS = 3_600_000;

export interface ReplayDeps {
  readonly engine: LogEngine;
  readonly registry: Registry;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly logger: Logger;
}

export class Replayer {
  readonly #jobs = new Map<string, Job>();
  readonly #closing = new AbortController();
  readonly #unsubscribe: () => void;

  constructor(private readonly deps: ReplayDeps) {
    this.#unsubscribe = deps.bus.subscribe((m) => {
      if (m.type !== 'delivery') return;
      for (const job of this.#jobs.values()) {
        if (job.outstanding.has(m.gist_id)) this.#counted(job, m);
        else if (job.early !== null && m.replay) job.early.set(m.gist_id, m);
      }
    });
  }

  /** A delivery of one of the job's outstanding gists. */
  #counted(job: Job, m: BusMessage & { type: 'delivery' }): void {
    // Failed (a retry is coming) or pending (replayed again meanwhile): still outstanding.
    if (m.state === 'failed' || m.state === 'pending') {
      if (m.state === 'failed') job.failing.add(m.gist_id);
      return;
    }
    job.outstanding.delete(m.gist_id);
    job.failing.delete(m.gist_id);
    if (m.state === 'delivered') job.delivered++;
    else job.dead++;
    this.#maybeFinish(job);
  }

  /** Counts the deliveries a filter would make, without making them. */
  async count(filter: ReplayFilter): Promise<number> {
    let n = 0;
    for await (const _ of this.#targets(filter)) n++;
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
      early: null,
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
    this.#closing.abort();
    this.#unsubscribe();
  }

  async #run(job: Job, filter: ReplayFilter): Promise<void> {
    const { signal } = this.#closing;
    let chunk: ReplayTarget[] = [];
    for await (const target of this.#targets(filter)) {
      chunk.push(target);
      if (chunk.length < CHUNK) continue;
      await this.#queue(job, chunk);
      chunk = [];
      while (job.outstanding.size > MAX_OUTSTANDING && !signal.aborted) await sleep(this.deps.clock, PACE_MS, signal);
      if (signal.aborted) return;
    }
    if (chunk.length > 0) await this.#queue(job, chunk);
    job.scanned = true;
    this.#maybeFinish(job);
  }

  async #queue(job: Job, targets: readonly ReplayTarget[]): Promise<void> {
    job.early = new Map();
    try {
      const queued = await this.deps.engine.gists.replay(targets, this.deps.clock.now());
      for (const g of queued) job.outstanding.add(g.id);
      job.queued += queued.length;
      for (const g of queued) {
        const m = job.early.get(g.id);
        if (m !== undefined) this.#counted(job, m);
      }
    } finally {
      job.early = null;
    }
  }

  /** The deliveries a filter selects, streamed in log order. */
  async *#targets(filter: ReplayFilter): AsyncGenerator<ReplayTarget> {
    const { engine, registry } = this.deps;
    const subs = registry.snapshot.subscriptions;
    const wanted = (name: string) =>
      subs.has(name) && (filter.subscription === undefined || filter.subscription === name) && (filter.subscriptions?.has(name) ?? true);

    if (filter.failed) {
      for (const state of ['failed', 'dead'] as const) {
        for await (const gist of engine.gists.scan({ state, subscription: filter.subscription, event: filter.event, from: filter.from, to: filter.to })) {
          if (!wanted(gist.subscription)) continue;
          if (filter.action !== undefined && gist.action !== filter.action) continue;
          yield { gist: gist.id };
        }
      }
      return;
    }

    // Only actions someone would receive are read out of the log (the engine skips the rest unyielded).
    const actions = new Set<string>();
    for (const [action, takers] of registry.snapshot.byAction) if (takers.some((s) => wanted(s.name))) actions.add(action);
    const events =
      filter.event !== undefined ? this.#one(filter.event) : engine.events.scan({ action: filter.action, actions, from: filter.from, to: filter.to });
    for await (const event of events) {
      if (filter.action !== undefined && event.action !== filter.action) continue;
      const takers = (registry.snapshot.byAction.get(event.action) ?? []).filter((s) => wanted(s.name));
      if (takers.length === 0) continue;
      // Replays respect filters: a subscription whose filter refuses the payload gets nothing.
      let payload: unknown;
      const matching = takers.filter((s) => s.accepts === null || s.accepts((payload ??= JSON.parse(event.payload_json))));
      if (matching.length === 0) continue;
      const existing = new Map<string, GistId>();
      for (const g of await engine.gists.ofEvent(event.id)) existing.set(g.subscription, g.id);
      for (const sub of matching) {
        const gist = existing.get(sub.name);
        if (gist !== undefined) yield { gist };
        else yield { event: event.id, subscription: sub.name, key: sub.ordering === undefined ? null : orderingKey(sub.ordering, (payload ??= JSON.parse(event.payload_json))) };
      }
    }
  }

  async *#one(id: number) {
    const event = await this.deps.engine.events.get(id);
    if (event) yield event;
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

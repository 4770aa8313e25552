/**
 * The scheduler and dispatcher. Open gists wait in one due-queue per subscription; each subscription
 * has its own concurrency limit and all share a global cap, so a slow or failing endpoint only ever
 * holds its own slots and never clogs the others.
 *
 * A gist taken off its queue is leased to this process until its outcome is recorded. The lease lives
 * in memory: the data dir lock guarantees one daemon per log, so when a daemon dies every lease dies
 * with it, and at boot every open gist in the log (pending, failed, or in flight at the crash) goes
 * back on the queue, as bullmq recovers stalled jobs. Duplicates are therefore limited to the attempts
 * that were in flight when the process died.
 */
import type { Dispatcher } from 'undici';
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { BusMessage, Clock, GistState } from '../types.js';
import type { GistLog } from '../log/gist-log.js';
import type { GistRow, Store } from '../log/store.js';
import type { NewGist } from '../log/event-log.js';
import type { Registry, ResolvedSubscription, Snapshot } from '../config/registry.js';
import type { Bus } from '../runtime/bus.js';
import type { Metrics } from '../runtime/metrics.js';
import { VERSION } from '../version.js';
import { DueQueue } from './due-queue.js';
import { sendAttempt } from './attempt.js';
import { classify } from './classify.js';
import { backoff } from './backoff.js';
import { signatureHeaders, signingKey } from './sign.js';
import type { NetworkGuard } from './networks.js';

export interface SchedulerDeps {
  readonly store: Store;
  readonly gists: GistLog;
  readonly registry: Registry;
  readonly dispatcher: Dispatcher;
  readonly bus: Bus;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: () => number;
  /** Prefix of webhook-id, unique to this data dir so ids never repeat after a reset. */
  readonly instanceId: string;
  /** The handler network policy in force. */
  readonly guard: () => NetworkGuard;
}

/** Delay before retrying a gist whose outcome could not be written to the log. */
const RECORD_RETRY_MS = 5_000;

interface SubQueue {
  readonly queue: DueQueue;
  inflight: number;
}

export class Scheduler {
  readonly #queues = new Map<string, SubQueue>();
  readonly #leased = new Set<number>();
  /** Gists replayed while in flight: queued again when the running attempt ends. */
  readonly #rerun = new Set<number>();
  readonly #running = new Set<Promise<void>>();
  readonly #keys = new Map<string, KeyObject>();
  #inflight = 0;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #pumpScheduled = false;
  #closing = false;
  #unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: SchedulerDeps) {}

  /** Loads every open gist from the log (recovering leases of a crashed run) and starts dispatching. */
  start(): void {
    let recovered = 0;
    for (const [id, subscription, due] of this.deps.gists.openGists()) {
      this.#queueOf(subscription).queue.push(id, due);
      recovered++;
    }
    if (recovered > 0) this.deps.logger.info({ gists: recovered }, 'recovered open gists from the log');
    this.#unsubscribe = this.deps.registry.onSwap((next, previous) => this.#onSwap(next, previous));
    this.#schedulePump();
  }

  /** Gists to deliver (new, retried or replayed). */
  enqueue(gists: readonly NewGist[]): void {
    for (const g of gists) {
      if (this.#leased.has(g.id)) {
        this.#rerun.add(g.id);
        continue;
      }
      this.#queueOf(g.subscription).queue.push(g.id, g.due);
    }
    this.#schedulePump();
  }

  /** Gists waiting (queued) plus in flight. */
  get backlog(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.queue.size;
    return n + this.#inflight;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** Queued gists of one subscription (used by replays to pace themselves). */
  queued(subscription: string): number {
    return this.#queues.get(subscription)?.queue.size ?? 0;
  }

  /**
   * Stops taking gists off the queues and waits up to `timeoutMs` for attempts in flight. Attempts
   * still running after that are abandoned: their gists stay open in the log and are retried after the
   * next start.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#unsubscribe?.();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([Promise.allSettled([...this.#running]).then(() => 'drained' as const), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.deps.logger.warn({ inflight: this.#running.size }, 'shutdown timeout: abandoning attempts in flight; they will be retried after restart');
    }
  }

  #queueOf(subscription: string): SubQueue {
    let q = this.#queues.get(subscription);
    if (!q) {
      q = { queue: new DueQueue(), inflight: 0 };
      this.#queues.set(subscription, q);
    }
    return q;
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#closing) return;
    this.#pumpScheduled = true;
    // Coalesce: a batch publish enqueues many gists but pumps once.
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#closing) return;
    const now = this.deps.clock.now();
    const max = this.deps.registry.snapshot.config.delivery.max_inflight;
    const subs = this.deps.registry.snapshot.subscriptions;
    let nextDue = Infinity;
    for (const [name, q] of this.#queues) {
      const sub = subs.get(name);
      // A removed subscription's gists wait, marked orphaned, until it comes back or is replayed elsewhere.
      if (!sub) continue;
      for (;;) {
        const head = q.queue.peek();
        if (!head) break;
        if (head.due > now) {
          nextDue = Math.min(nextDue, head.due);
          break;
        }
        if (q.inflight >= sub.concurrency || this.#inflight >= max) break;
        q.queue.pop();
        this.#start(head.id, sub, q);
      }
    }
    this.#arm(nextDue, now);
  }

  #arm(due: number, now: number): void {
    if (due === Infinity || this.#closing) return;
    if (this.#timer && this.#timerAt <= due) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = due;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      this.#pump();
    }, Math.max(0, due - now));
  }

  #start(gistId: number, sub: ResolvedSubscription, q: SubQueue): void {
    q.inflight++;
    this.#inflight++;
    this.#leased.add(gistId);
    // The slot bounds HTTP attempts in flight; it is freed as soon as the answer arrives, while the
    // lease holds the gist until its outcome is committed.
    let slotHeld = true;
    const releaseSlot = () => {
      if (!slotHeld) return;
      slotHeld = false;
      q.inflight--;
      this.#inflight--;
      this.#schedulePump();
    };
    const run = this.#deliver(gistId, sub, releaseSlot)
      .catch((err: unknown) => {
        // The outcome could not be recorded (e.g. the disk is full): the gist is still open in the log,
        // so it goes back on the queue and is attempted again once writes succeed.
        this.deps.logger.error({ err, gist: gistId }, 'could not record a delivery attempt; the gist stays open and will be retried');
        if (!this.#closing) q.queue.push(gistId, this.deps.clock.now() + RECORD_RETRY_MS);
      })
      .finally(() => {
        releaseSlot();
        this.#leased.delete(gistId);
        this.#running.delete(run);
        if (this.#rerun.delete(gistId)) q.queue.push(gistId, this.deps.clock.now());
        this.#schedulePump();
      });
    this.#running.add(run);
  }

  async #deliver(gistId: number, sub: ResolvedSubscription, releaseSlot: () => void): Promise<void> {
    const { store, gists, clock } = this.deps;
    const row = gists.get(gistId);
    if (!row || row.state === 'delivered' || row.state === 'dead') return;
    const event = store.events.get(row.event_id);
    if (!event) return;
    const app = this.deps.registry.snapshot.applications.get(sub.application);
    if (!app) return;

    const n = row.attempts + 1;
    const replay = row.replays > 0 && row.attempts === row.retry_base;
    const body =
      `{"event_id":${event.id},"action":${JSON.stringify(event.action)},"payload":${event.payload},` +
      `"timestamp":"${new Date(event.ts).toISOString()}","delivery_attempt":${n},"subscription":${JSON.stringify(sub.name)}}`;
    const keys = [this.#key(app.secret)];
    if (app.previous_secret && (!app.previous_secret_expires_at || Date.parse(app.previous_secret_expires_at) > clock.now())) {
      keys.push(this.#key(app.previous_secret));
    }
    const headers = {
      'content-type': 'application/json',
      'user-agent': `amebo/${VERSION}`,
      'x-amebo-event': event.action,
      'x-amebo-delivery': `${gistId}_${n}`,
      ...signatureHeaders({ keys, webhookId: `msg_${this.deps.instanceId}_${gistId}`, timestampSec: Math.floor(clock.now() / 1000), body }),
    };

    const res = await sendAttempt(this.deps.dispatcher, { url: sub.url, body, headers, timeoutMs: sub.timeout_ms }, clock, this.deps.guard());
    releaseSlot();
    const verdict = classify(res, sub);
    const at = clock.now();
    const retryAt = at + backoff(n - row.retry_base, sub, res.retryAfterMs, this.deps.random);
    this.deps.metrics.deliveries.inc({ subscription: sub.name, outcome: verdict });
    this.deps.metrics.deliveryDuration.observe({ subscription: sub.name }, res.durationMs / 1000);

    const next = await gists.record(
      gistId,
      { at, status: res.status, duration_ms: res.durationMs, error: res.error, response: res.response, verdict, replay },
      { max_retries: sub.max_retries, retry_at: retryAt },
    );
    if (!next) return;
    if (next.state === 'failed' && next.next_at !== null) this.#queueOf(sub.name).queue.push(gistId, next.next_at);
    if (next.state === 'dead') {
      this.deps.logger.warn({ gist: gistId, event: row.event_id, subscription: sub.name, status: res.status, error: res.error }, 'gist is dead');
    }
    this.deps.bus.publish(deliveryMessage(next, sub.name, res.status, res.durationMs, res.error, replay, at));
  }

  #key(secret: string): KeyObject {
    let key = this.#keys.get(secret);
    if (!key) {
      if (this.#keys.size > 10_000) this.#keys.clear();
      key = signingKey(secret);
      this.#keys.set(secret, key);
    }
    return key;
  }

  /** Marks the open gists of removed subscriptions as orphaned and clears the mark for returning ones. */
  #onSwap(next: Snapshot, previous: Snapshot): void {
    const removed: number[] = [];
    const restored: number[] = [];
    for (const [name, q] of this.#queues) {
      const was = previous.subscriptions.has(name);
      const is = next.subscriptions.has(name);
      if (was && !is) removed.push(...q.queue.ids());
      if (!was && is) restored.push(...q.queue.ids());
    }
    const log = (err: unknown) => this.deps.logger.error({ err }, 'could not mark orphaned gists');
    if (removed.length > 0) {
      this.deps.logger.warn({ gists: removed.length }, 'subscriptions removed: their open gists are kept, marked orphaned');
      this.deps.gists.setOrphaned(removed, true).catch(log);
    }
    if (restored.length > 0) this.deps.gists.setOrphaned(restored, false).catch(log);
    this.#schedulePump();
  }
}

function deliveryMessage(
  row: GistRow,
  subscription: string,
  status: number | null,
  latency: number,
  error: string | null,
  replay: boolean,
  at: number,
): BusMessage {
  return {
    type: 'delivery',
    gist_id: row.id,
    event_id: row.event_id,
    action: row.action,
    subscription,
    attempt: row.attempts,
    status,
    latency_ms: latency,
    state: row.state as GistState,
    error,
    replay,
    at: new Date(at).toISOString(),
  };
}

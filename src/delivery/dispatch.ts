/**
 * Dispatch: one pull loop per subscription takes due gists from the engine's delivery source as
 * leases, within the subscription's `concurrency` and the global `delivery.max_inflight`, so a slow or
 * failing endpoint only ever holds its own slots. Each attempt goes out with the signed envelope,
 * its outcome goes through the pure policy (policy.ts), and the engine records it under the lease.
 *
 * Nothing here holds the backlog: the queue lives in the engine (on disk for LMDB), and a loop only
 * ever holds the leases it is working on. A removed subscription's loop stops, and its open gists
 * wait in the engine until it comes back.
 */
import type { Dispatcher as HttpDispatcher } from 'undici';
import type { Logger } from 'pino';
import type { BusMessage, Clock } from '../types.js';
import { sleep } from '../types.js';
import { isAmeboError } from '../errors.js';
import type { Gist, LogEngine, Lease } from '../log/contract.js';
import type { Registry, ResolvedSubscription } from '../config/registry.js';
import type { Bus } from '../runtime/bus.js';
import type { Metrics } from '../runtime/metrics.js';
import type { NetworkGuard } from './networks.js';
import { sendAttempt } from './attempt.js';
import { EnvelopeBuilder } from './envelope.js';
import { transition } from './policy.js';
import { after, healthOf, permit } from './circuit.js';
import { TokenBucket } from './rate.js';
import type { DeliveryStates } from './states.js';
import type { RateLimit } from '../types.js';
import { CIRCUIT_CLOSED, CIRCUIT_OPENED, GIST_DEAD, isOwnAction, type OwnAction, type OwnEventPayload } from '../routing/own-events.js';

export interface DispatchDeps {
  readonly engine: LogEngine;
  /** Pause and circuit state, shared through the engine. */
  readonly states: DeliveryStates;
  /** Publishes one of amebo's own events (a dead gist, a circuit opened or closed). */
  readonly notify: (action: OwnAction, payload: OwnEventPayload) => void;
  readonly registry: Registry;
  readonly http: HttpDispatcher;
  readonly bus: Bus;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: () => number;
  /** The handler network policy in force. */
  readonly guard: () => NetworkGuard;
}

/** How long a lease outlives the attempt's own timeout (recording the outcome takes a commit). */
const LEASE_MARGIN_MS = 30_000;
/** How long a loop waits for due work before it looks at its subscription's policy again. */
const WAIT_MS = 5_000;
/** Delay before a gist whose outcome could not be written is tried again. */
const RECORD_RETRY_MS = 5_000;

/** Resolves waiters on the next `notify()`. */
class Signal {
  #waiters: Array<() => void> = [];

  wait(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

interface Loop {
  readonly controller: AbortController;
  /** HTTP attempts of this subscription in flight. */
  inflight: number;
  readonly done: Promise<void>;
  /**
   * Aborted when the subscription's state or config changes, or the loop stops, to end a wait early;
   * a fresh one follows each poke. (One controller rather than an `AbortSignal.any` on every turn of
   * the loop, each of which registers a weak dependent on both of its sources.)
   */
  poke: AbortController;
  /** The subscription's rate limit, when it has one (rebuilt when the limit changes). */
  bucket: { readonly limit: RateLimit; readonly tokens: TokenBucket } | null;
  /** A circuit probe is in flight: nothing else goes out until it is answered. */
  probing: boolean;
}

export class Dispatcher {
  readonly #loops = new Map<string, Loop>();
  readonly #running = new Set<Promise<void>>();
  readonly #freed = new Signal();
  readonly #envelopes = new EnvelopeBuilder();
  #inflight = 0;
  #closing = false;
  /** Set when the shutdown drain timed out: late outcomes are not recorded (the log may be closing). */
  #abandoned = false;
  #unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: DispatchDeps) {}

  /** Starts a loop for every subscription in force, and follows the registry's changes. */
  start(): void {
    const unswap = this.deps.registry.onSwap(() => this.#sync());
    const unstate = this.deps.states.onChange((name) => this.#poke(name));
    this.#unsubscribe = () => {
      unswap();
      unstate();
    };
    this.#sync();
  }

  /** Ends the current wait of a subscription's loop, so it looks at its state again. */
  #poke(name: string): void {
    const loop = this.#loops.get(name);
    if (!loop) return;
    const old = loop.poke;
    if (!loop.controller.signal.aborted) loop.poke = new AbortController();
    old.abort();
  }

  /** Stops a loop: its current wait ends at once. */
  #stop(loop: Loop): void {
    loop.controller.abort();
    loop.poke.abort();
  }

  /** HTTP attempts in flight (a slot is freed as soon as the answer arrives). */
  get inflight(): number {
    return this.#inflight;
  }

  /**
   * Stops taking leases and waits up to `timeoutMs` for attempts in flight. Attempts still running
   * after that are abandoned: their gists stay open in the log and are attempted again after the next
   * start (a lease dies with its process).
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#unsubscribe?.();
    for (const loop of this.#loops.values()) this.#stop(loop);
    await Promise.allSettled([...this.#loops.values()].map((l) => l.done));
    if (this.#running.size === 0) return;
    const drained = Promise.allSettled([...this.#running]).then(() => 'drained' as const);
    const controller = new AbortController();
    const timedOut = sleep(this.deps.clock, timeoutMs, controller.signal).then(() => 'timeout' as const);
    const result = await Promise.race([drained, timedOut]);
    controller.abort();
    if (result === 'timeout') {
      this.#abandoned = true;
      this.deps.logger.warn({ inflight: this.#running.size }, 'shutdown timeout: abandoning attempts in flight; they will be retried after restart');
    }
  }

  /** One loop per subscription in force; loops of removed subscriptions stop. */
  #sync(): void {
    if (this.#closing) return;
    const subs = this.deps.registry.snapshot.subscriptions;
    for (const [name, loop] of this.#loops) if (!subs.has(name)) this.#stop(loop);
    for (const name of subs.keys()) {
      if (this.#loops.has(name)) {
        this.#poke(name);
        continue;
      }
      const controller = new AbortController();
      const loop: Loop = { controller, inflight: 0, done: Promise.resolve(), poke: new AbortController(), bucket: null, probing: false };
      this.#loops.set(name, loop);
      (loop as { done: Promise<void> }).done = this.#loop(name, loop).finally(() => {
        if (this.#loops.get(name) === loop) this.#loops.delete(name);
      });
    }
    this.#freed.notify();
  }

  async #loop(name: string, loop: Loop): Promise<void> {
    const { engine, registry, states, clock, logger } = this.deps;
    const { signal } = loop.controller;
    while (!signal.aborted) {
      const sub = registry.snapshot.subscriptions.get(name);
      if (!sub) return;
      const wait = loop.poke.signal;
      const state = states.get(name);
      // Paused: gists keep coming, nothing goes out and no retry is used up, until a resume pokes us.
      if (sub.paused || state.paused) {
        await sleep(clock, WAIT_MS, wait);
        continue;
      }
      const gate = permit(state.circuit, sub.circuit, clock.now());
      if (gate.kind === 'wait') {
        await sleep(clock, gate.until - clock.now(), wait);
        continue;
      }
      if (gate.kind === 'probe' && (loop.probing || loop.inflight > 0)) {
        await this.#freed.wait(wait);
        continue;
      }
      const max = registry.snapshot.config.delivery.max_inflight;
      let free = Math.min(sub.concurrency - loop.inflight, max - this.#inflight, gate.kind === 'probe' ? 1 : Infinity);
      const bucket = this.#bucket(loop, sub);
      if (bucket && free > 0) {
        const tokens = bucket.available(clock.now());
        if (tokens === 0) {
          await sleep(clock, bucket.nextAt(clock.now()) - clock.now(), wait);
          continue;
        }
        free = Math.min(free, tokens);
      }
      if (free <= 0) {
        await this.#freed.wait(wait);
        // Answers that arrive together free their slots together: take them in one lease.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      let leases: Lease[];
      try {
        leases = await engine.delivery.lease(name, free, { lease_ms: sub.timeout_ms + LEASE_MARGIN_MS, wait_ms: WAIT_MS, signal: wait });
      } catch (err) {
        logger.error({ err, subscription: name }, 'could not read due gists; trying again');
        await sleep(clock, 1_000, signal);
        continue;
      }
      // The state may have changed during the wait (a pause, another reload): look again first.
      const current = registry.snapshot.subscriptions.get(name);
      const still = current !== undefined && !current.paused && !states.get(name).paused && permit(states.get(name).circuit, current.circuit, clock.now()).kind === gate.kind;
      for (const lease of leases) {
        // Other loops may have taken the global slots meanwhile: give the surplus back at once.
        if (!still || signal.aborted || loop.inflight >= sub.concurrency || this.#inflight >= max) engine.delivery.release(lease, 0);
        else {
          bucket?.take(1, clock.now());
          if (gate.kind === 'probe') loop.probing = true;
          this.#start(lease, current!, loop);
        }
      }
    }
  }

  /** The loop's token bucket for the subscription's rate limit, rebuilt when the limit changes. */
  #bucket(loop: Loop, sub: ResolvedSubscription): TokenBucket | null {
    const limit = sub.rate_limit;
    if (!limit) return (loop.bucket = null);
    if (loop.bucket && loop.bucket.limit.count === limit.count && loop.bucket.limit.per_ms === limit.per_ms) return loop.bucket.tokens;
    loop.bucket = { limit, tokens: new TokenBucket(limit, this.deps.clock.now()) };
    return loop.bucket.tokens;
  }

  #start(lease: Lease, sub: ResolvedSubscription, loop: Loop): void {
    loop.inflight++;
    this.#inflight++;
    // The slot bounds HTTP attempts in flight; it is freed as soon as the answer arrives, while the
    // lease holds the gist until its outcome is committed.
    let slotHeld = true;
    const releaseSlot = () => {
      if (!slotHeld) return;
      slotHeld = false;
      loop.inflight--;
      this.#inflight--;
      this.#freed.notify();
    };
    const run = this.#deliver(lease, sub, releaseSlot)
      .catch((err: unknown) => {
        if (isAmeboError(err, 'AMEBO_ERR_STALE_LEASE')) {
          this.deps.logger.warn({ gist: lease.gist.id, subscription: sub.name }, err.message);
          return;
        }
        // The outcome could not be recorded (e.g. the disk is full): the gist is still open in the log,
        // so it comes back once writes succeed.
        this.deps.logger.error({ err, gist: lease.gist.id }, 'could not record a delivery attempt; the gist stays open and will be retried');
        this.deps.engine.delivery.release(lease, RECORD_RETRY_MS);
      })
      .finally(() => {
        releaseSlot();
        loop.probing = false;
        this.#running.delete(run);
      });
    this.#running.add(run);
  }

  async #deliver(lease: Lease, sub: ResolvedSubscription, releaseSlot: () => void): Promise<void> {
    const { engine, registry, clock, metrics } = this.deps;
    const { gist, event } = lease;
    const app = registry.snapshot.applications.get(sub.application);
    if (!app) {
      engine.delivery.release(lease, RECORD_RETRY_MS);
      return;
    }
    const attempt = gist.attempts + 1;
    const replay = gist.replays > 0 && gist.attempts === gist.retry_base;
    const { body, headers } = this.#envelopes.build({
      event,
      gistId: gist.id,
      attempt,
      subscription: sub.name,
      application: app,
      instanceId: engine.instanceId,
      now: clock.now(),
      headers: sub.headers,
    });
    const res = await sendAttempt(this.deps.http, { url: sub.url, body, headers, timeoutMs: sub.timeout_ms }, clock, this.deps.guard());
    releaseSlot();
    // Abandoned at shutdown: the gist stays open in the log and is attempted again after the restart.
    if (this.#abandoned) return;
    const at = clock.now();
    const next = transition(gist, res, sub, at, this.deps.random);
    metrics.deliveries.inc({ subscription: sub.name, outcome: next.state === 'delivered' ? 'success' : next.state === 'dead' ? 'dead' : 'retry' });
    metrics.deliveryDuration.observe({ subscription: sub.name }, res.durationMs / 1000);
    const recorded = await engine.gists.record(lease, { at, status: res.status, duration_ms: res.durationMs, error: res.error, response: res.response, replay }, next);
    const about = (): OwnEventPayload => ({ subscription: sub.name, gist: gist.id, event: gist.event_id, action: gist.action, status: res.status, error: res.error, at: new Date(at).toISOString() });
    // amebo's own events say nothing about deliveries of amebo's own events, so alerts cannot feed on themselves.
    const own = isOwnAction(gist.action);
    if (recorded.state === 'dead') {
      this.deps.logger.warn({ gist: gist.id, event: gist.event_id, subscription: sub.name, status: res.status, error: res.error }, 'gist is dead');
      if (!own) this.deps.notify(GIST_DEAD, about());
    }
    this.deps.bus.publish(deliveryMessage(recorded, res.status, res.durationMs, res.error, replay, at));
    // The attempt is recorded: from here on nothing may hand the lease back. The circuit's count is
    // kept in the engine (shared by every instance), and a write of it that fails (a full disk, a KV
    // bucket electing a leader) costs one count, never the gist.
    const health = healthOf(res.status, res.blocked === true);
    let change = null as 'opened' | 'closed' | null;
    try {
      await this.deps.states.update(sub.name, (s) => {
        const r = after(s.circuit, health, sub.circuit, at);
        change = r.change;
        return { ...s, circuit: r.next };
      });
    } catch (err) {
      this.deps.logger.warn({ err, subscription: sub.name }, 'could not update the circuit breaker after an attempt; the attempt is recorded');
      return;
    }
    if (change !== null) {
      this.deps.logger.warn({ subscription: sub.name, status: res.status, error: res.error }, `circuit ${change}`);
      if (!own) this.deps.notify(change === 'opened' ? CIRCUIT_OPENED : CIRCUIT_CLOSED, about());
    }
  }
}

function deliveryMessage(gist: Gist, status: number | null, latency: number, error: string | null, replay: boolean, at: number): BusMessage {
  return {
    type: 'delivery',
    gist_id: gist.id,
    event_id: gist.event_id,
    action: gist.action,
    subscription: gist.subscription,
    attempt: gist.attempts,
    status,
    latency_ms: latency,
    state: gist.state,
    error,
    replay,
    at: new Date(at).toISOString(),
  };
}

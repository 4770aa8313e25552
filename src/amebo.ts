/**
 * createAmebo(): the one core every front end sits on. It wires the stages an event goes through —
 * receive (api/), validate (schema/), append (log/), schedule and deliver (delivery/), record (log/) —
 * owns their lifecycle (start in order, close in reverse, first error kept), and offers the front ends
 * a façade of use cases (`publish`, `listEvents`, `replayGist`, ...) that decide who may see what.
 * Storage is reached only through the engine's contract (log/contract.ts).
 */
import { Agent, type Dispatcher as HttpDispatcher } from 'undici';
import { pino, type Logger, type DestinationStream } from 'pino';
import type { Attempt, Caller, Clock, GistId, StoredEvent } from './types.js';
import { systemClock } from './types.js';
import { amebo, type AmeboError, isAmeboError } from './errors.js';
import { loadConfig, type LoadResult, type ResolvedConfig } from './config/load.js';
import { Registry, type Snapshot } from './config/registry.js';
import { breakingReload } from './config/evolution.js';
import { SchemaCompiler } from './schema/compile.js';
import type { EventFilter, Gist, GistFilter, Listing, LogEngine, LogStats, Page } from './log/contract.js';
import { createEngine } from './log/engine.js';
import { Retention } from './log/retention.js';
import { Dispatcher } from './delivery/dispatch.js';
import { DeliveryStates } from './delivery/states.js';
import type { OwnAction, OwnEventPayload } from './routing/own-events.js';
import { Replayer, type ReplayFilter, type ReplayStatus } from './delivery/replay.js';
import { NetworkGuard } from './delivery/networks.js';
import { Bus } from './runtime/bus.js';
import { createMetrics, type Metrics } from './runtime/metrics.js';
import { prepare, type PublishItem } from './publish.js';
import { VERSION, COMMIT } from './version.js';

export type { PublishItem } from './publish.js';

export interface AmeboOptions {
  /** Config file; null runs with an empty config (API objects only). */
  readonly configFile: string | null;
  /** Start with an empty config when the file does not exist (the default `amebo.yaml`). */
  readonly configOptional?: boolean;
  readonly listen?: string | undefined;
  readonly data?: string | undefined;
  /** `--log`: `lmdb` or `nats://…`, which beats `server.log`. */
  readonly log?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Time and timers (tests pass a fake clock). */
  readonly clock?: Clock;
  readonly random?: () => number;
  /**
   * The undici dispatcher webhooks go through. Default: a pooled Agent whose connector enforces
   * `delivery.networks`. A custom one bypasses that check for names (IP literals are still checked).
   */
  readonly dispatcher?: HttpDispatcher;
  /** Where logs go (default stdout). Tests pass a sink. */
  readonly logDestination?: DestinationStream;
  readonly logLevel?: string;
}

export type PublishOutcome = { readonly ok: true; readonly event: StoredEvent; readonly duplicate: boolean } | { readonly ok: false; readonly error: AmeboError };

export interface ReloadState {
  loaded_at: string;
  last_ok_at: string;
  last_error: readonly string[] | null;
  last_error_at: string | null;
}

/** A gist as the front ends show it: with its attempts, and whether its subscription is gone. */
export interface GistView {
  readonly gist: Gist;
  readonly attempts: readonly Attempt[];
  /** Open, but its subscription is no longer in the config: its delivery waits until it returns. */
  readonly orphaned: boolean;
}

/** A subscription's delivery state as the front ends show it. */
export interface SubscriptionStatus {
  /** Paused, by the config (`paused: true`) or through the API. */
  readonly paused: boolean;
  readonly paused_by: 'config' | 'api' | null;
  readonly circuit: { readonly state: 'closed' | 'open' | 'half_open' | 'off'; readonly failures: number; readonly opened_at: string | null; readonly probe_at: string | null };
}

/** What `/health` and the `stats` stream message report of the log and deliveries. */
export interface Health extends LogStats {
  /** HTTP attempts in flight in this process. */
  readonly inflight: number;
  /** Subscriptions that are paused or whose circuit is not closed. */
  readonly attention: Readonly<Record<string, SubscriptionStatus>>;
}

/** What the HTTP API and other front ends use. */
export interface Core {
  readonly options: AmeboOptions;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly bus: Bus;
  readonly metrics: Metrics;
  readonly reloadState: ReloadState;
  readonly closing: boolean;
  /** The engine's kind and the prefix of every webhook-id. */
  readonly log: { readonly kind: LogEngine['kind']; readonly instanceId: string };
  /**
   * Validates every item, then appends the valid ones in one atomic write. With `atomic`, one invalid
   * item rejects the whole request and nothing is written.
   */
  publish(items: readonly PublishItem[], caller: Caller, atomic: boolean): Promise<PublishOutcome[]>;
  getEvent(caller: Caller, id: number): Promise<StoredEvent | undefined>;
  listEvents(caller: Caller, filter: EventFilter, page: Page): Promise<Listing<StoredEvent>>;
  getGist(caller: Caller, id: GistId): Promise<GistView | undefined>;
  listGists(caller: Caller, filter: GistFilter, page: Page): Promise<Listing<GistView>>;
  /** Delivers one gist again now. */
  replayGist(caller: Caller, id: GistId): Promise<GistView>;
  /** The gist id a path segment names in the engine's form, or undefined. */
  parseGistId(text: string): GistId | undefined;
  /** Counts (dry run) or starts a replay. */
  startReplay(caller: Caller, filter: ReplayFilter, dryRun: boolean): Promise<{ replay: string | null; count: number; dry_run?: true }>;
  replayStatus(caller: Caller, id: string): ReplayStatus | undefined;
  /** A subscription's pause and circuit. */
  subscriptionStatus(name: string): SubscriptionStatus;
  /** Pauses a subscription (gists are still made; nothing is sent and no retry used up). */
  pauseSubscription(caller: Caller, name: string): Promise<SubscriptionStatus>;
  /** Resumes it: everything it holds is delivered. Refused when the config pauses it. */
  resumeSubscription(caller: Caller, name: string): Promise<SubscriptionStatus>;
  health(): Promise<Health>;
  /** Loads the config file again and swaps it in if valid. */
  reload(): Promise<LoadResult>;
}

/** Loads the config and opens the log. Throws AMEBO_ERR_CONFIG (with every message) on a bad config. */
export async function createAmebo(options: AmeboOptions): Promise<Core & { close(): Promise<void> }> {
  const compiler = new SchemaCompiler();
  const load = () =>
    loadConfig(options.configFile, { compiler, env: options.env, listen: options.listen, data: options.data, log: options.log, optional: options.configOptional ?? false });
  const loaded = await load();
  if (!loaded.ok) throw amebo('AMEBO_ERR_CONFIG', `invalid configuration:\n  ${loaded.errors.join('\n  ')}`, { errors: loaded.errors });
  const config = loaded.config;
  const logger = pino(
    { level: options.logLevel ?? config.server.log_level, base: { service: 'amebo' }, redact: { paths: ['secret', '*.secret', 'admin_token', '*.authorization', 'req.headers.authorization'], censor: '[redacted]' } },
    options.logDestination ?? pino.destination({ dest: 1, sync: false }),
  );
  for (const w of loaded.warnings) logger.warn(w);

  const clock = options.clock ?? systemClock;
  const engine = await createEngine(config.server, clock);
  const components: Array<{ name: string; close: () => unknown }> = [];
  try {
    await engine.start();
    components.push({ name: 'log', close: () => engine.close() });
    const registry = await Registry.open(engine.objects, compiler, config, () => clock.now(), engine.ordering);
    components.push({ name: 'registry', close: () => registry.close() });
    for (const w of registry.snapshot.warnings) logger.warn(w);
    const bus = new Bus(engine.notices);
    components.push({ name: 'bus', close: () => bus.close() });
    let guard = new NetworkGuard(config.networks);
    registry.onSwap((next) => {
      guard = new NetworkGuard(next.config.networks);
    });
    const http =
      options.dispatcher ??
      new Agent({
        connections: 256,
        keepAliveTimeout: 10_000,
        connect: { timeout: 10_000, lookup: (host, opts, cb) => guard.lookup(host, opts, cb as never) },
      });
    // Closed after the dispatcher's bounded drain: what is still in flight then is abandoned, so the
    // pool is destroyed rather than waited for (an attempt may have minutes left on its timeout).
    if (!options.dispatcher) components.push({ name: 'http-client', close: () => http.destroy() });
    let dispatcher: Dispatcher | undefined;
    let statusOfLater: ((name: string) => SubscriptionStatus) | null = null;
    const metrics = createMetrics({
      stats: () => engine.stats(),
      inflight: () => dispatcher?.inflight ?? 0,
      now: () => clock.now(),
      subscriptions: () =>
        [...registry.snapshot.subscriptions.keys()].map((name) => {
          const s = statusOfLater?.(name);
          return { name, paused: s?.paused ?? false, circuitOpen: s !== undefined && (s.circuit.state === 'open' || s.circuit.state === 'half_open') };
        }),
    });
    const states = await DeliveryStates.open(engine.objects);
    components.push({ name: 'delivery-states', close: () => states.close() });
    // amebo's own events go through its own log, published as amebo itself; a failure is logged, never thrown.
    const notify = (action: OwnAction, payload: OwnEventPayload) => {
      if (closing) return void logger.warn({ action, payload }, 'not published while shutting down');
      void publish([{ action, payload }], { kind: 'amebo' }, true).then(
        ([o]) => o && !o.ok && logger.error({ err: o.error, action }, 'could not publish an own event'),
        (err: unknown) => logger.error({ err, action }, 'could not publish an own event'),
      );
    };
    dispatcher = new Dispatcher({ engine, states, notify, registry, http, bus, metrics, logger, clock, random: options.random ?? Math.random, guard: () => guard });
    const running = dispatcher;
    components.push({ name: 'dispatcher', close: () => running.close(registry.snapshot.config.server.shutdown_timeout_ms) });
    const replayer = new Replayer({ engine, registry, bus, clock, logger });
    components.push({ name: 'replayer', close: () => replayer.close() });
    const retention = new Retention(engine, clock, logger, () => registry.snapshot.config.retention);
    components.push({ name: 'retention', close: () => retention.close() });

    const now = new Date(clock.now()).toISOString();
    const reloadState: ReloadState = { loaded_at: now, last_ok_at: now, last_error: null, last_error_at: null };
    let closing = false;
    let closed: Promise<void> | null = null;

    /** What an application may see: its own subscriptions (undefined: everything). */
    const ownSubscriptions = (caller: Caller): ReadonlySet<string> | undefined =>
      caller.kind === 'app' ? new Set([...registry.snapshot.subscriptions.values()].filter((s) => s.application === caller.app).map((s) => s.name)) : undefined;
    const ownActions = (caller: Caller): ReadonlySet<string> | undefined =>
      caller.kind === 'app' ? new Set([...registry.snapshot.actions.values()].filter((a) => a.application === caller.app).map((a) => a.name)) : undefined;
    const view = async (gist: Gist, snap: Snapshot): Promise<GistView> => ({
      gist,
      attempts: await engine.gists.attempts(gist.id),
      orphaned: (gist.state === 'pending' || gist.state === 'failed') && !snap.subscriptions.has(gist.subscription),
    });
    const statusOf = (name: string): SubscriptionStatus => {
      const sub = registry.snapshot.subscriptions.get(name);
      const state = states.get(name);
      const c = state.circuit;
      const policy = sub?.circuit ?? null;
      const probeAt = c.state === 'open' && policy ? c.opened_at + policy.cooldown_ms : null;
      return {
        paused: Boolean(sub?.paused) || state.paused,
        // `paused: true` declared in the file is the config's; declared through the API, it is the API's.
        paused_by: sub?.paused ? (sub.source === 'file' ? 'config' : 'api') : state.paused ? 'api' : null,
        circuit: {
          state: policy === null ? 'off' : c.state === 'closed' ? 'closed' : probeAt !== null && clock.now() >= probeAt ? 'half_open' : 'open',
          failures: c.failures,
          opened_at: c.state === 'open' ? new Date(c.opened_at).toISOString() : null,
          probe_at: probeAt === null ? null : new Date(probeAt).toISOString(),
        },
      };
    };
    statusOfLater = statusOf;
    const ownedSubscription = (caller: Caller, name: string, what: string) => {
      const sub = registry.snapshot.subscriptions.get(name);
      if (!sub) throw amebo('AMEBO_ERR_NOT_FOUND', `no subscription named ${name}`);
      if (caller.kind === 'app' && caller.app !== sub.application) {
        throw amebo('AMEBO_ERR_FORBIDDEN', `application ${caller.app} may not ${what} subscription ${name} (it belongs to ${sub.application})`);
      }
      return sub;
    };
    const visibleGist = async (caller: Caller, id: GistId): Promise<Gist | undefined> => {
      const gist = await engine.gists.get(id);
      const own = ownSubscriptions(caller);
      return gist && (!own || own.has(gist.subscription)) ? gist : undefined;
    };

    const core: Core & { close(): Promise<void> } = {
      options,
      logger,
      clock,
      registry,
      bus,
      metrics,
      reloadState,
      log: { kind: engine.kind, instanceId: engine.instanceId },
      get closing() {
        return closing;
      },
      publish: (items, caller, atomic) => publish(items, caller, atomic),
      parseGistId: (text) => engine.parseGistId(text),

      async getEvent(caller, id) {
        const event = await engine.events.get(id);
        const own = ownActions(caller);
        return event && (!own || own.has(event.action)) ? event : undefined;
      },
      listEvents: (caller, filter, page) => engine.events.list({ ...filter, actions: ownActions(caller) }, page),
      async getGist(caller, id) {
        const gist = await visibleGist(caller, id);
        return gist ? view(gist, registry.snapshot) : undefined;
      },
      async listGists(caller, filter, page) {
        const { items, total, exact } = await engine.gists.list({ ...filter, subscriptions: ownSubscriptions(caller) }, page);
        const snap = registry.snapshot;
        return { items: await Promise.all(items.map((g) => view(g, snap))), total, ...(exact === false ? { exact } : {}) };
      },
      async replayGist(caller, id) {
        const gist = await visibleGist(caller, id);
        if (!gist) throw amebo('AMEBO_ERR_NOT_FOUND', `no gist with id ${id}`);
        if (!registry.snapshot.subscriptions.has(gist.subscription)) {
          throw amebo('AMEBO_ERR_CONFLICT', `subscription ${gist.subscription} no longer exists; restore it before replaying its gists`);
        }
        const [replayed] = await engine.gists.replay([{ gist: id }], clock.now());
        return view(replayed ?? gist, registry.snapshot);
      },
      async startReplay(caller, filter, dryRun) {
        const scoped = { ...filter, subscriptions: ownSubscriptions(caller) };
        if (dryRun) return { replay: null, count: await replayer.count(scoped), dry_run: true };
        return replayer.start(scoped, caller.kind === 'app' ? caller.app : null);
      },
      replayStatus: (caller, id) => replayer.status(id, caller.kind === 'app' ? caller.app : null),
      subscriptionStatus: (name) => statusOf(name),
      async pauseSubscription(caller, name) {
        ownedSubscription(caller, name, 'pause');
        await states.update(name, (s) => ({ ...s, paused: true }));
        return statusOf(name);
      },
      async resumeSubscription(caller, name) {
        const sub = ownedSubscription(caller, name, 'resume');
        if (sub.paused && sub.source === 'file') {
          throw amebo('AMEBO_ERR_MANAGED_BY_FILE', `subscription ${name} is paused by its config (paused: true in ${registry.snapshot.config.file ?? 'amebo.yaml'}); change it there`);
        }
        // A subscription created through the API with `paused: true` is resumed by clearing that key.
        if (sub.paused) await registry.updateSubscription(name, { paused: false });
        await states.update(name, (s) => ({ ...s, paused: false }));
        return statusOf(name);
      },
      async health() {
        const attention: Record<string, SubscriptionStatus> = {};
        for (const name of registry.snapshot.subscriptions.keys()) {
          const s = statusOf(name);
          if (s.paused || (s.circuit.state !== 'closed' && s.circuit.state !== 'off')) attention[name] = s;
        }
        return { ...(await engine.stats()), inflight: running.inflight, attention };
      },

      async reload() {
        let result: LoadResult = await load();
        const at = new Date(clock.now()).toISOString();
        if (result.ok) {
          const breaking = breakingReload(registry.snapshot, result.config);
          if (breaking.length > 0) result = { ok: false, errors: breaking };
        }
        if (!result.ok) {
          reloadState.last_error = result.errors;
          reloadState.last_error_at = at;
          metrics.configReloads.inc({ result: 'rejected' });
          logger.error({ errors: result.errors }, 'config reload rejected; the last good config stays in force');
          return result;
        }
        registry.applyConfig(result.config);
        reloadState.last_ok_at = at;
        reloadState.loaded_at = at;
        reloadState.last_error = null;
        metrics.configReloads.inc({ result: 'ok' });
        for (const w of result.warnings) logger.warn(w);
        logger.info({ file: result.config.file }, 'config reloaded');
        return result;
      },
      close() {
        closed ??= (async () => {
          closing = true;
          let first: unknown;
          for (const c of [...components].reverse()) {
            try {
              await c.close();
            } catch (err) {
              first ??= err;
              logger.error({ err, component: c.name }, 'error while closing');
            }
          }
          logger.info('amebo closed');
          await new Promise<void>((resolve) => logger.flush(() => resolve()));
          if (first !== undefined) throw first;
        })();
        return closed;
      },
    };

    async function publish(items: readonly PublishItem[], caller: Caller, atomic: boolean): Promise<PublishOutcome[]> {
      if (closing) throw amebo('AMEBO_ERR_SHUTTING_DOWN');
      const snap = registry.snapshot;
      const at = clock.now();
      const prepared = items.map((item) => {
        try {
          return prepare(item, snap, caller, at);
        } catch (err) {
          if (!isAmeboError(err)) throw err;
          metrics.publishRejected.inc({ reason: err.code });
          return { ok: false, error: err } as const;
        }
      });
      const inputs = prepared.filter((p) => !('ok' in p));
      if (atomic && inputs.length !== prepared.length) {
        return prepared.map((p) => ('ok' in p ? p : { ok: false, error: amebo('AMEBO_ERR_BATCH_ABORTED') }));
      }
      const appended = inputs.length > 0 ? await engine.events.append(inputs as Exclude<(typeof prepared)[number], { ok: false }>[]) : [];
      let i = 0;
      const result: PublishOutcome[] = [];
      const perAction = new Map<string, number>();
      for (const p of prepared) {
        if ('ok' in p) {
          result.push(p);
          continue;
        }
        const out = appended[i++]!;
        if (!out.duplicate) {
          perAction.set(out.event.action, (perAction.get(out.event.action) ?? 0) + 1);
          if (bus.wanted) bus.publish({ type: 'published', event_id: out.event.id, action: out.event.action, at: out.event.timestamp, gists: out.gists });
        }
        result.push({ ok: true, event: out.event, duplicate: out.duplicate });
      }
      for (const [action, n] of perAction) metrics.eventsPublished.inc({ action }, n);
      return result;
    }

    running.start();
    retention.start();
    const where = config.server.log.engine === 'nats' ? { servers: config.server.log.servers, prefix: config.server.log.prefix } : { data: config.server.data, durability: config.server.durability };
    logger.info({ version: VERSION, commit: COMMIT, log: engine.kind, ...where, config: config.file }, 'amebo core started');
    return core;
  } catch (err) {
    for (const c of [...components].reverse()) await Promise.resolve(c.close()).catch(() => undefined);
    if (components.length === 0) await engine.close().catch(() => undefined);
    throw err;
  }
}

export type { ResolvedConfig };

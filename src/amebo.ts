/**
 * createAmebo(): the one core every front end sits on. It wires the stages an event goes through —
 * receive (api/), validate (schema/), append (log/), schedule and deliver (delivery/), record (log/) —
 * and owns their lifecycle: start() in order, close() in reverse, first error kept.
 */
import { Agent, type Dispatcher } from 'undici';
import { pino, type Logger, type DestinationStream } from 'pino';
import type { Clock, StoredEvent } from './types.js';
import { systemClock } from './types.js';
import { amebo, type AmeboError, isAmeboError } from './errors.js';
import { loadConfig, type LoadResult, type ResolvedConfig } from './config/load.js';
import { Registry } from './config/registry.js';
import { breakingReload } from './config/evolution.js';
import { SchemaCompiler, type Violation } from './schema/compile.js';
import { openStore, type Store } from './log/store.js';
import { EventAppender, type AppendInput, type AppendOutput } from './log/event-log.js';
import { GistLog } from './log/gist-log.js';
import { LogQuery } from './log/query.js';
import { Scheduler } from './delivery/scheduler.js';
import { Replayer } from './delivery/replay.js';
import { Bus } from './runtime/bus.js';
import { NetworkGuard } from './delivery/networks.js';
import { Retention } from './log/retention.js';
import { createMetrics, type Metrics } from './runtime/metrics.js';
import type { Principal } from './api/auth.js';
import { VERSION, COMMIT } from './version.js';

export interface AmeboOptions {
  /** Config file; null runs with an empty config (API objects only). */
  readonly configFile: string | null;
  /** Start with an empty config when the file does not exist (the default `amebo.yaml`). */
  readonly configOptional?: boolean;
  readonly listen?: string | undefined;
  readonly data?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly clock?: Clock;
  readonly random?: () => number;
  /**
   * The undici dispatcher webhooks go through. Default: a pooled Agent whose connector enforces
   * `delivery.networks`. A custom one bypasses that check for names (IP literals are still checked).
   */
  readonly dispatcher?: Dispatcher;
  /** Where logs go (default stdout). Tests pass a sink. */
  readonly logDestination?: DestinationStream;
  readonly logLevel?: string;
}

/** One event of a publish request, before validation. */
export interface PublishItem {
  readonly action: unknown;
  readonly payload: unknown;
  readonly deduper?: unknown;
  readonly sleep_until?: unknown;
}

export type PublishOutcome = { readonly ok: true; readonly event: StoredEvent; readonly duplicate: boolean } | { readonly ok: false; readonly error: AmeboError };

export interface ReloadState {
  loaded_at: string;
  last_ok_at: string;
  last_error: readonly string[] | null;
  last_error_at: string | null;
}

/** What the HTTP API and other front ends use. */
export interface Core {
  readonly options: AmeboOptions;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly store: Store;
  readonly registry: Registry;
  readonly compiler: SchemaCompiler;
  readonly appender: EventAppender;
  readonly gists: GistLog;
  readonly query: LogQuery;
  readonly scheduler: Scheduler;
  readonly replayer: Replayer;
  readonly retention: Retention;
  readonly bus: Bus;
  readonly metrics: Metrics;
  readonly reloadState: ReloadState;
  readonly closing: boolean;
  /**
   * Validates every item, then appends the valid ones in one transaction. With `atomic`, one invalid
   * item rejects the whole request and nothing is written.
   */
  publish(items: readonly PublishItem[], principal: Principal, atomic: boolean): Promise<PublishOutcome[]>;
  /** Loads the config file again and swaps it in if valid. */
  reload(): Promise<LoadResult>;
}

const MAX_SLEEP_S = 366 * 24 * 3600;

/** Loads the config and opens the log. Throws AMEBO_ERR_CONFIG (with every message) on a bad config. */
export async function createAmebo(options: AmeboOptions): Promise<Core & { close(): Promise<void> }> {
  const compiler = new SchemaCompiler();
  const loaded = await loadConfig(options.configFile, {
    compiler,
    env: options.env,
    listen: options.listen,
    data: options.data,
    optional: options.configOptional ?? false,
  });
  if (!loaded.ok) throw amebo('AMEBO_ERR_CONFIG', `invalid configuration:\n  ${loaded.errors.join('\n  ')}`, { errors: loaded.errors });
  const config = loaded.config;
  const logger = pino(
    { level: options.logLevel ?? config.server.log_level, base: { service: 'amebo' }, redact: { paths: ['secret', '*.secret', 'admin_token', '*.authorization', 'req.headers.authorization'], censor: '[redacted]' } },
    options.logDestination ?? pino.destination({ dest: 1, sync: false }),
  );
  for (const w of loaded.warnings) logger.warn(w);

  const clock = options.clock ?? systemClock;
  const store = openStore({ dataDir: config.server.data, durability: config.server.durability, mapSizeBytes: config.server.map_size_bytes });
  const components: Array<{ name: string; close: () => unknown }> = [{ name: 'log', close: () => store.close() }];
  try {
    const registry = new Registry(store, compiler, config, () => clock.now());
    for (const w of registry.snapshot.warnings) logger.warn(w);
    const appender = new EventAppender(store, clock);
    const gists = new GistLog(store);
    const query = new LogQuery(store);
    const bus = new Bus();
    let guard = new NetworkGuard(config.networks);
    registry.onSwap((next) => {
      guard = new NetworkGuard(next.config.networks);
    });
    const dispatcher =
      options.dispatcher ??
      new Agent({
        connections: 256,
        keepAliveTimeout: 10_000,
        connect: { timeout: 10_000, lookup: (host, opts, cb) => guard.lookup(host, opts, cb as never) },
      });
    if (!options.dispatcher) components.push({ name: 'http-client', close: () => dispatcher.close() });
    let scheduler: Scheduler | undefined;
    const metrics = createMetrics({ backlog: () => scheduler?.backlog ?? 0, inflight: () => scheduler?.inflight ?? 0 });
    scheduler = new Scheduler({
      store,
      gists,
      registry,
      dispatcher,
      bus,
      metrics,
      logger,
      clock,
      random: options.random ?? Math.random,
      instanceId: store.instanceId,
      guard: () => guard,
    });
    const sched = scheduler;
    components.push({ name: 'scheduler', close: () => sched.close(config.server.shutdown_timeout_ms) });
    const replayer = new Replayer({ store, gists, query, appender, registry, scheduler, bus, clock, logger });
    components.push({ name: 'replayer', close: () => replayer.close() });
    const retention = new Retention(store, clock, logger, () => registry.snapshot.config.retention);
    components.push({ name: 'retention', close: () => retention.close() });

    const now = new Date(clock.now()).toISOString();
    const reloadState: ReloadState = { loaded_at: now, last_ok_at: now, last_error: null, last_error_at: null };
    let closing = false;
    let closed: Promise<void> | null = null;

    const core: Core & { close(): Promise<void> } = {
      options,
      logger,
      clock,
      store,
      registry,
      compiler,
      appender,
      gists,
      query,
      scheduler,
      replayer,
      retention,
      bus,
      metrics,
      reloadState,
      get closing() {
        return closing;
      },
      publish: (items, principal, atomic) => publish(core, items, principal, atomic),
      async reload() {
        let result: LoadResult = await loadConfig(options.configFile, {
          compiler,
          env: options.env,
          listen: options.listen,
          data: options.data,
          optional: options.configOptional ?? false,
        });
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
    scheduler.start();
    retention.start();
    logger.info({ version: VERSION, commit: COMMIT, data: config.server.data, durability: config.server.durability, config: config.file }, 'amebo core started');
    return core;
  } catch (err) {
    for (const c of [...components].reverse()) await Promise.resolve(c.close()).catch(() => undefined);
    throw err;
  }
}

async function publish(core: Core, items: readonly PublishItem[], principal: Principal, atomic: boolean): Promise<PublishOutcome[]> {
  if (core.closing) throw amebo('AMEBO_ERR_SHUTTING_DOWN');
  const snap = core.registry.snapshot;
  const now = core.clock.now();
  const outcomes: Array<PublishOutcome | AppendInput> = items.map((item) => {
    try {
      return prepare(item, snap, principal, now);
    } catch (err) {
      if (!isAmeboError(err)) throw err;
      core.metrics.publishRejected.inc({ reason: err.code });
      return { ok: false, error: err } as PublishOutcome;
    }
  });
  const inputs = outcomes.filter((o): o is AppendInput => !('ok' in o));
  if (atomic && inputs.length !== outcomes.length) {
    return outcomes.map((o) => ('ok' in o ? o : { ok: false, error: amebo('AMEBO_ERR_BATCH_ABORTED') }));
  }
  let appended: AppendOutput[] = [];
  if (inputs.length > 0) appended = await core.appender.append(inputs);
  let i = 0;
  const result: PublishOutcome[] = [];
  const perAction = new Map<string, number>();
  for (const o of outcomes) {
    if ('ok' in o) {
      result.push(o);
      continue;
    }
    const out = appended[i++]!;
    if (!out.duplicate) {
      core.scheduler.enqueue(out.gists);
      perAction.set(out.event.action, (perAction.get(out.event.action) ?? 0) + 1);
      if (core.bus.size > 0) {
        core.bus.publish({ type: 'published', event_id: out.event.id, action: out.event.action, at: out.event.timestamp, gists: out.gists.length });
      }
    }
    result.push({ ok: true, event: out.event, duplicate: out.duplicate });
  }
  for (const [action, n] of perAction) core.metrics.eventsPublished.inc({ action }, n);
  return result;
}

function prepare(item: PublishItem, snap: Core['registry']['snapshot'], principal: Principal, now: number): AppendInput {
  if (typeof item !== 'object' || item === null) throw amebo('AMEBO_ERR_VALIDATION', 'each event must be an object with "action" and "payload"');
  if (typeof item.action !== 'string' || item.action === '') throw amebo('AMEBO_ERR_VALIDATION', '"action" must be a non-empty string', { field: 'action' });
  const action = snap.actions.get(item.action);
  if (!action) throw amebo('AMEBO_ERR_UNKNOWN_ACTION', `unknown action "${item.action}"; register it with POST /v1/actions or in amebo.yaml`);
  if (principal.kind === 'app' && principal.app !== action.application) {
    throw amebo('AMEBO_ERR_FORBIDDEN', `application ${principal.app} may not publish ${action.name} (it belongs to ${action.application})`);
  }
  if (item.payload === undefined) throw amebo('AMEBO_ERR_VALIDATION', '"payload" is required', { field: 'payload' });
  const violations: Violation[] | null = action.validator.validate(item.payload);
  if (violations) {
    throw amebo(
      'AMEBO_ERR_SCHEMA_INVALID',
      `payload does not match the schema of ${action.name}: ${violations.map((v) => `${v.pointer} ${v.message}`).join('; ')}`,
      { action: action.name, violations },
    );
  }
  let deduper: string | undefined;
  if (item.deduper !== undefined && item.deduper !== null) {
    if (typeof item.deduper !== 'string' || item.deduper.length === 0 || item.deduper.length > 256) {
      throw amebo('AMEBO_ERR_VALIDATION', '"deduper" must be a string of 1 to 256 characters', { field: 'deduper' });
    }
    deduper = item.deduper;
  }
  let deliverAfter: number | undefined;
  if (item.sleep_until !== undefined && item.sleep_until !== null) {
    const s = item.sleep_until;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s > MAX_SLEEP_S) {
      throw amebo('AMEBO_ERR_VALIDATION', `"sleep_until" must be a number of seconds from 0 to ${MAX_SLEEP_S}`, { field: 'sleep_until' });
    }
    if (s > 0) deliverAfter = now + Math.round(s * 1000);
  }
  return {
    action: action.name,
    payload_json: JSON.stringify(item.payload),
    deduper,
    deliver_after: deliverAfter,
    subscriptions: (snap.byAction.get(action.name) ?? []).map((s) => s.name),
  };
}

export type { ResolvedConfig };

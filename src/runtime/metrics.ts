/** Prometheus metrics through prom-client, on a registry of this instance (tests run several). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly eventsPublished: Counter<'action'>;
  readonly publishRejected: Counter<'reason'>;
  readonly deliveries: Counter<'subscription' | 'outcome'>;
  readonly deliveryDuration: Histogram<'subscription'>;
  readonly backlog: Gauge;
  readonly subscriptionBacklog: Gauge<'subscription'>;
  readonly subscriptionOldestPending: Gauge<'subscription'>;
  readonly subscriptionPaused: Gauge<'subscription'>;
  readonly subscriptionCircuitOpen: Gauge<'subscription'>;
  readonly inflight: Gauge;
  readonly configReloads: Counter<'result'>;
  readonly streamClients: Gauge;
}

const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** What the gauges read when they are scraped. */
export interface MetricSources {
  readonly stats: () => Promise<{
    readonly backlog: number;
    readonly backlog_by_subscription: Readonly<Record<string, number>>;
    readonly oldest_pending_by_subscription: Readonly<Record<string, number>>;
  }>;
  readonly inflight: () => number;
  /** The subscriptions in force, with whether each is paused and whether its circuit is open. */
  readonly subscriptions: () => ReadonlyArray<{ readonly name: string; readonly paused: boolean; readonly circuitOpen: boolean }>;
  readonly now: () => number;
}

export function createMetrics(sources: MetricSources): Metrics {
  const registry = new Registry();
  // One read of the log's figures per scrape, shared by the gauges that need it.
  let pending: { at: number; stats: ReturnType<MetricSources['stats']> } | null = null;
  const stats = () => {
    const at = Date.now();
    if (!pending || at - pending.at > 500) pending = { at, stats: sources.stats() };
    return pending.stats;
  };
  const perSubscription = (gauge: Gauge<'subscription'>, value: (name: string) => number) => {
    gauge.reset();
    for (const s of sources.subscriptions()) gauge.set({ subscription: s.name }, value(s.name));
  };
  // No prefix: process_* and nodejs_* keep the names that standard dashboards and alerts look for.
  collectDefaultMetrics({ register: registry });
  // prom-client also sends these gauges with a counter's `_total` suffix, which promtool rightly flags;
  // the same counts are in nodejs_active_handles / _requests / _resources by type (sum them).
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
  return {
    registry,
    eventsPublished: new Counter({ name: 'amebo_events_published_total', help: 'Events appended to the log', labelNames: ['action'], registers: [registry] }),
    publishRejected: new Counter({ name: 'amebo_publish_rejected_total', help: 'Publishes refused, by reason', labelNames: ['reason'], registers: [registry] }),
    deliveries: new Counter({
      name: 'amebo_deliveries_total',
      help: 'Delivery attempts by outcome (success, retry, dead)',
      labelNames: ['subscription', 'outcome'],
      registers: [registry],
    }),
    deliveryDuration: new Histogram({
      name: 'amebo_delivery_duration_seconds',
      help: 'Duration of delivery attempts',
      labelNames: ['subscription'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    backlog: new Gauge({
      name: 'amebo_backlog',
      help: 'Gists waiting for delivery (pending or failed with retries left)',
      registers: [registry],
      async collect() {
        this.set((await stats()).backlog);
      },
    }),
    subscriptionBacklog: new Gauge({
      name: 'amebo_subscription_backlog',
      help: 'Open gists (pending or failed) of each subscription',
      labelNames: ['subscription'],
      registers: [registry],
      async collect() {
        const s = await stats();
        perSubscription(this, (name) => s.backlog_by_subscription[name] ?? 0);
      },
    }),
    subscriptionOldestPending: new Gauge({
      name: 'amebo_subscription_oldest_pending_seconds',
      help: 'Age of the oldest undelivered gist of each subscription (0 when none waits)',
      labelNames: ['subscription'],
      registers: [registry],
      async collect() {
        const s = await stats();
        const now = sources.now();
        perSubscription(this, (name) => {
          const oldest = s.oldest_pending_by_subscription[name];
          return oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000);
        });
      },
    }),
    subscriptionPaused: new Gauge({
      name: 'amebo_subscription_paused',
      help: 'Whether each subscription is paused (1) or not (0)',
      labelNames: ['subscription'],
      registers: [registry],
      collect() {
        const by = new Map(sources.subscriptions().map((s) => [s.name, s.paused ? 1 : 0]));
        perSubscription(this, (name) => by.get(name) ?? 0);
      },
    }),
    subscriptionCircuitOpen: new Gauge({
      name: 'amebo_subscription_circuit_open',
      help: 'Whether the circuit breaker of each subscription is open (1) or closed (0)',
      labelNames: ['subscription'],
      registers: [registry],
      collect() {
        const by = new Map(sources.subscriptions().map((s) => [s.name, s.circuitOpen ? 1 : 0]));
        perSubscription(this, (name) => by.get(name) ?? 0);
      },
    }),
    inflight: new Gauge({
      name: 'amebo_inflight',
      help: 'Delivery attempts in flight',
      registers: [registry],
      collect() {
        this.set(sources.inflight());
      },
    }),
    configReloads: new Counter({ name: 'amebo_config_reloads_total', help: 'Config reloads by result (ok, rejected)', labelNames: ['result'], registers: [registry] }),
    streamClients: new Gauge({ name: 'amebo_stream_clients', help: 'Connected /v1/stream clients', registers: [registry] }),
  };
}

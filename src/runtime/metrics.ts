/** Prometheus metrics through prom-client, on a registry of this instance (tests run several). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly eventsPublished: Counter<'action'>;
  readonly publishRejected: Counter<'reason'>;
  readonly deliveries: Counter<'subscription' | 'outcome'>;
  readonly deliveryDuration: Histogram<'subscription'>;
  readonly backlog: Gauge;
  readonly inflight: Gauge;
  readonly configReloads: Counter<'result'>;
  readonly streamClients: Gauge;
}

const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** What the gauges read when they are scraped. */
export interface MetricSources {
  readonly stats: () => Promise<{ readonly backlog: number }>;
  readonly inflight: () => number;
}

export function createMetrics(sources: MetricSources): Metrics {
  const registry = new Registry();
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
        this.set((await sources.stats()).backlog);
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

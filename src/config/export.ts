/**
 * The effective config (file objects and API objects together) in amebo.yaml's own shape, so objects
 * created through the API can be moved into git. Secrets are never exported: each becomes a
 * `${NAME_SECRET}` reference to set in the environment, and so does the value of each credential header
 * (`Authorization` of subscription `billing.alerts` → `${BILLING_ALERTS_AUTHORIZATION}`).
 */
import type { Snapshot } from './registry.js';
import { formatDuration } from './units.js';
import { isSensitiveHeader } from '../routing/keys.js';
import type { CircuitPolicy, RetryPolicy, Subscription } from '../types.js';

/** `user-service` → `USER_SERVICE_SECRET`. */
export function secretVariable(app: string): string {
  return `${app.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_SECRET`;
}

const envName = (...parts: string[]): string => parts.join('_').toUpperCase().replace(/[^A-Z0-9]+/g, '_');

/** A subscription's headers for amebo.yaml: credential values as `${ENV}` references. */
function exportHeaders(subscription: string, headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = isSensitiveHeader(name) ? `\${${envName(subscription, name)}}` : value;
  return out;
}

function policy(p: RetryPolicy, base: RetryPolicy): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (p.timeout_ms !== base.timeout_ms) out['timeout'] = formatDuration(p.timeout_ms);
  if (p.max_retries !== base.max_retries) out['max_retries'] = p.max_retries;
  if (p.retry_4xx !== base.retry_4xx) out['retry_4xx'] = p.retry_4xx;
  if (p.concurrency !== base.concurrency) out['concurrency'] = p.concurrency;
  const backoff: Record<string, unknown> = {};
  if (p.backoff_initial_ms !== base.backoff_initial_ms) backoff['initial'] = formatDuration(p.backoff_initial_ms);
  if (p.backoff_max_ms !== base.backoff_max_ms) backoff['max'] = formatDuration(p.backoff_max_ms);
  if (p.backoff_jitter !== base.backoff_jitter) backoff['jitter'] = p.backoff_jitter;
  if (Object.keys(backoff).length > 0) out['backoff'] = backoff;
  return out;
}

/** The routing and delivery-control keys a subscription sets, in amebo.yaml's words. */
function control(s: Subscription, circuitDefault: CircuitPolicy | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.filter) out['filter'] = s.filter;
  if (s.headers) out['headers'] = exportHeaders(s.name, s.headers);
  if (s.paused) out['paused'] = true;
  if (JSON.stringify(s.circuit) !== JSON.stringify(circuitDefault)) {
    out['circuit'] = s.circuit === null ? false : { failures: s.circuit.failures, cooldown: formatDuration(s.circuit.cooldown_ms) };
  }
  if (s.ordering) out['ordering'] = s.ordering;
  if (s.rate_limit) out['rate_limit'] = `${s.rate_limit.count}/${s.rate_limit.per_ms === 1000 ? 's' : 'm'}`;
  return out;
}

export function exportConfig(snap: Snapshot): Record<string, unknown> {
  const { server, delivery } = snap.config;
  const applications: Record<string, unknown> = {};
  for (const a of snap.applications.values()) {
    if (a.source === 'builtin') continue;
    applications[a.name] = { address: a.address, secret: `\${${secretVariable(a.name)}}` };
  }
  const actions: Record<string, unknown> = {};
  for (const a of snap.actions.values()) {
    if (a.source === 'builtin') continue;
    actions[a.name] = { application: a.application, schemata: a.schemata, ...(a.allow_breaking_changes ? { allow_breaking_changes: true } : {}) };
  }
  const subscriptions: Record<string, unknown> = {};
  for (const s of snap.subscriptions.values()) {
    subscriptions[s.name] = { application: s.application, action: s.action, handler: s.handler, ...policy(s, delivery), ...control(s, delivery.circuit) };
  }
  return {
    server: {
      listen: `${server.listen.host}:${server.listen.port}`,
      durability: server.durability,
    },
    delivery: {
      timeout: formatDuration(delivery.timeout_ms),
      max_retries: delivery.max_retries,
      backoff: { initial: formatDuration(delivery.backoff_initial_ms), max: formatDuration(delivery.backoff_max_ms), jitter: delivery.backoff_jitter },
      retry_4xx: delivery.retry_4xx,
      concurrency: delivery.concurrency,
      max_inflight: delivery.max_inflight,
      ...(delivery.circuit === null ? { circuit: false } : { circuit: { failures: delivery.circuit.failures, cooldown: formatDuration(delivery.circuit.cooldown_ms) } }),
    },
    applications,
    actions,
    subscriptions,
  };
}

/** Public shapes of stored objects. Secrets never leave through here. */
import type { Action, Application, StoredEvent, Subscription } from '../types.js';
import type { GistView, SubscriptionStatus } from '../amebo.js';
import { formatDuration } from '../config/units.js';
import { visibleHeaders } from '../routing/keys.js';
import type { WireGist } from '../client/types.js';

export function presentApplication(a: Application): Record<string, unknown> {
  return {
    application: a.name,
    address: a.address,
    source: a.source,
    implicit: a.implicit ?? false,
    secret_rotation: a.previous_secret ? { previous_secret_expires_at: a.previous_secret_expires_at ?? null } : null,
    created_at: a.created_at,
  };
}

export function presentAction(a: Action): Record<string, unknown> {
  return { action: a.name, application: a.application, schemata: a.schemata, source: a.source, created_at: a.created_at };
}

export function presentSubscription(s: Subscription & { url?: string }, status: SubscriptionStatus): Record<string, unknown> {
  const headers = visibleHeaders(s.headers);
  return {
    subscription: s.name,
    id: s.name,
    application: s.application,
    action: s.action,
    handler: s.handler,
    url: s.url ?? null,
    max_retries: s.max_retries,
    timeout: formatDuration(s.timeout_ms),
    backoff: { initial: formatDuration(s.backoff_initial_ms), max: formatDuration(s.backoff_max_ms), jitter: s.backoff_jitter },
    retry_4xx: s.retry_4xx,
    concurrency: s.concurrency,
    filter: s.filter ?? null,
    // The values of credential headers are never returned (Svix's model): their names are listed.
    headers: headers.headers,
    sensitive_headers: headers.sensitive,
    ordering: s.ordering ?? null,
    rate_limit: s.rate_limit ? `${s.rate_limit.count}/${s.rate_limit.per_ms === 1000 ? 's' : 'm'}` : null,
    paused: status.paused,
    paused_by: status.paused_by,
    circuit: {
      ...status.circuit,
      failures_to_open: s.circuit?.failures ?? null,
      cooldown: s.circuit ? formatDuration(s.circuit.cooldown_ms) : null,
    },
    source: s.source,
    created_at: s.created_at,
  };
}

/** An event as JSON text, with the stored payload spliced in as is (no parse, no re-encode). */
export function eventJson(e: StoredEvent): string {
  return (
    `{"id":${e.id},"action":${JSON.stringify(e.action)},"payload":${e.payload_json},` +
    `"deduper":${e.deduper === undefined ? 'null' : JSON.stringify(e.deduper)},"timestamp":"${e.timestamp}",` +
    `"deliver_after":${e.deliver_after === undefined ? 'null' : `"${new Date(e.deliver_after).toISOString()}"`}}`
  );
}

/** The wire shape is the client's WireGist, so the daemon and its clients cannot drift apart. */
export function presentGist({ gist: row, attempts, orphaned }: GistView): WireGist {
  return {
    id: row.id,
    event_id: row.event_id,
    action: row.action,
    subscription: row.subscription,
    state: row.state,
    attempt_count: row.attempts,
    next_attempt_at: row.next_at === null ? null : new Date(row.next_at).toISOString(),
    created_at: new Date(row.created).toISOString(),
    updated_at: new Date(row.updated).toISOString(),
    replays: row.replays,
    orphaned,
    last_status: row.last_status,
    last_error: row.last_error,
    attempts: attempts.map((a) => ({
      n: a.n,
      at: a.at,
      status: a.status,
      duration_ms: a.duration_ms,
      error: a.error,
      response: a.response,
      outcome: a.outcome,
      replay: a.replay,
    })),
  };
}

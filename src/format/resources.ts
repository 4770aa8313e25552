/**
 * How events, gists and attempts look in the client verbs' tables.
 */
import type { WireAttempt, WireEvent, WireGist, PageMeta } from '../client/types.js';
import { formatLatency } from './duration.js';
import { renderKeyValues, renderTable, truncate, type Column } from './table.js';
import { shortIso } from './time.js';

const json = (v: unknown): string => (v === undefined ? '-' : JSON.stringify(v));

const EVENT_COLUMNS: readonly Column<WireEvent>[] = [
  { header: 'ID', get: (e) => e.id, align: 'right' },
  { header: 'ACTION', get: (e) => e.action },
  { header: 'TIMESTAMP', get: (e) => shortIso(e.timestamp) },
  { header: 'DEDUPER', get: (e) => e.deduper, max: 24 },
  { header: 'DELIVER AFTER', get: (e) => shortIso(e.deliver_after) },
  { header: 'PAYLOAD', get: (e) => json(e.payload), max: 60 },
];

/** A table of events. */
export function eventsTable(events: readonly WireEvent[]): string {
  return renderTable(EVENT_COLUMNS, events);
}

/** One event in full, as `amebo publish` prints it. */
export function eventDetail(e: WireEvent): string {
  return renderKeyValues([
    ['id', e.id],
    ['action', e.action],
    ['timestamp', e.timestamp],
    ['deduper', e.deduper],
    ['deliver_after', e.deliver_after],
    ['payload', json(e.payload)],
  ]);
}

const GIST_COLUMNS: readonly Column<WireGist>[] = [
  { header: 'ID', get: (g) => g.id, align: 'right' },
  { header: 'EVENT', get: (g) => g.event_id, align: 'right' },
  { header: 'ACTION', get: (g) => g.action },
  { header: 'SUBSCRIPTION', get: (g) => g.subscription },
  { header: 'STATE', get: (g) => g.state },
  { header: 'ATTEMPTS', get: (g) => g.attempt_count, align: 'right' },
  { header: 'LAST', get: (g) => g.last_status ?? (g.last_error ? 'error' : null), align: 'right' },
  { header: 'NEXT ATTEMPT', get: (g) => shortIso(g.next_attempt_at) },
  { header: 'UPDATED', get: (g) => shortIso(g.updated_at) },
  { header: 'ERROR', get: (g) => g.last_error, max: 40 },
];

/** A table of gists. */
export function gistsTable(gists: readonly WireGist[]): string {
  return renderTable(GIST_COLUMNS, gists);
}

const ATTEMPT_COLUMNS: readonly Column<WireAttempt>[] = [
  { header: '#', get: (a) => a.n, align: 'right' },
  { header: 'TIME', get: (a) => a.at },
  { header: 'STATUS', get: (a) => a.status, align: 'right' },
  { header: 'DURATION', get: (a) => formatLatency(a.duration_ms), align: 'right' },
  { header: 'OUTCOME', get: (a) => (a.replay ? `${a.outcome} (replay)` : a.outcome) },
  { header: 'ERROR', get: (a) => a.error, max: 40 },
  { header: 'RESPONSE', get: (a) => a.response, max: 60 },
];

/** A table of a gist's attempts: time, status, duration, outcome, error and the head of the response. */
export function attemptsTable(attempts: readonly WireAttempt[]): string {
  return renderTable(ATTEMPT_COLUMNS, attempts);
}

/** One gist with every attempt, as `amebo gists show` prints it. */
export function gistDetail(g: WireGist): string {
  const head = renderKeyValues([
    ['id', g.id],
    ['event', g.event_id],
    ['action', g.action],
    ['subscription', g.subscription],
    ['state', g.state],
    ['attempts', g.attempt_count],
    ['replays', g.replays],
    ['next_attempt_at', g.next_attempt_at],
    ['created_at', g.created_at],
    ['updated_at', g.updated_at],
    ['last_status', g.last_status],
    ['last_error', g.last_error === null ? null : truncate(g.last_error, 200)],
  ]);
  const attempts = g.attempts ?? [];
  return `${head}\n${attempts.length === 0 ? 'no attempts yet\n' : attemptsTable(attempts)}`;
}

/** The line under a listing: where this page sits. */
export function pageFooter(meta: PageMeta, shown: number): string {
  const pages = meta.per_page > 0 ? Math.max(1, Math.ceil(meta.total / meta.per_page)) : 1;
  if (meta.total === 0) return 'no matches\n';
  return `page ${meta.page} of ${pages} (${shown} shown, ${meta.total} in all)\n`;
}

/** The rows LMDB stores, and their conversion to the contract's types. Nothing outside `lmdb/` sees them. */
import type { Attempt, GistId, Outcome, StoredEvent } from '../../types.js';
import type { Gist } from '../contract.js';

export interface EventRow {
  id: number;
  action: string;
  /** Unix ms. */
  ts: number;
  payload: string;
  deduper?: string;
  after?: number;
}

export interface GistRow {
  id: number;
  event_id: number;
  action: string;
  subscription: string;
  state: 'pending' | 'delivered' | 'failed' | 'dead';
  attempts: number;
  /** Attempt count when the gist was last replayed: retries are counted from here. */
  retry_base: number;
  next_at: number | null;
  created: number;
  updated: number;
  replays: number;
  last_status?: number | null;
  last_error?: string | null;
  /** Replayed while an attempt was in flight: queued again once that attempt is recorded. */
  rerun?: true;
  /** The ordering key, for a subscription that orders its deliveries. */
  okey?: string;
  /** Written by format 1 (removed subscriptions); ignored since: orphaning is derived from the config. */
  orphaned?: boolean;
}

export interface AttemptRow {
  at: number;
  status: number | null;
  ms: number;
  error: string | null;
  response: string | null;
  outcome: Outcome;
  replay: boolean;
}

/** Consecutive events mostly share a millisecond: format each millisecond once. */
let lastIsoMs = -1;
let lastIso = '';
function isoOf(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

export function toStoredEvent(row: EventRow): StoredEvent {
  return { id: row.id, action: row.action, payload_json: row.payload, deduper: row.deduper, timestamp: isoOf(row.ts), deliver_after: row.after };
}

export function toGist(row: GistRow): Gist {
  return {
    id: row.id,
    event_id: row.event_id,
    action: row.action,
    subscription: row.subscription,
    state: row.state,
    attempts: row.attempts,
    retry_base: row.retry_base,
    next_at: row.next_at,
    created: row.created,
    updated: row.updated,
    replays: row.replays,
    last_status: row.last_status ?? null,
    last_error: row.last_error ?? null,
  };
}

export function toAttempt(gistId: number, n: number, row: AttemptRow): Attempt {
  return {
    gist_id: gistId,
    n,
    at: new Date(row.at).toISOString(),
    status: row.status,
    duration_ms: row.ms,
    error: row.error,
    response: row.response,
    outcome: row.outcome,
    replay: row.replay,
  };
}

/** The lane of the due queue a gist waits in: first attempts (0) before retries (1). */
export function laneOf(state: GistRow['state']): number {
  return state === 'failed' ? 1 : 0;
}

/** LMDB's gist ids are numbers; an id in any other form names no gist here. */
export function lmdbGistId(id: GistId): number {
  return typeof id === 'number' ? id : /^\d{1,15}$/.test(id) ? Number(id) : 0;
}

/**
 * Per-key delivery order in the LMDB engine. The open gists of an ordered subscription are indexed by
 * [subscription, key, gist id] in `ordered`; only the first of each key (its head) has an entry in
 * `due`, so the delivery queue hands out one gist per key at a time, in log order, while other keys
 * keep flowing. When a head is delivered or dies, the next gist of its key becomes the head. Every
 * function here runs inside a write transaction.
 */
import type { DueKey, Env } from './env.js';
import { putDue, type LeaseTable } from './delivery.js';
import { laneOf, type GistRow } from './rows.js';

const MAX_ID = Number.MAX_SAFE_INTEGER;

export function dueKeyOf(row: GistRow): DueKey {
  return [row.subscription, laneOf(row.state), row.next_at ?? 0, row.id];
}

/** The first open gist of a key, or undefined. */
function head(env: Env, subscription: string, key: string): number | undefined {
  for (const k of env.ordered.getKeys({ start: [subscription, key, 0], end: [subscription, key, MAX_ID], limit: 1 })) return (k as [string, string, number])[2];
  return undefined;
}

/** Makes the head of a key due (unless it is in flight or already due). */
function promote(env: Env, leases: LeaseTable, subscription: string, key: string): void {
  const first = head(env, subscription, key);
  if (first === undefined || leases.inFlight(first)) return;
  const row = env.gists.get(first);
  if (!row || (row.state !== 'pending' && row.state !== 'failed')) return;
  const due = dueKeyOf(row);
  if (!env.due.doesExist(due)) putDue(env, leases, due);
}

/**
 * An open gist of an ordered subscription joins its key's line (at append, or when a replay reopens
 * it). True when it may be due now: it is the head, and no earlier head is in flight. A head it
 * overtakes (a replay of an older gist) leaves `due` until its turn comes again.
 */
export function join(env: Env, leases: LeaseTable, row: GistRow & { okey: string }): boolean {
  const before = head(env, row.subscription, row.okey);
  env.ordered.putSync([row.subscription, row.okey, row.id], null);
  if (before === undefined) return true;
  if (before < row.id) return false;
  if (leases.inFlight(before)) return false;
  const old = env.gists.get(before);
  if (old) env.due.removeSync(dueKeyOf(old));
  return true;
}

/** True when the gist is the head of its key (so it may be due). */
export function isHead(env: Env, row: GistRow & { okey: string }): boolean {
  return head(env, row.subscription, row.okey) === row.id;
}

/** A gist leaves its key's line (delivered or dead): the next one becomes the head. */
export function leave(env: Env, leases: LeaseTable, row: GistRow & { okey: string }): void {
  env.ordered.removeSync([row.subscription, row.okey, row.id]);
  promote(env, leases, row.subscription, row.okey);
}

/** After a head's attempt is recorded: the head of its key (maybe another, after a replay) is due. */
export function settle(env: Env, leases: LeaseTable, row: GistRow & { okey: string }): void {
  promote(env, leases, row.subscription, row.okey);
}

export const ordered = (row: GistRow): row is GistRow & { okey: string } => row.okey !== undefined;

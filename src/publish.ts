/**
 * The validate stage of a publish: one request item becomes an append input, or an error with a
 * stable code (unknown action, not the caller's, schema violations, a bad deduper or delay).
 */
import type { Caller } from './types.js';
import { amebo } from './errors.js';
import type { AppendInput } from './log/contract.js';
import type { Snapshot } from './config/registry.js';
import { orderingKey } from './routing/keys.js';

/**
 * Where the edge puts a payload's JSON text as it was received, when that text means exactly the
 * parsed payload (api/payload-text.ts): the append stores it instead of serialising the payload
 * again. A symbol, so no request body can set it.
 */
export const payloadText: unique symbol = Symbol('amebo.payloadText');

/** One event of a publish request, before validation. */
export interface PublishItem {
  readonly action: unknown;
  readonly payload: unknown;
  readonly deduper?: unknown;
  readonly sleep_until?: unknown;
  /** The payload's text as received (see `payloadText`). */
  readonly [payloadText]?: string;
}

const MAX_SLEEP_S = 366 * 24 * 3600;

/** Checks one item against the snapshot in force; `now` is when the publish arrived. */
export function prepare(item: PublishItem, snap: Snapshot, caller: Caller, now: number): AppendInput {
  if (typeof item !== 'object' || item === null) throw amebo('AMEBO_ERR_VALIDATION', 'each event must be an object with "action" and "payload"');
  if (typeof item.action !== 'string' || item.action === '') throw amebo('AMEBO_ERR_VALIDATION', '"action" must be a non-empty string', { field: 'action' });
  const action = snap.actions.get(item.action);
  if (!action) throw amebo('AMEBO_ERR_UNKNOWN_ACTION', `unknown action "${item.action}"; register it with POST /v1/actions or in amebo.yaml`);
  if (action.source === 'builtin' && caller.kind !== 'amebo') {
    throw amebo('AMEBO_ERR_FORBIDDEN', `${action.name} is one of amebo's own events: only amebo publishes it (subscribe to it instead)`);
  }
  if (caller.kind === 'app' && caller.app !== action.application) {
    throw amebo('AMEBO_ERR_FORBIDDEN', `application ${caller.app} may not publish ${action.name} (it belongs to ${action.application})`);
  }
  if (item.payload === undefined) throw amebo('AMEBO_ERR_VALIDATION', '"payload" is required', { field: 'payload' });
  const violations = action.validator.validate(item.payload);
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
  // The subscriptions that take the action and whose filter accepts the payload: one gist each.
  const takers = (snap.byAction.get(action.name) ?? []).filter((s) => s.accepts === null || s.accepts(item.payload));
  const ordered = takers.some((s) => s.ordering !== undefined);
  return {
    action: action.name,
    payload_json: item[payloadText] ?? JSON.stringify(item.payload),
    deduper,
    deliver_after: deliverAfter,
    subscriptions: takers.map((s) => s.name),
    keys: ordered ? takers.map((s) => (s.ordering === undefined ? null : orderingKey(s.ordering, item.payload))) : undefined,
  };
}

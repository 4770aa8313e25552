/**
 * amebo's own events: `amebo.gist.dead`, `amebo.circuit.opened` and `amebo.circuit.closed`, actions
 * of a built-in application `amebo`. They are published through amebo's own log like any event, so an
 * operator's alerting is a subscription (with a filter, headers, retries and replay). Their payload
 * schemas are below; they are in every snapshot and cannot be changed or deleted.
 */
import type { Action, Application } from '../types.js';

export const OWN_APPLICATION = 'amebo';
export const GIST_DEAD = 'amebo.gist.dead';
export const CIRCUIT_OPENED = 'amebo.circuit.opened';
export const CIRCUIT_CLOSED = 'amebo.circuit.closed';
export const OWN_ACTIONS = [GIST_DEAD, CIRCUIT_OPENED, CIRCUIT_CLOSED] as const;
export type OwnAction = (typeof OWN_ACTIONS)[number];

/** The payload every own event carries (fields that do not apply are null). */
export interface OwnEventPayload {
  readonly subscription: string;
  readonly gist: number | string | null;
  readonly event: number | null;
  readonly action: string | null;
  readonly status: number | null;
  readonly error: string | null;
  /** ISO 8601 time of what happened. */
  readonly at: string;
}

const NULLABLE_STRING = { type: ['string', 'null'] } as const;

/** The JSON Schema (draft 2020-12) of the payload of amebo's own events. */
export const OWN_EVENT_SCHEMA = Object.freeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['subscription', 'gist', 'event', 'action', 'status', 'error', 'at'],
  properties: {
    subscription: { type: 'string', description: 'The subscription the event is about.' },
    gist: { type: ['integer', 'string', 'null'], description: 'The gist that died, or the last gist attempted when a circuit changed.' },
    event: { type: ['integer', 'null'], description: 'The event of that gist.' },
    action: { ...NULLABLE_STRING, description: 'The action of that event.' },
    status: { type: ['integer', 'null'], description: 'The HTTP status of the last attempt, or null when none arrived.' },
    error: { ...NULLABLE_STRING, description: 'What the last attempt ended with, when it failed.' },
    at: { type: 'string', format: 'date-time', description: 'When it happened.' },
  },
});

const BUILT_AT = '2026-12-01T00:00:00.000Z';

/** The built-in application that owns amebo's own actions; it receives nothing itself. */
export const OWN_APPLICATION_OBJECT: Application = Object.freeze({
  name: OWN_APPLICATION,
  address: 'http://127.0.0.1:9',
  // Nothing is ever signed with it and it cannot authenticate: only amebo publishes its own events.
  secret: '',
  source: 'builtin',
  created_at: BUILT_AT,
});

export const OWN_ACTION_OBJECTS: readonly Action[] = OWN_ACTIONS.map((name) =>
  Object.freeze({ name, application: OWN_APPLICATION, schemata: OWN_EVENT_SCHEMA, source: 'builtin' as const, created_at: BUILT_AT }),
);

export function isOwnAction(action: string): boolean {
  return action.startsWith('amebo.');
}

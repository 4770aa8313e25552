/**
 * `paths` of the OpenAPI document: every route the router serves, with its parameters, request body
 * and answers. A test checks that this list and the router's are the same.
 */
import type { JsonSchema } from './schemas.js';

const schema = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const json = (s: JsonSchema): JsonSchema => ({ 'application/json': { schema: s } });

/** `{"data": <name>}`. */
function dataOf(name: string, description: string, extra: Readonly<Record<string, JsonSchema>> = {}): JsonSchema {
  return {
    description,
    content: json({ type: 'object', additionalProperties: false, required: ['data'], properties: { data: schema(name), ...extra } }),
  };
}

/** `{"data": [<name>...], "meta": {...}}`. */
function listOf(name: string, description: string): JsonSchema {
  return {
    description,
    content: json({
      type: 'object',
      additionalProperties: false,
      required: ['data', 'meta'],
      properties: { data: { type: 'array', items: schema(name) }, meta: schema('PageMeta') },
    }),
  };
}

const error = { $ref: '#/components/responses/Error' };

/** Answers every operation may give, plus the listed error statuses. */
function answers(ok: Readonly<Record<string, JsonSchema>>, errors: readonly number[]): JsonSchema {
  const out: Record<string, JsonSchema> = { ...ok };
  for (const status of errors) out[String(status)] = error;
  out['default'] = error;
  return out;
}

const param = (name: string, description: string, s: JsonSchema = { type: 'string' }): JsonSchema => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: s,
});
const query = (name: string, description: string, s: JsonSchema = { type: 'string' }): JsonSchema => ({ name, in: 'query', required: false, description, schema: s });
const PAGE = [
  query('page', 'Page number, from 1.', { type: 'integer', minimum: 1, maximum: 1_000_000, default: 1 }),
  query('per_page', 'Items per page.', { type: 'integer', minimum: 1, maximum: 1000, default: 50 }),
];
const ID = { type: 'integer', minimum: 1 };
/** Gist ids are opaque: numbers on LMDB, strings on NATS JetStream. */
const GIST_ID = { type: 'string', minLength: 1 };

function requestBody(name: string, required = true): JsonSchema {
  return { required, content: json(schema(name)) };
}

/** Routes that need no credentials. */
const PUBLIC = { security: [] };

const tagged = (tag: string, ops: Record<string, JsonSchema>): Record<string, JsonSchema> =>
  Object.fromEntries(Object.entries(ops).map(([method, op]) => [method, { tags: [tag], ...op }]));

/** The `paths` object. Keys are OpenAPI templates (`{id}`), the router's patterns with `:id`. */
export const paths: Record<string, Record<string, JsonSchema>> = {
  '/v1/applications': tagged('applications', {
    post: {
      operationId: 'createApplication',
      summary: 'Register an application (admin only)',
      requestBody: requestBody('CreateApplication'),
      responses: answers({ '201': dataOf('Application', 'Registered.') }, [400, 401, 403, 409]),
    },
    get: { operationId: 'listApplications', summary: 'List applications', parameters: PAGE, responses: answers({ '200': listOf('Application', 'One page.') }, [400, 401]) },
  }),
  '/v1/applications/{name}': tagged('applications', {
    get: {
      operationId: 'getApplication',
      summary: 'Get an application',
      parameters: [param('name', 'The application.')],
      responses: answers({ '200': dataOf('Application', 'The application.') }, [401, 403, 404]),
    },
    put: {
      operationId: 'updateApplication',
      summary: "Change an application's address or secret",
      parameters: [param('name', 'The application.')],
      requestBody: requestBody('UpdateApplication'),
      responses: answers({ '200': dataOf('Application', 'Changed.') }, [400, 401, 403, 404, 409]),
    },
    delete: {
      operationId: 'deleteApplication',
      summary: 'Delete an application (admin only)',
      parameters: [param('name', 'The application.')],
      responses: answers({ '204': { description: 'Deleted.' } }, [401, 403, 404, 409]),
    },
  }),
  '/v1/actions': tagged('actions', {
    post: {
      operationId: 'createAction',
      summary: 'Define an action and its JSON Schema',
      requestBody: requestBody('CreateAction'),
      responses: answers({ '201': dataOf('Action', 'Defined.') }, [400, 401, 403, 404, 409]),
    },
    get: {
      operationId: 'listActions',
      summary: 'List actions',
      parameters: [query('application', 'Only the actions of this application.'), ...PAGE],
      responses: answers({ '200': listOf('Action', 'One page.') }, [400, 401]),
    },
  }),
  '/v1/actions/{name}': tagged('actions', {
    get: {
      operationId: 'getAction',
      summary: 'Get an action',
      parameters: [param('name', 'The action.')],
      responses: answers({ '200': dataOf('Action', 'The action.') }, [401, 403, 404]),
    },
    put: {
      operationId: 'updateAction',
      summary: "Change an action's schema or owner",
      parameters: [param('name', 'The action.')],
      requestBody: requestBody('UpdateAction'),
      responses: answers({ '200': dataOf('Action', 'Changed.') }, [400, 401, 403, 404, 409]),
    },
  }),
  '/v1/subscriptions': tagged('subscriptions', {
    post: {
      operationId: 'createSubscription',
      summary: 'Subscribe a webhook handler to an action',
      requestBody: requestBody('CreateSubscription'),
      responses: answers(
        {
          '201': dataOf('Subscription', 'Subscribed. `warnings` says when a placeholder application was created.', {
            warnings: { type: 'array', items: { type: 'string' } },
          }),
        },
        [400, 401, 403, 404, 409],
      ),
    },
    get: {
      operationId: 'listSubscriptions',
      summary: 'List subscriptions',
      parameters: [query('action', 'Only subscriptions to this action.'), query('application', 'Only subscriptions of this application.'), ...PAGE],
      responses: answers({ '200': listOf('Subscription', 'One page.') }, [400, 401]),
    },
  }),
  '/v1/subscriptions/{id}': tagged('subscriptions', {
    get: {
      operationId: 'getSubscription',
      summary: 'Get a subscription',
      parameters: [param('id', 'The subscription name.')],
      responses: answers({ '200': dataOf('Subscription', 'The subscription.') }, [401, 403, 404]),
    },
    put: {
      operationId: 'updateSubscription',
      summary: 'Change a subscription',
      parameters: [param('id', 'The subscription name.')],
      requestBody: requestBody('UpdateSubscription'),
      responses: answers({ '200': dataOf('Subscription', 'Changed.') }, [400, 401, 403, 404, 409]),
    },
    delete: {
      operationId: 'deleteSubscription',
      summary: 'Delete a subscription',
      parameters: [param('id', 'The subscription name.')],
      responses: answers({ '204': { description: 'Deleted; its open gists are kept, orphaned.' } }, [401, 403, 404, 409]),
    },
  }),
  '/v1/subscriptions/{id}/pause': tagged('subscriptions', {
    post: {
      operationId: 'pauseSubscription',
      summary: 'Pause a subscription',
      description: 'Gists are still made; nothing is sent and no retry is used up until it is resumed. Works for subscriptions of amebo.yaml too: pausing is delivery state, kept by the log.',
      parameters: [param('id', 'The subscription name.')],
      requestBody: requestBody('Credentials', false),
      responses: answers({ '200': dataOf('Subscription', 'Paused.') }, [401, 403, 404]),
    },
  }),
  '/v1/subscriptions/{id}/resume': tagged('subscriptions', {
    post: {
      operationId: 'resumeSubscription',
      summary: 'Resume a subscription',
      description: 'Everything it holds is delivered. 409 when amebo.yaml pauses it (`paused: true`).',
      parameters: [param('id', 'The subscription name.')],
      requestBody: requestBody('Credentials', false),
      responses: answers({ '200': dataOf('Subscription', 'Resumed.') }, [401, 403, 404, 409]),
    },
  }),
  '/v1/events': tagged('events', {
    post: {
      operationId: 'publishEvent',
      summary: 'Publish an event',
      description: 'Answered only once the event and its gists are committed to the log. A payload that fails the schema is 422 with every violation in `details.violations`.',
      requestBody: requestBody('PublishEvent'),
      responses: answers(
        { '201': dataOf('Event', 'Stored.'), '200': dataOf('Event', 'A repeated deduper: the original event; nothing new is delivered.') },
        [400, 401, 403, 404, 413, 415, 422, 503, 507],
      ),
    },
    get: {
      operationId: 'listEvents',
      summary: 'List events, in log order',
      parameters: [
        query('action', 'Only this action.'),
        query('from', 'Events at or after this ISO 8601 time.', { type: 'string' }),
        query('to', 'Events before this ISO 8601 time.', { type: 'string' }),
        query('order', 'Oldest first (asc, the default) or newest first.', { enum: ['asc', 'desc'] }),
        ...PAGE,
      ],
      responses: answers({ '200': listOf('Event', 'One page.') }, [400, 401]),
    },
  }),
  '/v1/events/batch': tagged('events', {
    post: {
      operationId: 'publishEvents',
      summary: 'Publish events together: all are stored or none',
      description: 'A rejected batch answers the status of its first failure, with each event\'s result in `details.results`.',
      requestBody: requestBody('PublishBatch'),
      responses: answers(
        { '201': { description: 'Every event stored (or a deduper repeat).', content: json({ type: 'object', additionalProperties: false, required: ['data'], properties: { data: { type: 'array', items: schema('BatchItem') } } }) } },
        [400, 401, 403, 404, 413, 415, 422, 503, 507],
      ),
    },
  }),
  '/v1/events/stream': tagged('events', {
    post: {
      operationId: 'publishEventStream',
      summary: 'Publish a stream of events, one NDJSON line each',
      description: [
        'The body is NDJSON (`application/x-ndjson`): one event per line, each shaped as the body of `POST /v1/events`. The answer is `200` with NDJSON: one line per input line (blank lines aside), in the same order, each written as soon as the group commit that holds its event lands: `{"data": <event>}`, `{"data": <event>, "duplicate": true}` for a repeated deduper, or an error line (the error envelope: `{"error", "code", "details", "error_code"}`) for a line that is not JSON, has the wrong shape, names an unknown action or fails the schema (`422`). An error line does not end the stream.',
        'Reading pauses while 8192 lines (or 8 MiB) are unanswered, or while the answers already written have not been read: a client is held back by TCP, never dropped. A line answered `data` is committed; after a disconnect the lines that were answered stay committed, and the others may or may not be: resend them with dedupers.',
        'Auth as for `POST /v1/events`: a bearer header counts for every line; without one, a line may carry its own `secret`. A line is at most `server.max_body` (1 MiB); a stream that sends nothing for `server.request_timeout` (30 s) is ended after its answers.',
      ].join('\n\n'),
      requestBody: { required: true, content: { 'application/x-ndjson': { schema: schema('PublishEvent') } } },
      responses: answers(
        {
          '200': {
            description: 'One NDJSON line per input line, in order, each once its commit lands.',
            content: { 'application/x-ndjson': { schema: schema('StreamAnswer') } },
          },
        },
        [401, 415, 503],
      ),
    },
  }),
  '/v1/events/{id}': tagged('events', {
    get: { operationId: 'getEvent', summary: 'Get an event', parameters: [param('id', 'The event id.', ID)], responses: answers({ '200': dataOf('Event', 'The event.') }, [401, 404]) },
  }),
  '/v1/gists': tagged('gists', {
    get: {
      operationId: 'listGists',
      summary: 'List gists (deliveries) with their attempts',
      parameters: [
        query('subscription', 'Only this subscription.'),
        query('event', 'Only this event id.', ID),
        query('state', 'Only this state.', { enum: ['pending', 'delivered', 'failed', 'dead'] }),
        ...PAGE,
      ],
      responses: answers({ '200': listOf('Gist', 'One page.') }, [400, 401]),
    },
  }),
  '/v1/gists/{id}': tagged('gists', {
    get: { operationId: 'getGist', summary: 'Get a gist with every attempt', parameters: [param('id', 'The gist id (opaque: a number on LMDB, a string on NATS).', GIST_ID)], responses: answers({ '200': dataOf('Gist', 'The gist.') }, [401, 404]) },
  }),
  '/v1/gists/{id}/replay': tagged('gists', {
    post: {
      operationId: 'replayGist',
      summary: 'Deliver a gist again now',
      parameters: [param('id', 'The gist id (opaque: a number on LMDB, a string on NATS).', GIST_ID)],
      requestBody: requestBody('Credentials', false),
      responses: answers({ '202': dataOf('Gist', 'Queued.') }, [401, 404, 409]),
    },
  }),
  '/v1/regists/{id}': tagged('gists', {
    post: {
      operationId: 'regist',
      summary: 'Deliver a gist again now (the path Amebo\'s client calls)',
      parameters: [param('id', 'The gist id (opaque: a number on LMDB, a string on NATS).', GIST_ID)],
      requestBody: requestBody('Credentials', false),
      responses: answers({ '202': dataOf('Gist', 'Queued.') }, [401, 404, 409]),
    },
  }),
  '/v1/replays': tagged('replays', {
    post: {
      operationId: 'createReplay',
      summary: 'Deliver past events again',
      requestBody: requestBody('CreateReplay', false),
      responses: answers({ '202': dataOf('ReplayCreated', 'Started.'), '200': dataOf('ReplayCreated', 'Counted (dry_run).') }, [400, 401, 404]),
    },
  }),
  '/v1/replays/{id}': tagged('replays', {
    get: { operationId: 'getReplay', summary: "A replay's progress", parameters: [param('id', 'The replay id.')], responses: answers({ '200': dataOf('ReplayProgress', 'Its progress.') }, [401, 404]) },
  }),
  '/v1/stream': tagged('stream', {
    get: {
      operationId: 'stream',
      summary: 'Server-Sent Events of publishes, delivery outcomes and stats',
      description:
        'Events `published` and `delivery` (each with an `id`), and `stats` each second. `Last-Event-ID` resumes from a bounded buffer; a client that stops reading is dropped once 8 MiB is buffered for it.',
      parameters: [
        query('action', 'Only this action.'),
        query('subscription', 'Only deliveries to this subscription.'),
        query('types', 'A comma-separated list of delivery, published and stats.'),
        query('failures', '1 for failed and dead deliveries only.'),
        { name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this id.', schema: { type: 'string' } },
      ],
      responses: answers({ '200': { description: 'The stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } } }, [400, 401]),
    },
  }),
  '/v1/config': tagged('operations', {
    get: {
      operationId: 'exportConfig',
      summary: 'The effective config as amebo.yaml, secrets as ${ENV} references (admin only)',
      responses: answers({ '200': { description: "The config, in amebo.yaml's shape.", content: json({ type: 'object', required: ['data'], properties: { data: { type: 'object' } } }) } }, [401, 403]),
    },
  }),
  '/health': tagged('operations', {
    get: { operationId: 'health', summary: 'Liveness, config and backlog', ...PUBLIC, responses: answers({ '200': dataOf('Health', 'Healthy.') }, [503]) },
  }),
  '/metrics': tagged('operations', {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      ...PUBLIC,
      responses: answers({ '200': { description: 'Prometheus text format.', content: { 'text/plain': { schema: { type: 'string' } } } } }, [503]),
    },
  }),
  '/openapi.json': tagged('operations', {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      ...PUBLIC,
      responses: answers({ '200': { description: 'OpenAPI 3.1.', content: json({ type: 'object', required: ['openapi', 'paths'] }) } }, [503]),
    },
  }),
};

/**
 * The JSON Schemas (draft 2020-12, as OpenAPI 3.1 uses) of every body the API accepts and answers:
 * `components.schemas` of the OpenAPI document. The server validates request bodies with these very
 * objects (see ../validate.ts), and the tests check every response against them, so the document
 * cannot drift from what the server does.
 *
 * `x-amebo-message` is an OpenAPI extension: the end of the 400 message for a value that fails the
 * schema it sits on (`"action" must be a non-empty string`).
 */

/** A JSON Schema as plain data. */
export type JsonSchema = { readonly [key: string]: unknown };

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** Widens a schema's `type` to accept `null`: Amebo's clients send `null` for an optional field they leave out. */
function orNull(schema: JsonSchema): JsonSchema {
  const type = schema['type'];
  return { ...schema, type: [...(Array.isArray(type) ? type : [type]), 'null'] };
}

/** Names of applications, actions and subscriptions. */
const NAME: JsonSchema = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$',
  'x-amebo-message': 'must be a name of letters, digits, ".", "_", ":" and "-" (1 to 128)',
};

const SECRET: JsonSchema = {
  type: 'string',
  minLength: 8,
  maxLength: 512,
  writeOnly: true,
  'x-amebo-message': 'must be a string of 8 to 512 characters',
};

/**
 * `secret` on a body that is not about secrets: the caller's application secret, as Amebo's clients
 * send it, instead of `Authorization: Bearer`. It authenticates and is not stored.
 */
const AUTH_SECRET: JsonSchema = {
  type: 'string',
  writeOnly: true,
  description: "The calling application's secret, as Amebo's clients send it; `Authorization: Bearer` is preferred.",
  'x-amebo-message': 'must be a string: the application secret',
};

const HTTP_URL: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 2048,
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
  'x-amebo-message': 'must be an http(s) URL',
};

const HANDLER: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 2048,
  description: "A full http(s) URL, or a `/path` joined to the subscribing application's `address`.",
  'x-amebo-message': 'must be a string of 1 to 2048 characters: a URL or a /path',
};

const TIME: JsonSchema = { type: 'string', format: 'date-time' };
const TIME_OR_NULL: JsonSchema = { type: ['string', 'null'], format: 'date-time' };
const SOURCE: JsonSchema = { enum: ['file', 'api', 'builtin'], description: "Declared in amebo.yaml (read-only through the API), created through the API, or amebo's own (`builtin`)." };

/** A subscription's `action`: one name or pattern, or a list of them. */
const ACTION_SPEC: JsonSchema = {
  type: ['string', 'array'],
  minLength: 1,
  maxLength: 128,
  minItems: 1,
  items: { type: 'string', minLength: 1, maxLength: 128 },
  description: 'One action name, a pattern (`*` stands for one dot-separated token, a final `>` for one or more: `user.*`, `order.>`), or a list of them.',
  'x-amebo-message': 'must be an action name, a pattern, or a non-empty list of them',
};

/** The routing and delivery-control keys of a subscription, as a body sends them. */
const CONTROL: Readonly<Record<string, JsonSchema>> = {
  filter: orNull({
    type: 'object',
    description: 'A MongoDB-style query on the payload (`$eq $ne $gt $gte $lt $lte $in $nin $exists $regex`, `$and $or $not`); events that do not match make no gist. Checked against the schemas of the actions it takes.',
    'x-amebo-message': 'must be an object of field paths and conditions',
  }),
  headers: orNull({ type: 'object', additionalProperties: { type: 'string' }, description: "Headers added to every webhook; amebo's own and the signature headers cannot be overridden.", 'x-amebo-message': 'must be a map of header names to strings' }),
  paused: orNull({ type: 'boolean', description: 'Make gists but send nothing until resumed.', 'x-amebo-message': 'must be true or false' }),
  circuit: orNull({
    type: ['object', 'boolean'],
    additionalProperties: false,
    properties: { failures: { type: 'integer', minimum: 1, maximum: 10000 }, cooldown: { type: ['string', 'number'] } },
    description: 'The circuit breaker: `{failures, cooldown}` (default 10 and 30s), or `false` to turn it off.',
    'x-amebo-message': 'must be {failures, cooldown} or false',
  }),
  ordering: orNull({
    type: ['object', 'string'],
    pattern: '^strict$',
    additionalProperties: false,
    required: ['key'],
    properties: { key: { type: 'string' } },
    description: 'Per-key delivery order: `{key: /json/pointer}`, or `"strict"` for one order for the whole subscription.',
    'x-amebo-message': 'must be "strict" or {key: /json/pointer}',
  }),
  rate_limit: orNull({ type: 'string', pattern: '^\\s*\\d{1,7}\\s*/\\s*(s|m)\\s*$', description: 'At most this many attempts per second (`50/s`) or minute (`600/m`).', 'x-amebo-message': 'must be a rate such as 50/s or 600/m' }),
};

/** A JSON Schema as `schemata`: an object, a boolean schema, or JSON text of one. */
const SCHEMATA: JsonSchema = {
  type: ['object', 'boolean', 'string'],
  description: 'A JSON Schema (draft-07 unless `$schema` names 2019-09 or 2020-12): an object, `true`/`false`, or JSON text of one.',
  'x-amebo-message': 'must be a JSON Schema: an object, a boolean, or JSON text of one',
};

/** Delivery policy keys shared by creating and changing a subscription. */
const POLICY: Readonly<Record<string, JsonSchema>> = {
  max_retries: orNull({ type: 'integer', minimum: 0, maximum: 1000, 'x-amebo-message': 'must be a whole number from 0 to 1000' }),
  timeout: orNull({
    type: ['string', 'number'],
    description: 'A duration such as `500ms`, `30s` or `5m` (a bare number is milliseconds).',
    'x-amebo-message': 'must be a duration such as 500ms, 30s or 5m',
  }),
  concurrency: orNull({ type: 'integer', minimum: 1, maximum: 1024, 'x-amebo-message': 'must be a whole number from 1 to 1024' }),
  retry_4xx: { type: 'boolean', description: 'Retry 4xx answers other than 408/429 (410 is always dead).', 'x-amebo-message': 'must be true or false' },
};

/** The shape of one event to publish, alone or in a batch. */
const EVENT_FIELDS: Readonly<Record<string, JsonSchema>> = {
  action: { type: 'string', minLength: 1, 'x-amebo-message': 'must be a non-empty string' },
  payload: { description: "Any JSON value; the action's schema decides what is valid." },
  deduper: orNull({
    type: 'string',
    minLength: 1,
    maxLength: 256,
    description: 'Idempotency key: repeating it for the same action returns the original event (200) and delivers nothing new.',
    'x-amebo-message': 'must be a string of 1 to 256 characters',
  }),
  sleep_until: orNull({
    type: 'number',
    minimum: 0,
    maximum: 366 * 24 * 3600,
    description: 'Seconds to wait before the first delivery.',
    'x-amebo-message': `must be a number of seconds from 0 to ${366 * 24 * 3600}`,
  }),
};

/** A request body: an object with exactly these keys. */
function body(properties: Readonly<Record<string, JsonSchema>>, required: readonly string[], description: string): JsonSchema {
  return { type: 'object', description, additionalProperties: false, required, properties };
}

/** Request bodies. */
const requests: Readonly<Record<string, JsonSchema>> = {
  CreateApplication: body(
    { application: NAME, address: HTTP_URL, secret: { ...SECRET, description: 'Signs its webhooks and authenticates it. Never returned.' } },
    ['application', 'address', 'secret'],
    'Registers an application (admin only).',
  ),
  UpdateApplication: body(
    {
      address: HTTP_URL,
      new_secret: SECRET,
      secret: { ...SECRET, description: 'The new secret, from the admin token only (an application rotates with `new_secret`).' },
      previous_secret: { ...SECRET, description: 'Still accepted, and still signed with, until `previous_secret_expires_at`.' },
      previous_secret_expires_at: { type: 'string', minLength: 1, description: 'ISO 8601 time.', 'x-amebo-message': 'must be an ISO 8601 time' },
    },
    [],
    'Changes an application. Every key is optional.',
  ),
  CreateAction: body(
    {
      action: NAME,
      application: NAME,
      schemata: SCHEMATA,
      allow_breaking_changes: { type: 'boolean', 'x-amebo-message': 'must be true or false' },
      secret: AUTH_SECRET,
    },
    ['action', 'application', 'schemata'],
    'Defines an action (an event type) owned by an application.',
  ),
  UpdateAction: body(
    {
      application: orNull(NAME),
      schemata: orNull(SCHEMATA),
      allow_breaking_changes: { type: 'boolean', description: 'Allow a schema that rejects payloads the old one accepted.', 'x-amebo-message': 'must be true or false' },
      secret: AUTH_SECRET,
    },
    [],
    "Changes an action's schema or owner.",
  ),
  CreateSubscription: body(
    {
      application: NAME,
      action: ACTION_SPEC,
      handler: HANDLER,
      subscription: orNull({ ...NAME, description: 'Its name; `<application>.<action>` when left out (required when `action` is a list or a pattern).' }),
      ...POLICY,
      ...CONTROL,
      secret: AUTH_SECRET,
    },
    ['application', 'action', 'handler'],
    "Subscribes an application's webhook handler to an action.",
  ),
  UpdateSubscription: body({ handler: orNull(HANDLER), action: orNull(ACTION_SPEC), ...POLICY, ...CONTROL, secret: AUTH_SECRET }, [], 'Changes a subscription. Every key is optional; `null` clears a control key.'),
  PublishEvent: body({ ...EVENT_FIELDS, secret: AUTH_SECRET }, ['action', 'payload'], 'One event to publish.'),
  EventInput: body(EVENT_FIELDS, ['action', 'payload'], 'One event of a batch.'),
  PublishBatch: body(
    {
      events: {
        type: 'array',
        minItems: 1,
        maxItems: 10_000,
        items: ref('EventInput'),
        'x-amebo-message': 'must be a non-empty array of at most 10000 events',
      },
      secret: AUTH_SECRET,
    },
    ['events'],
    'Events committed all together or not at all.',
  ),
  CreateReplay: body(
    {
      from: orNull({ type: ['string', 'number'], description: 'Events at or after this ISO 8601 time (or unix ms).', 'x-amebo-message': 'must be an ISO 8601 time such as 2026-01-31T12:00:00Z' }),
      to: orNull({ type: ['string', 'number'], description: 'Events before this ISO 8601 time (or unix ms).', 'x-amebo-message': 'must be an ISO 8601 time such as 2026-01-31T12:00:00Z' }),
      action: orNull({ type: 'string', 'x-amebo-message': 'must be a string' }),
      subscription: orNull({ type: 'string', 'x-amebo-message': 'must be a string' }),
      event: orNull({ type: 'integer', minimum: 1, 'x-amebo-message': 'must be an event id' }),
      failed: orNull({ type: 'boolean', description: 'Only gists that are dead or failed.', 'x-amebo-message': 'must be true or false' }),
      dry_run: orNull({ type: 'boolean', description: 'Only count.', 'x-amebo-message': 'must be true or false' }),
      secret: AUTH_SECRET,
    },
    [],
    'Which deliveries to make again. With no filter, everything in the log.',
  ),
  Credentials: body({ secret: AUTH_SECRET }, [], 'Optional: only the application secret, as Amebo\'s clients send it.'),
};

/** A response object: exactly these keys, all of them present. */
function shape(properties: Readonly<Record<string, JsonSchema>>, description: string, optional: readonly string[] = []): JsonSchema {
  return {
    type: 'object',
    description,
    additionalProperties: false,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    properties,
  };
}

const INT: JsonSchema = { type: 'integer' };
const STR: JsonSchema = { type: 'string' };
const STR_OR_NULL: JsonSchema = { type: ['string', 'null'] };
const BOOL: JsonSchema = { type: 'boolean' };

/** Response bodies' objects. */
const responses: Readonly<Record<string, JsonSchema>> = {
  Application: shape(
    {
      application: STR,
      address: STR,
      source: SOURCE,
      implicit: { type: 'boolean', description: 'A placeholder created by a subscription before the application was registered.' },
      secret_rotation: {
        type: ['object', 'null'],
        additionalProperties: false,
        required: ['previous_secret_expires_at'],
        properties: { previous_secret_expires_at: TIME_OR_NULL },
      },
      created_at: TIME,
    },
    'An application. Its secret is never returned.',
  ),
  Action: shape({ action: STR, application: STR, schemata: { type: ['object', 'boolean'] }, source: SOURCE, created_at: TIME }, 'An action and its JSON Schema.'),
  Subscription: shape(
    {
      subscription: STR,
      id: { type: 'string', description: 'The same as `subscription`.' },
      application: STR,
      action: { type: ['string', 'array'], items: STR, description: 'As written: a name, a pattern, or a list of them.' },
      handler: STR,
      url: { type: ['string', 'null'], description: 'The resolved handler URL.' },
      filter: { type: ['object', 'null'] },
      headers: { type: ['object', 'null'], additionalProperties: STR, description: 'The headers added to every webhook, without the credential headers (see sensitive_headers).' },
      sensitive_headers: { type: 'array', items: STR, description: 'Headers whose values are credentials (Authorization, Cookie, names with key, token, secret, auth, ...): set, but never returned.' },
      ordering: { type: ['object', 'string', 'null'] },
      rate_limit: STR_OR_NULL,
      paused: { type: 'boolean', description: 'Paused now, by the config or through the API.' },
      paused_by: { enum: ['config', 'api', null] },
      circuit: shape(
        {
          state: { enum: ['closed', 'open', 'half_open', 'off'] },
          failures: { type: 'integer', description: 'Failed attempts in a row.' },
          cooldown: STR_OR_NULL,
          failures_to_open: { type: ['integer', 'null'] },
          opened_at: TIME_OR_NULL,
          probe_at: TIME_OR_NULL,
        },
        'The circuit breaker and its state.',
      ),
      max_retries: INT,
      timeout: STR,
      backoff: shape({ initial: STR, max: STR, jitter: { type: 'number' } }, 'Retry delays: initial × 2^(n−1), capped at max, up to jitter of it random.'),
      retry_4xx: BOOL,
      concurrency: INT,
      source: SOURCE,
      created_at: TIME,
    },
    'A webhook handler of one application for one action.',
  ),
  Event: shape(
    {
      id: { type: 'integer', minimum: 1, description: 'Always increases.' },
      action: STR,
      payload: { description: 'The payload as published.' },
      deduper: STR_OR_NULL,
      timestamp: { ...TIME, description: 'When the event was appended to the log.' },
      deliver_after: { ...TIME_OR_NULL, description: 'No delivery before this time (from `sleep_until`).' },
    },
    'A stored event. Never modified.',
  ),
  Attempt: shape(
    {
      n: INT,
      at: TIME,
      status: { type: ['integer', 'null'], description: "The handler's HTTP status; null when none came back." },
      duration_ms: { type: 'number' },
      error: STR_OR_NULL,
      response: { type: ['string', 'null'], description: 'The first 1 KiB of the response body.' },
      outcome: { enum: ['success', 'retry', 'dead'] },
      replay: BOOL,
    },
    'One delivery attempt.',
  ),
  Gist: shape(
    {
      id: { type: ['integer', 'string'], description: 'Opaque: a number on the LMDB engine, `<event id>.<subscription>` on NATS JetStream. Stable for every attempt.' },
      event_id: INT,
      action: STR,
      subscription: STR,
      state: { enum: ['pending', 'delivered', 'failed', 'dead'] },
      attempt_count: INT,
      next_attempt_at: TIME_OR_NULL,
      created_at: TIME,
      updated_at: TIME,
      replays: INT,
      orphaned: { type: 'boolean', description: 'Its subscription is removed; delivery waits for it to return.' },
      last_status: { type: ['integer', 'null'] },
      last_error: STR_OR_NULL,
      attempts: { type: 'array', items: ref('Attempt') },
    },
    'One event on its way to one subscription, with every attempt.',
    ['orphaned', 'attempts'],
  ),
  BatchItem: {
    type: 'object',
    description: 'The result of one event of a batch: `data` when it was stored, `error` otherwise.',
    additionalProperties: false,
    required: ['status'],
    properties: {
      status: { type: 'integer', description: '201 stored, 200 a deduper repeat, or the error status.' },
      data: ref('Event'),
      error: STR,
      error_code: ref('ErrorCode'),
      details: { type: 'object' },
    },
  },
  StreamAnswer: {
    description: 'One line of a `POST /v1/events/stream` answer: the stored event, or the error envelope of that line.',
    oneOf: [
      {
        type: 'object',
        additionalProperties: false,
        required: ['data'],
        properties: { data: ref('Event'), duplicate: { const: true, description: 'A repeated deduper: the original event; nothing new is delivered.' } },
      },
      ref('Error'),
    ],
  },
  ReplayCreated: shape(
    { replay: { type: ['string', 'null'], description: 'Its id; null for a dry run.' }, count: INT, dry_run: { const: true } },
    'A replay that was started (or, with dry_run, only counted).',
    ['dry_run'],
  ),
  ReplayProgress: shape(
    { replay: STR, count: INT, queued: INT, delivered: INT, failed: { type: 'integer', description: 'Waiting for a retry.' }, dead: INT, done: BOOL },
    'How far a replay has got.',
  ),
  Health: {
    type: 'object',
    description: 'Liveness, the config in force and its last reload error, storage and backlog.',
    required: ['status'],
    properties: {
      status: { enum: ['ok', 'closing'] },
      version: STR,
      commit: STR,
      uptime_s: INT,
      durability: { enum: ['commit', 'fsync'] },
      config: {
        type: 'object',
        properties: {
          file: STR_OR_NULL,
          loaded_at: TIME_OR_NULL,
          last_reload_ok_at: TIME_OR_NULL,
          last_reload_error: { type: ['array', 'null'], items: STR, description: 'The problems of the last rejected reload, as `path: message`; null once a reload succeeds.' },
          last_reload_error_at: TIME_OR_NULL,
          applications: INT,
          actions: INT,
          subscriptions: INT,
          warnings: { type: 'array', items: STR },
        },
      },
      log: {
        type: 'object',
        description: 'The storage engine in force and its figures (for LMDB: file and live bytes, the data dir), and the open gists of each subscription.',
        required: ['engine'],
        properties: {
          engine: { enum: ['lmdb', 'nats'] },
          file_bytes: INT,
          live_bytes: INT,
          data: STR,
          durability: { enum: ['commit', 'fsync'] },
          backlog_by_subscription: { type: 'object', additionalProperties: INT },
          servers: { type: 'array', items: STR, description: 'NATS: the servers of the cluster this instance knows of.' },
          connected: {
            type: ['object', 'null'],
            description: 'NATS: the server this instance is connected to now (null while it reconnects).',
            properties: { server: STR, version: STR, cluster: { type: ['string', 'null'] } },
          },
          prefix: { ...STR, description: 'NATS: the prefix of the streams, consumers and bucket (server.nats.prefix).' },
          replicas: { ...INT, description: 'NATS: copies of every stream; a 201 waits for a majority.' },
          objects_revision: { ...INT, description: 'NATS: the revision of the API objects this instance has applied (equal on every instance once they agree).' },
          objects_corrections: { ...INT, description: "NATS: times this instance's mirror of the API objects was corrected from the bucket's leader (it held a write the leader did not have)." },
          events: {
            type: 'object',
            description: 'NATS: the events stream.',
            properties: {
              messages: INT,
              bytes: INT,
              leader: { type: ['string', 'null'], description: 'The server that leads the stream (null during an election).' },
              copies_checked: { ...INT, description: 'Retried writes this instance checked for a second copy since it started.' },
              copies_deleted: { ...INT, description: 'Second copies of a retried write that a server before 2.11 stored across an election, deleted by this instance since it started.' },
              copies_unchecked: { ...INT, description: 'Retried writes this instance could not check for a second copy (the cluster failed during the check).' },
            },
          },
          gists: { type: 'object', description: 'NATS: the gists stream.', properties: { messages: INT, bytes: INT } },
        },
      },
      storage: { type: 'object', properties: { file_bytes: INT, live_bytes: INT, data: STR, durability: { enum: ['commit', 'fsync'] } } },
      backlog: { ...INT, description: 'Open gists (pending or failed), in flight included.' },
      inflight: INT,
      subscriptions: {
        type: 'object',
        description: 'Subscriptions that need attention: paused, or with a circuit not closed.',
        additionalProperties: {
          type: 'object',
          properties: {
            paused: BOOL,
            paused_by: { enum: ['config', 'api', null] },
            circuit: { type: 'object', properties: { state: { enum: ['closed', 'open', 'half_open', 'off'] }, failures: INT, opened_at: TIME_OR_NULL, probe_at: TIME_OR_NULL } },
          },
        },
      },
      events: INT,
    },
  },
  PageMeta: shape(
    {
      total: INT,
      page: { type: 'integer', minimum: 1 },
      per_page: { type: 'integer', minimum: 1, maximum: 1000 },
      exact: { type: 'boolean', description: 'Present and false when `total` is a lower bound: the NATS engine stopped counting at its scan limit.' },
    },
    'Where a page sits.',
    ['exact'],
  ),
};

/** Every schema of `components.schemas`. The error schemas come from the registry (document.ts). */
export function componentSchemas(errorCodes: readonly string[]): Record<string, JsonSchema> {
  return {
    ...requests,
    ...responses,
    ErrorCode: { type: 'string', enum: [...errorCodes], description: 'The stable code of an expected failure; see the table in the description of the API.' },
    Error: shape(
      {
        error: { type: 'string', description: 'What went wrong, for people.' },
        code: { type: 'integer', description: 'The HTTP status.' },
        details: { type: 'object', description: 'Machine-readable particulars: `field` and `pointer` for a 400, `violations` for a 422, `results` for a rejected batch.' },
        error_code: ref('ErrorCode'),
      },
      'The error envelope of every answer that is not 2xx.',
    ),
  };
}

/**
 * The OpenAPI 3.1 document of amebo's HTTP API: served at `GET /openapi.json`, written to
 * `docs/openapi.json` by `npm run openapi`, and the source of the schemas the server validates request
 * bodies with. Plain data, built once and frozen.
 */
import { errorCatalog } from '../../errors.js';
// The package's version, not the build's VERSION (0.0.0-dev in tests), so the committed copy is stable.
import pkg from '../../../package.json' with { type: 'json' };
import { paths } from './paths.js';
import { componentSchemas, type JsonSchema } from './schemas.js';

const AUTH = `**Auth.** The admin token (\`AMEBO_ADMIN_TOKEN\`, or \`auth.admin_token\`) sent as \`Authorization: Bearer\`
allows everything. An application's secret, sent as \`Authorization: Bearer\` or as the body field \`secret\` (as
Amebo's clients do), allows only that application's own actions, events and subscriptions. With no admin
token configured, clients on loopback need no credentials. Credentials that are sent must be valid even
where none are needed.`;

const BODIES = `**Bodies.** JSON, accepted with \`application/json\`, with no content type, or with
\`application/x-www-form-urlencoded\` (curl's \`-d\` default); any other type is 415. Keys a body does not
define are refused with a 400 naming them. Answers are \`{"data": ...}\`; lists add
\`"meta": {"total", "page", "per_page"}\`; failures are \`{"error", "code", "details", "error_code"}\`.`;

function errorTable(): string {
  const rows = errorCatalog().map((e) => `| \`${e.code}\` | ${e.status} | ${e.message} |`);
  return ['**Error codes.**', '', '| error_code | status | meaning |', '|---|---|---|', ...rows].join('\n');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function build(): JsonSchema {
  const doc = {
    openapi: '3.1.0',
    info: {
      title: 'amebo',
      version: pkg.version,
      summary: 'A self-hosted HTTP event bus: validate, log durably, deliver signed webhooks, replay anything.',
      description: [AUTH, BODIES, errorTable()].join('\n\n'),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: 'http://127.0.0.1:3310', description: 'The default listen address of `amebo serve`.' }],
    security: [{ bearer: [] }, {}],
    tags: [
      { name: 'applications', description: 'Services that publish and receive events.' },
      { name: 'actions', description: 'Event types and their JSON Schemas.' },
      { name: 'subscriptions', description: 'Webhook handlers of applications for actions.' },
      { name: 'events', description: 'Publishing and reading the log.' },
      { name: 'gists', description: 'Deliveries: one event to one subscription, with every attempt.' },
      { name: 'replays', description: 'Delivering past events again.' },
      { name: 'stream', description: 'Live delivery outcomes.' },
      { name: 'operations', description: 'Health, metrics, config and this document.' },
    ],
    paths,
    components: {
      schemas: componentSchemas(errorCatalog().map((e) => e.code)),
      responses: {
        Error: {
          description: 'An expected failure; `error_code` says which.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: "The admin token, or an application's secret. Amebo's clients may send the secret as the body field `secret` instead.",
        },
      },
    },
  };
  // A JSON round trip keeps the served, the committed and the validating copies identical plain data.
  return deepFreeze(JSON.parse(JSON.stringify(doc)) as JsonSchema);
}

/** The document, as plain frozen JSON data. */
export const openApiDocument: JsonSchema = build();

/** The document as the text `/openapi.json` serves and `docs/openapi.json` holds. */
export function openApiText(): string {
  return `${JSON.stringify(openApiDocument, null, 2)}\n`;
}

/**
 * Request bodies are checked here, at the edge, against the schemas of the OpenAPI document
 * (openapi/document.ts), so what the document says is what the server does. Each failure is one
 * `AMEBO_ERR_VALIDATION` whose message names the field and whose details carry its path; keys a body
 * does not define are refused, never silently ignored. Semantic checks (does the action exist, may
 * this caller do it) stay in the routes and the core.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { amebo, type AmeboError } from '../errors.js';
import { openApiDocument } from './openapi/document.js';
import type { JsonSchema } from './openapi/schemas.js';

const DOC_ID = 'https://amebo.local/openapi.json';

interface BodyCheck {
  readonly required: boolean;
  readonly validate: ValidateFunction;
  /** The body's schema, for messages that list its keys. */
  readonly schema: JsonSchema;
}

/** `/v1/gists/{id}/replay` → `/v1/gists/:id/replay`, the router's spelling. */
export function routePattern(template: string): string {
  return template.replace(/\{([^}]+)\}/g, ':$1');
}

function compileAll(): Map<string, BodyCheck> {
  const ajv = new Ajv2020({ allErrors: false, verbose: true, strict: true, allowUnionTypes: true, validateSchema: false });
  ajv.addKeyword({ keyword: 'x-amebo-message', schemaType: 'string' });
  // The wrapper below is a schema only to hold the others; `components` itself checks nothing.
  ajv.addKeyword({ keyword: 'components', schemaType: 'object' });
  // The document's schemas under their own URI, so `#/components/schemas/X` refs resolve as written;
  // only the schemas that requests point at are compiled.
  ajv.addSchema({ $id: DOC_ID, components: openApiDocument['components'] }, DOC_ID);
  const checks = new Map<string, BodyCheck>();
  const paths = openApiDocument['paths'] as Record<string, Record<string, JsonSchema>>;
  const schemas = (openApiDocument['components'] as { schemas: Record<string, JsonSchema> }).schemas;
  for (const [template, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const body = op['requestBody'] as { required?: boolean; content: Record<string, { schema: { $ref: string } }> } | undefined;
      if (!body) continue;
      // JSON bodies, and an NDJSON stream's lines (each checked as it is read).
      const ref = (body.content['application/json'] ?? body.content['application/x-ndjson'])!.schema.$ref;
      const validate = ajv.compile({ $ref: `${DOC_ID}${ref}` });
      const schema = schemas[ref.slice(ref.lastIndexOf('/') + 1)]!;
      checks.set(`${method.toUpperCase()} ${routePattern(template)}`, { required: body.required === true, validate, schema });
    }
  }
  return checks;
}

let checks: Map<string, BodyCheck> | undefined;

/** The body checks by `METHOD /pattern`, compiled once per process on first use. */
function bodyChecks(): Map<string, BodyCheck> {
  checks ??= compileAll();
  return checks;
}

/** True when the document defines a request body for this route. */
export function hasBodySchema(method: string, pattern: string): boolean {
  return bodyChecks().has(`${method} ${pattern}`);
}

/**
 * Throws a 400 unless `body` is what the document says `method pattern` takes. Routes without a
 * request body in the document take none, so there is nothing to check.
 */
export function checkBody(method: string, pattern: string, body: unknown): void {
  const check = bodyChecks().get(`${method} ${pattern}`);
  if (!check || (body === undefined && !check.required)) return;
  if (check.validate(body)) return;
  throw toError(check.validate.errors?.[0], check.schema, `${method} ${pattern}`);
}

/** `/events/0/action` → `events.0.action`. */
function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

const join = (pointer: string, key: string): string => `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** `{"action", "payload", "deduper"?}`: the keys a body takes, for messages. */
function shapeOf(schema: JsonSchema | undefined): string {
  const properties = Object.keys((schema?.['properties'] as Record<string, unknown> | undefined) ?? {}).filter((k) => k !== 'secret');
  const required = new Set((schema?.['required'] as string[] | undefined) ?? []);
  return `{${properties.map((k) => `"${k}"${required.has(k) ? '' : '?'}`).join(', ')}}`;
}

function fieldError(pointer: string, message: string): AmeboError {
  const field = dotted(pointer);
  return amebo('AMEBO_ERR_VALIDATION', `"${field}" ${message}`, { field, pointer });
}

function toError(error: ErrorObject | undefined, root: JsonSchema, route: string): AmeboError {
  if (!error) return amebo('AMEBO_ERR_VALIDATION', `the request body does not match ${route}`);
  const where = error.parentSchema as JsonSchema | undefined;
  switch (error.keyword) {
    case 'required':
      return fieldError(join(error.instancePath, (error.params as { missingProperty: string }).missingProperty), 'is required');
    case 'additionalProperties': {
      const pointer = join(error.instancePath, (error.params as { additionalProperty: string }).additionalProperty);
      const field = dotted(pointer);
      const target = error.instancePath === '' ? route : `"${dotted(error.instancePath)}"`;
      return amebo('AMEBO_ERR_VALIDATION', `unknown field "${field}": ${target} takes ${shapeOf(where)}`, { field, pointer });
    }
    default:
      if (error.instancePath === '' && error.keyword === 'type') {
        return amebo('AMEBO_ERR_VALIDATION', `the request body must be a JSON object: ${shapeOf(root)}`);
      }
      return fieldError(error.instancePath, typeof where?.['x-amebo-message'] === 'string' ? where['x-amebo-message'] : (error.message ?? 'is not valid'));
  }
}

/**
 * The OpenAPI document (issue 13): served at /openapi.json without credentials, the same as the
 * committed docs/openapi.json, valid OpenAPI 3.1, describing exactly the routes the router serves, and
 * enforced on request bodies. (That every answer in the integration tests conforms to it is checked by
 * the daemon helper, test/helpers/openapi.ts; its positive controls are here.)
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { checkResponse } from '../helpers/openapi.js';
import { openApiDocument, openApiText } from '../../src/api/openapi/document.js';
import { hasBodySchema, routePattern } from '../../src/api/validate.js';

type Json = Record<string, unknown>;
const ADMIN = 'admin-token-for-openapi';
const SHOP = 'shop-secret-for-openapi';

let d: TestDaemon | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

async function daemon(): Promise<TestDaemon> {
  d = await startDaemon({
    yaml: `
auth: { admin_token: ${ADMIN} }
applications:
  shop: { address: "http://127.0.0.1:9", secret: ${SHOP} }
actions:
  order.placed: { application: shop, schemata: { type: object } }
`,
  });
  return d;
}

const admin = { authorization: `Bearer ${ADMIN}` };
const documented = (): string[] =>
  Object.entries(openApiDocument['paths'] as Record<string, Json>).flatMap(([template, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${routePattern(template)}`));

describe('the OpenAPI document', () => {
  it('is served at /openapi.json without credentials, and is docs/openapi.json as committed', async () => {
    const dm = await daemon();
    const res = await dm.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual(openApiDocument);
    // The committed copy is generated: `npm run openapi` after changing the API.
    expect(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')).toBe(openApiText());
  });

  it('describes every route the router serves, and nothing else', async () => {
    const dm = await daemon();
    const served = dm.routes.map((r) => `${r.method} ${r.pattern}`).sort();
    expect(served.length).toBeGreaterThan(20);
    expect(documented().sort()).toEqual(served);
    // Every route that reads a body has its schema, so no body goes unchecked.
    for (const r of dm.routes.filter((x) => x.method === 'POST' || x.method === 'PUT')) expect(hasBodySchema(r.method, r.pattern), `${r.method} ${r.pattern}`).toBe(true);
  });

  it('validates as OpenAPI 3.1 against the official schema, and its schemas as JSON Schema 2020-12', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(openApiDocument) as Json);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // Positive control: the same validator refuses a broken document.
    const broken = structuredClone(openApiDocument) as Json;
    (broken['paths'] as Json)['/health'] = { get: { responses: 'none' } };
    expect((await new Validator().validate(broken)).valid).toBe(false);

    const ajv = new Ajv2020({ strict: false });
    for (const [name, schema] of Object.entries((openApiDocument['components'] as { schemas: Json }).schemas)) {
      expect(ajv.validateSchema(schema as Json), `${name}: ${ajv.errorsText()}`).toBe(true);
    }
  });

  it('lists every error code of the registry with its status', () => {
    const description = (openApiDocument['info'] as { description: string }).description;
    for (const [code, status] of [['AMEBO_ERR_VALIDATION', 400], ['AMEBO_ERR_SCHEMA_INVALID', 422], ['AMEBO_ERR_STORAGE_FULL', 507]] as const) {
      expect(description).toContain(`| \`${code}\` | ${status} |`);
    }
  });

  it('catches answers it does not describe (positive controls of the conformance check)', () => {
    const event = { id: 1, action: 'a', payload: {}, deduper: null, timestamp: '2026-12-01T00:00:00.000Z', deliver_after: null };
    expect(checkResponse('GET', '/v1/events/1', 200, 'application/json', JSON.stringify({ data: event }))).toBeUndefined();
    expect(checkResponse('GET', '/v1/events/1', 200, 'application/json', JSON.stringify({ data: { ...event, id: 'one' } }))).toMatch(/id must be integer/);
    expect(checkResponse('GET', '/v1/events/1', 200, 'application/json', JSON.stringify({ data: { ...event, extra: 1 } }))).toMatch(/additional properties/);
    expect(checkResponse('GET', '/v1/events/1', 201, 'application/json', '{}')).toMatch(/does not list/);
    expect(checkResponse('GET', '/v1/events/1', 404, 'application/json', '{"error":"x","code":404,"details":{}}')).toMatch(/error_code/);
    expect(checkResponse('GET', '/nowhere', 404, 'application/json', '{"error":"x","code":404,"details":{},"error_code":"AMEBO_ERR_NOT_FOUND"}')).toBeUndefined();
    expect(checkResponse('DELETE', '/v1/subscriptions/s', 204, undefined, 'surprise')).toMatch(/no body/);
  });
});

describe('request bodies checked against the document', () => {
  it('refuses keys a body does not define, naming their path', async () => {
    const dm = await daemon();
    // Before issue 13 an unknown key (then `filter`, which is a key since issue 14) was silently ignored.
    const sub = await dm.request('POST', '/v1/subscriptions', { application: 'shop', action: 'order.placed', handler: '/h', priority: 'high' }, admin);
    expect(sub.status).toBe(400);
    expect(sub.body).toMatchObject({ error_code: 'AMEBO_ERR_VALIDATION', code: 400, details: { field: 'priority', pointer: '/priority' } });
    expect(sub.body.error).toMatch(/^unknown field "priority": POST \/v1\/subscriptions takes \{"application", "action", "handler", "subscription"\?/);
    expect((await dm.request('GET', '/v1/subscriptions', undefined, admin)).body.meta.total).toBe(0);

    const batch = await dm.request('POST', '/v1/events/batch', { events: [{ action: 'order.placed', payload: {} }, { action: 'order.placed', payload: {}, priority: 1 }] }, admin);
    expect(batch.status).toBe(400);
    expect(batch.body.details).toEqual({ field: 'events.1.priority', pointer: '/events/1/priority' });
    expect((await dm.request('GET', '/v1/events', undefined, admin)).body.meta.total).toBe(0);

    const put = await dm.request('PUT', '/v1/applications/shop', { adress: 'http://127.0.0.1:8' }, admin);
    expect(put.status).toBe(400);
    expect(put.body.error).toMatch(/unknown field "adress"/);
  });

  it('names the field and what it must be', async () => {
    const dm = await daemon();
    const cases: Array<[string, string, unknown, RegExp, string]> = [
      ['POST', '/v1/events', { action: 'order.placed' }, /^"payload" is required$/, 'payload'],
      ['POST', '/v1/events', { action: 'order.placed', payload: {}, deduper: '' }, /^"deduper" must be a string of 1 to 256 characters$/, 'deduper'],
      ['POST', '/v1/events/batch', { events: [] }, /^"events" must be a non-empty array of at most 10000 events$/, 'events'],
      ['POST', '/v1/events/batch', { events: [{ payload: 1 }] }, /^"events.0.action" is required$/, 'events.0.action'],
      ['POST', '/v1/subscriptions', { application: 'shop', action: 'order.placed', handler: '/h', max_retries: 1.5 }, /"max_retries" must be a whole number from 0 to 1000/, 'max_retries'],
      ['POST', '/v1/subscriptions', { application: 'shop', action: 'order.placed', handler: '/h', retry_4xx: 'yes' }, /"retry_4xx" must be true or false/, 'retry_4xx'],
      ['POST', '/v1/replays', { event: 0 }, /"event" must be an event id/, 'event'],
      ['POST', '/v1/actions', { action: 'a.b', application: 'shop', schemata: 5 }, /"schemata" must be a JSON Schema/, 'schemata'],
      ['POST', '/v1/applications', { application: 'x', address: 'ftp://x', secret: 'long-enough' }, /"address" must be an http\(s\) URL/, 'address'],
    ];
    for (const [method, path, body, message, field] of cases) {
      const res = await dm.request(method, path, body, admin);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error).toMatch(message);
      expect(res.body.details.field).toBe(field);
    }
  });

  it('keeps what Amebo clients send: `secret` in the body, nulls for left-out fields, schemata as JSON text or a boolean', async () => {
    const dm = await daemon();
    // The body secret authenticates: a wrong one is refused, it is not just tolerated.
    expect((await dm.request('POST', '/v1/events', { action: 'order.placed', payload: {}, secret: 'not-the-secret' })).status).toBe(401);
    const text = await dm.request('POST', '/v1/actions', { action: 'order.shipped', application: 'shop', schemata: '{"type":"object"}', secret: SHOP });
    expect(text.status).toBe(201);
    expect(text.body.data.schemata).toEqual({ type: 'object' });
    const bool = await dm.request('POST', '/v1/actions', { action: 'order.any', application: 'shop', schemata: true }, admin);
    expect(bool.status).toBe(201);
    const sub = await dm.request('POST', '/v1/subscriptions', { application: 'shop', action: 'order.placed', handler: '/h', subscription: null, max_retries: null, secret: SHOP });
    expect(sub.status).toBe(201);
    expect(sub.body.data.subscription).toBe('shop.order.placed');
    const pub = await dm.request('POST', '/v1/events', { action: 'order.placed', payload: { n: 1 }, deduper: null, sleep_until: null, secret: SHOP });
    expect(pub.status).toBe(201);
    expect((await dm.request('POST', `/v1/gists/1/replay`, { secret: SHOP })).status).toBe(202);
    expect((await dm.request('POST', '/v1/replays', undefined, admin)).status).toBe(202);
  });

  it('checks shape only after credentials, so a stranger learns nothing from a body', async () => {
    const dm = await daemon();
    const res = await dm.request('POST', '/v1/subscriptions', { nonsense: true });
    expect(res.status).toBe(401);
  });
});

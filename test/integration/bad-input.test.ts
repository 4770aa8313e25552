/** Every bad request ends in a precise 4xx with {error, code}, and the next valid request succeeds. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { yaml } from '../helpers/config.js';

let daemon: TestDaemon;
beforeAll(async () => {
  daemon = await startDaemon({ yaml: yaml({ subscriptions: {}, server: '  max_body: 64kb' }) });
});
afterAll(async () => {
  await daemon.close();
  cleanupTmp();
});

/** Sends raw bytes with an explicit content type. */
function raw(path: string, body: Buffer | string, contentType?: string, method = 'POST'): Promise<{ status: number; json: any }> {
  const u = new URL(path, daemon.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (contentType) headers['content-type'] = contentType;
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const deep = (n: number) => '{"action":"order.placed","payload":' + '['.repeat(n) + ']'.repeat(n) + '}';

const cases: Array<[string, () => Promise<{ status: number; json: any }>, number, RegExp]> = [
  ['malformed JSON', () => raw('/v1/events', '{"action": ', 'application/json'), 400, /not valid JSON/],
  ['invalid UTF-8', () => raw('/v1/events', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'application/json'), 400, /UTF-8/],
  ['a wrong content type', () => raw('/v1/events', '<xml/>', 'application/xml'), 415, /content type application\/xml/],
  ['a body over the limit', () => raw('/v1/events', JSON.stringify({ action: 'order.placed', payload: { x: 'a'.repeat(70_000) } }), 'application/json'), 413, /limit/],
  ['100k-deep nesting', () => raw('/v1/events', deep(100_000), 'application/json'), 413, /limit/],
  ['deep nesting under the size limit', () => raw('/v1/events', deep(1000), 'application/json'), 400, /nests deeper than 64/],
  ['a body that is not an object', () => raw('/v1/events', '[1,2]', 'application/json'), 400, /must be a JSON object/],
  ['a wrong type for action', () => raw('/v1/events', '{"action": 5, "payload": {}}', 'application/json'), 400, /"action" must be a non-empty string/],
  ['a missing payload', () => raw('/v1/events', '{"action": "order.placed"}', 'application/json'), 400, /"payload" is required/],
  ['an unknown action', () => raw('/v1/events', '{"action": "nope", "payload": {}}', 'application/json'), 404, /unknown action "nope"/],
  ['a schema violation', () => raw('/v1/events', '{"action": "order.placed", "payload": {"order_id": 7}}', 'application/json'), 422, /\/order_id must be string/],
  ['a negative sleep_until', () => raw('/v1/events', '{"action": "order.placed", "payload": {"order_id": "a"}, "sleep_until": -1}'), 400, /sleep_until/],
  ['absurd pagination', () => raw('/v1/events?per_page=1000000', '', undefined, 'GET'), 400, /per_page must be a whole number from 1 to 1000/],
  ['a negative page', () => raw('/v1/events?page=-1', '', undefined, 'GET'), 400, /page must be/],
  ['an unknown route', () => raw('/v1/nothing', '', undefined, 'GET'), 404, /no route/],
  ['a wrong method', () => raw('/v1/events', '', undefined, 'DELETE'), 405, /not allowed/],
  ['path traversal in an id', () => raw('/v1/gists/..%2F..%2Fetc%2Fpasswd', '', undefined, 'GET'), 404, /no gist/],
  ['a duplicate application', () => raw('/v1/applications', '{"application":"shop","address":"http://x.example","secret":"abcdefgh1"}'), 409, /managed by amebo.yaml/],
  ['a bad handler URL', () => raw('/v1/subscriptions', '{"application":"sink","action":"order.placed","handler":"ftp://x"}'), 400, /must use http or https/],
  ['an invalid schema', () => raw('/v1/actions', '{"action":"a.b","application":"shop","schemata":{"type":"nonsense"}}'), 400, /not a valid draft-07 JSON Schema/],
  ['a regex with no linear-time match', () => raw('/v1/actions', '{"action":"a.c","application":"shop","schemata":{"type":"string","pattern":"^(a+)\\\\1$"}}'), 400, /cannot run in linear time/],
  ['__proto__ keys', () => raw('/v1/events', '{"action":"order.placed","payload":{"order_id":"p","__proto__":{"polluted":true}}}'), 201, /./],
];

describe('bad input', () => {
  it.each(cases)('%s', async (_name, send, status, message) => {
    const res = await send();
    expect(res.status).toBe(status);
    if (status >= 400) {
      expect(res.json).toMatchObject({ code: status });
      expect(res.json.error).toMatch(message);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // The daemon keeps serving.
    const ok = await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'ok' } });
    expect(ok.status).toBe(201);
  });

  it('lists every violation with its JSON pointer', async () => {
    const res = await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 1, extra: true } });
    expect(res.status).toBe(422);
    expect(res.body.details.violations).toEqual([{ pointer: '/order_id', keyword: 'type', message: 'must be string' }]);
    const missing = await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: {} });
    expect(missing.body.details.violations[0]).toMatchObject({ pointer: '/order_id', keyword: 'required' });
  });

  it('commits a batch all together or not at all', async () => {
    const before = (await daemon.request('GET', '/v1/events')).body.meta.total;
    const bad = await daemon.request('POST', '/v1/events/batch', {
      events: [
        { action: 'order.placed', payload: { order_id: 'b1' } },
        { action: 'order.placed', payload: { order_id: 2 } },
      ],
    });
    expect(bad.status).toBe(422);
    expect(bad.body.details.results.map((r: { status: number }) => r.status)).toEqual([424, 422]);
    expect(bad.body.error).toBe('batch rejected: 1 of 2 events is invalid; nothing was stored');
    expect((await daemon.request('GET', '/v1/events')).body.meta.total).toBe(before);
    const good = await daemon.request('POST', '/v1/events/batch', {
      events: [
        { action: 'order.placed', payload: { order_id: 'b1' } },
        { action: 'order.placed', payload: { order_id: 'b2' } },
      ],
    });
    expect(good.status).toBe(201);
    expect(good.body.data.map((r: { status: number }) => r.status)).toEqual([201, 201]);
    expect((await daemon.request('GET', '/v1/events')).body.meta.total).toBe(before + 2);
  });
});

/**
 * Hostile and malformed input, part two (the simple rows are in test/integration/bad-input.test.ts).
 * Each row ends in a precise status with the `{error, code}` envelope, the daemon does not crash or
 * log an internal error, no prototype is polluted, and the next valid request succeeds. The daemon's
 * memory is sampled throughout and its peak reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { yaml } from '../helpers/config.js';
import { MiB, peakSampler, rawHttp, type RawResponse } from './support.js';

let daemon: TestDaemon;
let rss: ReturnType<typeof peakSampler>;
let baseline = 0;
const handled: string[] = [];

beforeAll(async () => {
  daemon = await startDaemon({ yaml: yaml({ subscriptions: {}, server: '  headers_timeout: 1s\n  request_timeout: 3s' }) });
  baseline = process.memoryUsage().rss;
  rss = peakSampler(() => process.memoryUsage().rss);
});

afterAll(async () => {
  const peak = rss.stop();
  console.log(
    `[reliability] bad-input (HTTP corpus): ${handled.length} / ${rows.length + EXTRA.length} cases handled; ` +
      `peak RSS ${(peak / MiB).toFixed(0)} MiB (baseline ${(baseline / MiB).toFixed(0)} MiB, in-process daemon + test runner)`,
  );
  await daemon.close();
  cleanupTmp();
});

/** A complete HTTP/1.1 request as text. */
function req(method: string, path: string, opts: { body?: string | Buffer; type?: string; headers?: string[] } = {}): Buffer {
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...(opts.headers ?? [])];
  if (opts.type !== undefined) lines.push(`Content-Type: ${opts.type}`);
  if (method !== 'GET') lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body]);
}

const send = (bytes: Buffer | string | ((s: Socket) => void), untilClose = false) => () => rawHttp(daemon.url, bytes, { untilClose });
const get = (path: string) => send(req('GET', path));
const post = (path: string, body: string | Buffer, type = 'application/json') => send(req('POST', path, { body, type }));
const event = (extra = '') => `{"action":"order.placed","payload":{"order_id":"x"${extra}}}`;
const action = (name: string, schemata: unknown) => JSON.stringify({ action: name, application: 'shop', schemata });

/** Streams `total` bytes of a chunked JSON body, stopping when the server stops reading. */
function chunkedFlood(total: number, sent: { bytes: number }): (s: Socket) => void {
  return (socket) => {
    socket.write('POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const pump = () => {
      while (sent.bytes < total && !socket.destroyed) {
        sent.bytes += chunk.length;
        if (!socket.write(frame)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  };
}

const flood = { bytes: 0 };
const FLOOD = 256 * MiB;
const headerLines = (n: number, size: number) => Array.from({ length: n }, (_, i) => `X-H${i}: ${'v'.repeat(size)}`);

/** Creates an API action with a safe schema, changes it to an ambiguous pattern, then publishes to it. */
async function putAmbiguous(): Promise<RawResponse> {
  const created = await rawHttp(daemon.url, req('POST', '/v1/actions', { type: 'application/json', body: action('re.put', { type: 'object' }) }));
  expect(created.status).toBe(201);
  const body = JSON.stringify({ schemata: { type: 'object', properties: { s: { pattern: '^((ab)*)+$' } } }, allow_breaking_changes: true });
  const changed = await rawHttp(daemon.url, req('PUT', '/v1/actions/re.put', { type: 'application/json', body }));
  expect(changed.status).toBe(200);
  return rawHttp(daemon.url, req('POST', '/v1/events', { type: 'application/json', body: JSON.stringify({ action: 're.put', payload: { s: `${'ab'.repeat(40)}a` } }) }));
}

/**
 * Creates an action whose pattern backtracks exponentially in a JavaScript engine, then publishes the
 * payload that would stall one. Every pattern runs on RE2, so the schema is accepted and the verdict
 * comes at once; a backtracking engine would not answer within the test's timeout.
 */
function ambiguous(name: string, schemata: unknown, payload: unknown): () => Promise<RawResponse> {
  return async () => {
    const created = await rawHttp(daemon.url, req('POST', '/v1/actions', { type: 'application/json', body: typeof schemata === 'string' ? schemata : action(name, schemata) }));
    expect(created.status).toBe(201);
    return rawHttp(daemon.url, req('POST', '/v1/events', { type: 'application/json', body: JSON.stringify({ action: name, payload }) }));
  };
}
const evil = (unit: string, n = 40, tail = '!') => `${unit.repeat(n)}${tail}`;

/** Cases outside the table, each its own test below. */
const EXTRA = ['slowloris (headers)', 'slow body'] as const;

type Row = readonly [name: string, send: () => Promise<RawResponse>, status: number, message: RegExp];

const rows: readonly Row[] = [
  // Bodies over the limit (1 MiB), without the help of a Content-Length.
  ['a chunked body far over the limit (256 MiB offered)', send(chunkedFlood(FLOOD, flood), true), 413, /larger than the limit of 1048576 bytes/],
  ['a declared Content-Length of 10 GB with no body', send('POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n'), 413, /10000000000 bytes; the limit is 1048576/],
  ['a batch of 10,001 events', post('/v1/events/batch', `{"events":[${Array(10_001).fill('{"action":"order.placed","payload":{"order_id":"b"}}').join(',')}]}`), 400, /at most 10000 events/],
  // Nesting: 100k levels fit under the size limit here, so the depth check must catch them.
  ['100k-deep arrays under the size limit', post('/v1/events', `{"action":"order.placed","payload":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), 400, /nests deeper than 64 levels/],
  ['100k-deep objects under the size limit', post('/v1/events', `{"action":"order.placed","payload":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`), 400, /nests deeper than 64 levels/],
  ['brackets inside a string are not nesting', post('/v1/events', event(`,"note":"${'[{'.repeat(50_000)}"`)), 201, /./],
  // Prototype keys: stored as data, never merged into anything; a top-level one is a key the body does not define.
  ['a top-level __proto__ carrying a secret', post('/v1/events', `{"__proto__":{"secret":"shop-secret-123","polluted":1},"action":"order.placed","payload":{"order_id":"p"}}`), 400, /unknown field "__proto__": POST \/v1\/events takes/],
  ['constructor.prototype in a payload', post('/v1/events', event(',"constructor":{"prototype":{"polluted":1}},"__proto__":{"polluted":1}')), 201, /./],
  ['an application named constructor', post('/v1/applications', '{"application":"constructor","address":"http://127.0.0.1:9","secret":"ctor-secret-123"}'), 201, /./],
  ['reading an inherited name: /v1/applications/toString', get('/v1/applications/toString'), 404, /no application named toString/],
  ['reading an inherited name: /v1/actions/hasOwnProperty', get('/v1/actions/hasOwnProperty'), 404, /no action named hasOwnProperty/],
  ['reading an inherited name: /v1/subscriptions/__proto__', get('/v1/subscriptions/__proto__'), 404, /no subscription named __proto__/],
  ['reading an inherited name: /v1/replays/constructor', get('/v1/replays/constructor'), 404, /no replay constructor/],
  ['an application named __proto__', post('/v1/applications', '{"application":"__proto__","address":"http://127.0.0.1:9","secret":"proto-secret-123"}'), 400, /"application" must be a name/],
  // Invalid UTF-8 beyond a stray 0xFF.
  ['an overlong UTF-8 encoding', post('/v1/events', Buffer.concat([Buffer.from(event().slice(0, -3)), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')])), 400, /not valid UTF-8/],
  ['a UTF-8-encoded lone surrogate', post('/v1/events', Buffer.concat([Buffer.from(event().slice(0, -3)), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}')])), 400, /not valid UTF-8/],
  ['a truncated multi-byte sequence at the end', post('/v1/events', Buffer.concat([Buffer.from(event()), Buffer.from([0xe2, 0x82])])), 400, /not valid UTF-8/],
  ['invalid UTF-8 percent-encoded in a path id', get('/v1/gists/%ff%fe'), 404, /no route for GET \/v1\/gists\/%ff%fe/],
  ['an escaped lone surrogate (valid JSON text)', post('/v1/events', event(',"s":"\\ud800"')), 201, /./],
  // Content types.
  ['multipart/form-data', post('/v1/events', '--x\r\n\r\n--x--', 'multipart/form-data; boundary=x'), 415, /content type multipart\/form-data is not supported/],
  ['application/octet-stream', post('/v1/events', event(), 'application/octet-stream'), 415, /content type application\/octet-stream is not supported/],
  ['a form-encoded body that is not JSON', post('/v1/events', 'action=order.placed&payload=1', 'application/x-www-form-urlencoded'), 400, /not valid JSON/],
  ['a wrong content type on PUT', send(req('PUT', '/v1/applications/shop', { body: '<app/>', type: 'text/xml' })), 415, /content type text\/xml/],
  // Absurd pagination and filters.
  ['page past the maximum', get('/v1/events?page=1000001'), 400, /page must be a whole number from 1 to 1000000/],
  ['page with 30 digits', get('/v1/events?page=999999999999999999999999999999'), 400, /page must be a whole number/],
  ['per_page=0', get('/v1/gists?per_page=0'), 400, /per_page must be a whole number from 1 to 1000/],
  ['per_page in exponent form', get('/v1/events?per_page=1e3'), 400, /per_page must be a whole number/],
  ['a fractional page', get('/v1/subscriptions?page=1.5'), 400, /page must be a whole number/],
  ['page=0 on actions', get('/v1/actions?page=0'), 400, /page must be a whole number from 1/],
  ['the last page of the largest range', get('/v1/events?page=1000000&per_page=1000'), 200, /./],
  ['a time that is not a time', get('/v1/events?from=yesterday'), 400, /from must be an ISO 8601 time/],
  ['an unknown order', get('/v1/events?order=sideways'), 400, /order must be asc or desc/],
  ['an unknown gist state', get('/v1/gists?state=zombie'), 400, /state must be pending, delivered, failed or dead/],
  ['an event filter that is not an id', get('/v1/gists?event=1e5'), 400, /event must be an event id/],
  // Path traversal in ids.
  ['/v1/gists/..%2F..', get('/v1/gists/..%2F..'), 404, /no gist with id "..\/.."/],
  // WHATWG URL parsing reads %2e%2e as a dot segment: the path collapses to /v1/, inside the API.
  ['/v1/events/%2e%2e', get('/v1/events/%2e%2e'), 404, /no route for GET \/v1\/$/],
  ['/v1/events/1%00', get('/v1/events/1%00'), 404, /no event with id/],
  ['/v1/applications/..%2F..%2Fetc%2Fpasswd', get('/v1/applications/..%2F..%2Fetc%2Fpasswd'), 404, /no application named \.\.\/\.\.\/etc\/passwd/],
  ['/v1/actions/..%5C..%5Cwindows', get('/v1/actions/..%5C..%5Cwindows'), 404, /no action named/],
  ['/v1/subscriptions/%2e%2e%2f%2e%2e%2fdata', get('/v1/subscriptions/%2e%2e%2f%2e%2e%2fdata'), 404, /no subscription named \.\.\/\.\.\/data/],
  ['/v1/replays/..%2F..%2Fpackage.json', get('/v1/replays/..%2F..%2Fpackage.json'), 404, /no replay/],
  ['POST /v1/gists/..%2F1/replay', post('/v1/gists/..%2F1/replay', ''), 404, /no gist with id/],
  // Header floods and malformed HTTP: node's parser limits, answered by the server's clientError.
  ['one 20 KiB header', send(req('GET', '/health', { headers: [`X-Big: ${'b'.repeat(20 * 1024)}`] })), 431, /request headers are too large/],
  ['2000 headers (over 16 KiB in all)', send(req('GET', '/health', { headers: headerLines(2000, 8) })), 431, /request headers are too large/],
  ['a 20 KiB URL', get(`/v1/events?action=${'a'.repeat(20 * 1024)}`), 431, /request headers are too large/],
  ['Content-Length and Transfer-Encoding together', send('POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), 400, /malformed HTTP request/],
  ['two different Content-Lengths', send('POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'), 400, /malformed HTTP request/],
  ['a NUL byte in a header value', send('GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n'), 400, /malformed HTTP request/],
  ['a garbage request line', send('HELLO THERE\r\n\r\n'), 400, /malformed HTTP request/],
  ['a Basic Authorization header', send(req('GET', '/v1/events', { headers: ['Authorization: Basic c2hvcDpzZWNyZXQ='] })), 401, /Authorization must be "Bearer <token>"/],
  ['a 10 KiB bearer token', send(req('GET', '/v1/events', { headers: [`Authorization: Bearer ${'t'.repeat(10 * 1024)}`] })), 401, /not the admin token or any application secret/],
  // Patterns that backtrack exponentially in JavaScript are accepted (they run on RE2) and answer at once.
  ['a nested star in pattern', ambiguous('re.a', { type: 'string', pattern: '^(a*)*b$' }, evil('a')), 422, /must match pattern/],
  ['the classic e-mail ReDoS', ambiguous('re.b', { type: 'string', pattern: '^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$' }, evil('a')), 422, /must match pattern/],
  ['a patternProperties key', ambiguous('re.c', { type: 'object', patternProperties: { '^(\\w+\\s?)*$': { type: 'string' } } }, { [evil('a')]: 1, ab: 'x' }), 201, /./],
  ['a patternProperties key that matches', ambiguous('re.c2', { type: 'object', patternProperties: { '^(\\w+\\s?)*$': { type: 'string' } } }, { [evil('a ', 40, '')]: 1 }), 422, /must be string/],
  ['propertyNames.pattern', ambiguous('re.d', { type: 'object', propertyNames: { pattern: '^([a-z]+)+$' } }, { [evil('a', 40, '1')]: 1 }), 422, /property name must be valid/],
  ['a pattern deep in $defs under draft 2020-12', ambiguous('re.e', { $schema: 'https://json-schema.org/draft/2020-12/schema', $ref: '#/$defs/x', $defs: { x: { anyOf: [{ items: { pattern: '^(x+x+)+y$' } }] } } }, [evil('x')]), 422, /must match pattern/],
  ['schemata as JSON text', ambiguous('re.f', JSON.stringify({ action: 're.f', application: 'shop', schemata: JSON.stringify({ pattern: '^(.*a)*z$' }) }), evil('a')), 422, /must match pattern/],
  ['changing a schema to one (PUT)', putAmbiguous, 422, /\/s must match pattern/],
  ['a backreference (no linear-time match exists)', post('/v1/actions', action('re.h', { type: 'string', pattern: '^(a)\\1$' })), 400, /cannot run in linear time: the backreference \\1 needs backtracking/],
  ['a lookahead (no linear-time match exists)', post('/v1/actions', action('re.h2', { type: 'string', pattern: '^(?=a)' })), 400, /cannot run in linear time: the lookahead/],
  ['a pattern that is not a regular expression', post('/v1/actions', action('re.h3', { type: 'string', pattern: '^[a-' })), 400, /is not a valid regular expression/],
  // A property named __proto__ is checked like any other (ajv alone skips it).
  ['a property named __proto__ of the wrong type', ambiguous('re.i', { type: 'object', properties: { ['__proto__']: { type: 'string' } }, required: ['__proto__'] }, JSON.parse('{"__proto__": 5}')), 422, /\/__proto__ must be string/],
  ['a required __proto__ that is missing', ambiguous('re.j', { type: 'object', properties: { ['__proto__']: { type: 'string' } }, required: ['__proto__'] }, {}), 422, /must have required property '__proto__'/],
  ['a property named __proto__ that is right', ambiguous('re.k', { type: 'object', properties: { ['__proto__']: { type: 'string' } }, required: ['__proto__'] }, JSON.parse('{"__proto__": "x"}')), 201, /./],
];

describe('bad input, part two', () => {
  it.each(rows)('%s', async (name, sendIt, status, message) => {
    const res = await sendIt();
    expect(res.status).toBe(status);
    if (status >= 400) {
      expect(res.json).toMatchObject({ code: status });
      expect(res.json.error).toMatch(message);
    } else {
      expect(res.json?.data).toBeDefined();
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('secret');
    // Still serving, and no internal error was logged.
    const ok = await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'ok' } });
    expect(ok.status).toBe(201);
    expect(daemon.logs.filter((l) => (l['level'] as number) >= 50)).toEqual([]);
    handled.push(name);
  });

  it('stops reading a flood at the limit instead of buffering it', () => {
    // The 256 MiB chunked row above: the server must have stopped reading long before the end.
    expect(flood.bytes).toBeGreaterThan(MiB);
    expect(flood.bytes).toBeLessThan(FLOOD / 8);
  });

  it('closes a slowloris connection after headers_timeout (1s) and serves others meanwhile', async () => {
    const started = Date.now();
    let ticks = 0;
    const slow = rawHttp(
      daemon.url,
      (socket) => {
        socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        const header = `X-Slow: ${'z'.repeat(100)}`;
        // One byte a second: each byte resets no timer, so only headersTimeout can end this.
        const timer = setInterval(() => {
          if (socket.destroyed) return clearInterval(timer);
          socket.write(header[ticks++ % header.length]!);
        }, 1000);
        socket.on('close', () => clearInterval(timer));
      },
      { timeoutMs: 20_000, untilClose: true },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await daemon.request('GET', '/health')).status).toBe(200);
    const res = await slow;
    const elapsed = Date.now() - started;
    expect(res.status).toBe(408);
    expect(res.json).toMatchObject({ code: 408, error: 'request timed out' });
    // headers_timeout is 1s; allow for the server's checking interval, not node's 30 s default.
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(4_000);
    handled.push('slowloris (headers)');
  });

  it('closes a request whose body trickles past request_timeout (3s)', async () => {
    const started = Date.now();
    const slow = rawHttp(
      daemon.url,
      (socket) => {
        socket.write('POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
        const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(' ')), 250);
        socket.on('close', () => clearInterval(timer));
      },
      { timeoutMs: 20_000, untilClose: true },
    );
    expect((await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'meanwhile' } })).status).toBe(201);
    const res = await slow;
    const elapsed = Date.now() - started;
    expect(res.status).toBe(408);
    expect(elapsed).toBeGreaterThanOrEqual(2_900);
    expect(elapsed).toBeLessThan(7_000);
    handled.push('slow body');
  });

  it('keeps memory bounded over the whole corpus', () => {
    // Generous: the flood alone would add 256 MiB if it were buffered.
    expect(rss.sample()).toBeGreaterThan(0);
    expect(rss.peak - baseline).toBeLessThan(192 * MiB);
  });

  it('matches every pattern in linear time, so an ambiguous one cannot stall the daemon', async () => {
    // ^(a|aa)+$ has star height 1, so the static check lets it through; a backtracking engine takes
    // seconds on 41 a's and a '!', and doubles with each further character. RE2 does not care.
    const created = await post('/v1/actions', action('re.linear', { type: 'object', properties: { s: { type: 'string', pattern: '^(a|aa)+$' } } }))();
    expect(created.status).toBe(201);
    const started = Date.now();
    const evil = await post('/v1/events', JSON.stringify({ action: 're.linear', payload: { s: `${'a'.repeat(20_000)}!` } }))();
    expect(evil.status).toBe(422);
    expect(evil.json.details.violations[0]).toMatchObject({ pointer: '/s', keyword: 'pattern' });
    // Exponential backtracking on 20,000 characters would not finish in the lifetime of the test run.
    expect(Date.now() - started).toBeLessThan(10_000);
    const ok = await post('/v1/events', JSON.stringify({ action: 're.linear', payload: { s: 'aaaa' } }))();
    expect(ok.status).toBe(201);
  });
});


import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AmeboClient } from '../../src/client/api.js';
import { buildUrl, parseBaseUrl } from '../../src/client/http.js';
import { sendJson, startStub, type Stub } from './cli-stub.js';

let stub: Stub | undefined;
let client: AmeboClient | undefined;
afterEach(async () => {
  await client?.close();
  await stub?.close();
  client = stub = undefined;
});

/** A port on which nothing listens. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('AmeboClient', () => {
  it('sends the bearer token and JSON, and unwraps data', async () => {
    stub = await startStub((req, res) =>
      sendJson(res, 201, { data: { id: 1, action: 'a', payload: req.json, deduper: null, timestamp: 't', deliver_after: null } }),
    );
    client = new AmeboClient({ url: stub.url, token: 's3cret' });
    const r = await client.publish({ action: 'a', payload: { x: 1 }, deduper: 'k' });
    expect(r).toMatchObject({ duplicate: false, event: { id: 1 } });
    const seen = stub.requests[0];
    expect(seen?.method).toBe('POST');
    expect(seen?.url).toBe('/v1/events');
    expect(seen?.headers['authorization']).toBe('Bearer s3cret');
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(seen?.json).toEqual({ action: 'a', payload: { x: 1 }, deduper: 'k' });
  });

  it('reports a deduper repeat (200) as a duplicate', async () => {
    stub = await startStub((_req, res) => sendJson(res, 200, { data: { id: 9 } }));
    client = new AmeboClient({ url: stub.url });
    expect((await client.publish({ action: 'a', payload: {} })).duplicate).toBe(true);
    expect(stub.requests[0]?.headers['authorization']).toBeUndefined();
  });

  it('keeps a path prefix of --url and drops empty query values', async () => {
    stub = await startStub((_req, res) => sendJson(res, 200, { data: [], meta: { total: 0, page: 1, per_page: 50 } }));
    client = new AmeboClient({ url: `${stub.url}/amebo/` });
    await client.listGists({ state: 'dead', subscription: undefined, page: 2 });
    expect(stub.requests[0]?.url).toBe('/amebo/v1/gists?state=dead&page=2');
  });

  it('turns an error body into the registry error it names, with details', async () => {
    stub = await startStub((_req, res) =>
      sendJson(res, 422, {
        error: 'payload does not match the schema of user.created',
        code: 422,
        error_code: 'AMEBO_ERR_SCHEMA_INVALID',
        details: { violations: [{ pointer: '/email', keyword: 'format', message: 'must match format "email"' }] },
      }),
    );
    client = new AmeboClient({ url: stub.url });
    await expect(client.publish({ action: 'user.created', payload: {} })).rejects.toMatchObject({
      code: 'AMEBO_ERR_SCHEMA_INVALID',
      exit: 1,
      message: 'payload does not match the schema of user.created',
      details: { violations: [{ pointer: '/email' }], http_status: 422 },
    });
  });

  it('falls back on the HTTP status when the body names no known code', async () => {
    stub = await startStub((req, res) => {
      if (req.url.startsWith('/v1/gists')) sendJson(res, 404, { error: 'gist 5 not found', code: 404 });
      else {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<h1>Bad Gateway</h1>');
      }
    });
    client = new AmeboClient({ url: stub.url });
    await expect(client.getGist(5)).rejects.toMatchObject({ code: 'AMEBO_ERR_NOT_FOUND', message: 'gist 5 not found' });
    await expect(client.getEvent(5)).rejects.toMatchObject({ code: 'AMEBO_ERR_INTERNAL', message: 'HTTP 502: <h1>Bad Gateway</h1>' });
  });

  it('says a refused connection is unreachable and names the URL', async () => {
    const port = await deadPort();
    client = new AmeboClient({ url: `http://127.0.0.1:${port}` });
    const err = await client.health().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'AMEBO_ERR_UNAVAILABLE', exit: 1 });
    expect((err as Error).message).toBe(`cannot reach amebo at http://127.0.0.1:${port}: connection refused (is \`amebo serve\` running?)`);
  });

  it('refuses an answer that is not amebo-shaped', async () => {
    stub = await startStub((_req, res) => sendJson(res, 200, { hello: 'world' }));
    client = new AmeboClient({ url: stub.url });
    await expect(client.health()).rejects.toMatchObject({ code: 'AMEBO_ERR_INTERNAL' });
  });
});

describe('URLs', () => {
  it('rejects a bad --url as a usage error', () => {
    expect(() => parseBaseUrl('localhost:3310')).toThrow(/must start with http/);
    expect(() => parseBaseUrl('not a url')).toThrow(/not a valid URL/);
    expect(() => new AmeboClient({ url: '::' })).toThrow(expect.objectContaining({ exit: 2 }));
  });

  it('joins paths and queries', () => {
    expect(buildUrl(new URL('http://h:1/x/'), '/v1/events', { action: 'a b', page: 1, failed: false }).href).toBe(
      'http://h:1/x/v1/events?action=a+b&page=1',
    );
  });
});

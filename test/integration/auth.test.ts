/** Auth exactly as the contract says: open on loopback without a token, the admin token, app secrets. */
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { yaml } from '../helpers/config.js';
import { createAmebo } from '../../src/amebo.js';
import { createHttpServer } from '../../src/api/server.js';
import { Writable } from 'node:stream';

let daemon: TestDaemon | undefined;
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  cleanupTmp();
});

const ADMIN = 'admin-token-0123456789abcdef';
const order = { action: 'order.placed', payload: { order_id: 'o1' } };

describe('auth', () => {
  it('serves loopback clients without credentials when no admin token is set', async () => {
    daemon = await startDaemon({ yaml: yaml({ subscriptions: {} }) });
    expect((await daemon.request('POST', '/v1/events', order)).status).toBe(201);
    expect((await daemon.request('GET', '/v1/applications')).status).toBe(200);
    // A presented but wrong credential is refused even there.
    expect((await daemon.request('GET', '/v1/events', undefined, { authorization: 'Bearer wrong-token' })).status).toBe(401);
  });

  it('refuses to listen on a non-loopback address without an admin token', async () => {
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const core = await createAmebo({ configFile: null, listen: '0.0.0.0:0', data: `${daemonDir()}/data`, env: {}, logDestination: sink });
    try {
      await expect(createHttpServer(core).listen()).rejects.toMatchObject({ code: 'AMEBO_ERR_CONFIG', message: expect.stringMatching(/refusing to listen on 0\.0\.0\.0/) });
    } finally {
      await core.close();
    }
  });

  it('requires the admin token or a secret once an admin token is set', async () => {
    daemon = await startDaemon({ yaml: yaml({ subscriptions: {} }), env: { AMEBO_ADMIN_TOKEN: ADMIN } });
    const none = await daemon.request('POST', '/v1/events', order);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 401, error_code: 'AMEBO_ERR_UNAUTHORIZED' });
    expect((await daemon.request('POST', '/v1/events', order, { authorization: `Bearer ${ADMIN}` })).status).toBe(201);
    expect((await daemon.request('POST', '/v1/applications', { application: 'x', address: 'http://x.example', secret: 'x-secret-123' }, { authorization: `Bearer ${ADMIN}` })).status).toBe(201);
    // Health and metrics stay open for probes and scrapers.
    expect((await daemon.request('GET', '/health')).status).toBe(200);
    expect((await daemon.request('GET', '/metrics')).status).toBe(200);
  });

  it("limits an application's secret to its own actions, events and subscriptions", async () => {
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { s: { handler: 'http://127.0.0.1:9/h' } } }), env: { AMEBO_ADMIN_TOKEN: ADMIN } });
    const shop = { authorization: 'Bearer shop-secret-123' };
    const sink = { authorization: 'Bearer sink-secret-123' };
    // The owner publishes; Amebo's clients may also send the secret in the body.
    expect((await daemon.request('POST', '/v1/events', order, shop)).status).toBe(201);
    expect((await daemon.request('POST', '/v1/events', { ...order, secret: 'shop-secret-123' })).status).toBe(201);
    // Another application may not publish it.
    const forbidden = await daemon.request('POST', '/v1/events', order, sink);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toMatch(/sink may not publish order\.placed/);
    // Nor register applications, nor subscribe on behalf of others.
    expect((await daemon.request('POST', '/v1/applications', { application: 'y', address: 'http://y.example', secret: 'y-secret-123' }, shop)).status).toBe(403);
    expect((await daemon.request('POST', '/v1/subscriptions', { application: 'sink', action: 'order.placed', handler: 'http://127.0.0.1:9/x' }, shop)).status).toBe(403);
    // Reads are narrowed to what it owns.
    expect((await daemon.request('GET', '/v1/events', undefined, sink)).body.meta.total).toBe(0);
    expect((await daemon.request('GET', '/v1/events', undefined, shop)).body.meta.total).toBe(2);
    expect((await daemon.request('GET', '/v1/subscriptions', undefined, sink)).body.meta.total).toBe(1);
    expect((await daemon.request('GET', '/v1/subscriptions', undefined, shop)).body.meta.total).toBe(0);
    expect((await daemon.request('GET', '/v1/events/1', undefined, sink)).status).toBe(404);
  });

  it("shows a replay's progress only to the application that started it", async () => {
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { s: { handler: 'http://127.0.0.1:9/h' } } }), env: { AMEBO_ADMIN_TOKEN: ADMIN } });
    const sink = { authorization: 'Bearer sink-secret-123' };
    const started = await daemon.request('POST', '/v1/replays', { dry_run: false }, sink);
    expect(started.status).toBe(202);
    const id = started.body.data.replay;
    expect((await daemon.request('GET', `/v1/replays/${id}`, undefined, sink)).status).toBe(200);
    expect((await daemon.request('GET', `/v1/replays/${id}`, undefined, { authorization: 'Bearer shop-secret-123' })).status).toBe(404);
    expect((await daemon.request('GET', `/v1/replays/${id}`, undefined, { authorization: `Bearer ${ADMIN}` })).status).toBe(200);
  });

  it('never returns or logs a secret', async () => {
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { s: { handler: 'http://127.0.0.1:9/h' } } }), env: { AMEBO_ADMIN_TOKEN: ADMIN } });
    const h = { authorization: `Bearer ${ADMIN}` };
    await daemon.request('POST', '/v1/applications', { application: 'api-app', address: 'http://a.example', secret: 'api-app-secret-xyz' }, h);
    await daemon.request('POST', '/v1/events', { ...order, secret: 'shop-secret-123' });
    await daemon.request('GET', '/v1/events', undefined, { authorization: 'Bearer not-a-real-secret-999' });
    const bodies = [
      await daemon.request('GET', '/v1/applications', undefined, h),
      await daemon.request('GET', '/v1/applications/api-app', undefined, h),
      await daemon.request('GET', '/v1/applications/shop', undefined, h),
      await daemon.request('GET', '/health'),
      await daemon.request('GET', '/metrics'),
      await daemon.request('GET', '/v1/subscriptions', undefined, h),
    ].map((r) => r.text);
    for (const secret of ['api-app-secret-xyz', 'shop-secret-123', 'sink-secret-123', ADMIN, 'not-a-real-secret-999']) {
      for (const text of bodies) expect(text).not.toContain(secret);
      expect(daemon.logText()).not.toContain(secret);
    }
  });
});

function daemonDir(): string {
  return `/tmp/amebo-auth-${process.pid}-${Date.now()}`;
}

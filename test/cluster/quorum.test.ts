/**
 * A cluster without quorum: with two of three nodes down, publishes and API writes answer 503 with
 * Retry-After (never 500) once `publish_timeout` has run out, reads of what is stored keep answering
 * or answer 503 too, and once a node is back everything acknowledged before is still there and new
 * publishes succeed again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startNatsServers, type NatsServers } from '../helpers/nats-servers.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';

describe('a NATS cluster that loses its quorum', () => {
  let nats: NatsServers;
  let amebo: TestDaemon;

  beforeAll(async () => {
    nats = await startNatsServers(3);
    amebo = await startDaemon({
      yaml: `server:
  log: ${nats.urls}
  nats: { prefix: quorum, publish_timeout: 2s, request_timeout: 1s }
applications:
  shop: { address: http://127.0.0.1:9, secret: shop-secret-123 }
actions:
  order.placed: { application: shop, schemata: { type: object } }
`,
    });
  }, 60_000);

  afterAll(async () => {
    await amebo?.close();
    await nats?.close();
    cleanupTmp();
  });

  it('answers 503 with Retry-After while it has none, and loses nothing acknowledged', async () => {
    const before: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await amebo.request('POST', '/v1/events', { action: 'order.placed', payload: { i } });
      expect(r.status).toBe(201);
      before.push(r.body.data.id as number);
    }
    await nats.kill('n2');
    await nats.kill('n3');

    const during = await amebo.request('POST', '/v1/events', { action: 'order.placed', payload: { during: true } });
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).not.toBeNull();
    expect(during.body).toMatchObject({ code: 503, error_code: 'AMEBO_ERR_LOG_UNAVAILABLE' });
    const write = await amebo.request('POST', '/v1/applications', { application: 'later', address: 'http://127.0.0.1:9', secret: 'later-secret-1234' });
    expect(write.status).toBe(503);
    const read = await amebo.request('GET', `/v1/events/${before[0]}`);
    expect([200, 503]).toContain(read.status);
    const list = await amebo.request('GET', '/v1/events');
    expect([200, 503]).toContain(list.status);

    await nats.restart('n2');
    await eventually(async () => {
      const r = await amebo.request('POST', '/v1/events', { action: 'order.placed', payload: { after: true } });
      expect(r.status).toBe(201);
    }, 30_000, 250);
    for (const id of before) expect((await amebo.request('GET', `/v1/events/${id}`)).status).toBe(200);
    await nats.restart('n3');
  }, 90_000);
});

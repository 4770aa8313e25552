/**
 * The original Amebo microservices example (shared/seeds/microservices.md), run unchanged: the same
 * request bodies sent the way `curl -d` sends them (no JSON content type), the same publishes, and
 * handlers that read event['action'] and event['payload'].
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createHmac } from 'node:crypto';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';

let daemon: TestDaemon;
const receivers: Receiver[] = [];

afterEach(async () => {
  await daemon?.close();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  cleanupTmp();
});

/** What `curl -X POST URL -d '...'` sends: a form content type with a JSON body. */
async function curl(path: string, body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${daemon.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  return { status: res.status, json: await res.json() };
}

describe('the seed microservices flow', () => {
  it('registers services, subscribes handlers and delivers user.created and order.placed', async () => {
    daemon = await startDaemon();
    const email = await startReceiver();
    const analytics = await startReceiver();
    receivers.push(email, analytics);

    // Register user service and define user events (verbatim bodies from the seed).
    expect((await curl('/v1/applications', `{
    "application": "user-service",
    "address": "https://users.myapp.com",
    "secret": "user-service-secret"
  }`)).status).toBe(201);
    expect((await curl('/v1/actions', `{
    "action": "user.created",
    "application": "user-service",
    "schemata": {
      "type": "object",
      "properties": {
        "user_id": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string"},
        "plan": {"type": "string", "enum": ["free", "premium"]}
      },
      "required": ["user_id", "email", "name"]
    }
  }`)).status).toBe(201);
    expect((await curl('/v1/applications', `{
    "application": "order-service",
    "address": "https://orders.myapp.com",
    "secret": "order-service-secret"
  }`)).status).toBe(201);
    expect((await curl('/v1/actions', `{
    "action": "order.placed",
    "application": "order-service",
    "schemata": {
      "type": "object",
      "properties": {
        "order_id": {"type": "string"},
        "user_id": {"type": "string"},
        "items": {"type": "array"},
        "total": {"type": "number"},
        "currency": {"type": "string"}
      },
      "required": ["order_id", "user_id", "items", "total"]
    }
  }`)).status).toBe(201);

    // The seed's subscriptions, with the handler hosts pointed at loopback receivers.
    const welcome = await curl('/v1/subscriptions', JSON.stringify({
      application: 'email-service', subscription: 'welcome-emails', action: 'user.created', handler: `${email.url}/webhooks/user-created`,
    }));
    expect(welcome.status).toBe(201);
    expect(welcome.json.warnings[0]).toMatch(/placeholder/);
    for (const [subscription, action] of [['user-analytics', 'user.created'], ['order-analytics', 'order.placed']]) {
      const r = await curl('/v1/subscriptions', JSON.stringify({ application: 'analytics-service', subscription, action, handler: `${analytics.url}/webhooks/events` }));
      expect(r.status).toBe(201);
    }

    // The services publish as amebo_client.publish_event does.
    const user = await curl('/v1/events', JSON.stringify({
      action: 'user.created',
      payload: { user_id: 'u-1', email: 'test@example.com', name: 'Test User', plan: 'premium', created_at: '2026-11-24T10:00:00' },
    }));
    expect(user.status).toBe(201);
    expect(user.json.data).toMatchObject({ id: 1, action: 'user.created', payload: { email: 'test@example.com' } });
    const order = await curl('/v1/events', JSON.stringify({
      action: 'order.placed',
      payload: { order_id: 'o-1', user_id: 'u-1', items: [{ sku: 'A', qty: 2 }], total: 42.5, currency: 'EUR', placed_at: '2026-11-24T10:01:00' },
    }));
    expect(order.status).toBe(201);
    expect(order.json.data.id).toBe(2);

    // Email handler: event['payload'] holds the user.
    const [mail] = await email.waitFor(1);
    expect(mail!.path).toBe('/webhooks/user-created');
    expect(mail!.json['action']).toBe('user.created');
    expect((mail!.json['payload'] as Record<string, unknown>)['email']).toBe('test@example.com');
    expect(mail!.json).toMatchObject({ event_id: 1, delivery_attempt: 1, subscription: 'welcome-emails' });

    // Analytics handler branches on event['action'] and sees both.
    const tracked = await analytics.waitFor(2);
    expect(tracked.map((r) => r.json['action']).sort()).toEqual(['order.placed', 'user.created']);
    const orderHook = tracked.find((r) => r.json['action'] === 'order.placed')!;
    expect(orderHook.json['payload']).toMatchObject({ order_id: 'o-1', total: 42.5 });
    expect(orderHook.headers['x-amebo-event']).toBe('order.placed');

    // The gists record the delivered attempts.
    const gists = await eventually(async () => {
      const g = await daemon.request('GET', '/v1/gists?state=delivered');
      expect(g.body.meta.total).toBe(3);
      return g;
    });
    expect(gists.body.data[0].attempts[0]).toMatchObject({ n: 1, status: 200, outcome: 'success' });
  });

  it('signs webhooks so that standardwebhooks and a plain HMAC both verify them', async () => {
    daemon = await startDaemon();
    const hook = await startReceiver();
    receivers.push(hook);
    const secret = 'email-service-secret';
    await daemon.request('POST', '/v1/applications', { application: 'user-service', address: 'https://users.example', secret: 'user-service-secret' });
    await daemon.request('POST', '/v1/applications', { application: 'email-service', address: hook.url, secret });
    await daemon.request('POST', '/v1/actions', { action: 'user.created', application: 'user-service', schemata: { type: 'object' } });
    const sub = await daemon.request('POST', '/v1/subscriptions', { application: 'email-service', action: 'user.created', handler: '/hooks/user' });
    expect(sub.status).toBe(201);
    expect(sub.body.data.url).toBe(`${hook.url}/hooks/user`);
    await daemon.request('POST', '/v1/events', { action: 'user.created', payload: { n: 1 } });
    const [r] = await hook.waitFor(1);

    // Standard Webhooks: key is the secret's UTF-8 bytes, passed base64-encoded to the library.
    const wh = new Webhook(Buffer.from(secret).toString('base64'));
    expect(() => wh.verify(r!.body, r!.headers as Record<string, string>)).not.toThrow();
    expect(r!.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{8}_1$/);
    expect(r!.headers['x-amebo-delivery']).toBe('1_1');
    const expected = createHmac('sha256', secret).update(r!.body).digest('hex');
    expect(r!.headers['x-amebo-signature']).toBe(`sha256=${expected}`);

    // A tampered body fails verification.
    expect(() => wh.verify(r!.body.replace('"n":1', '"n":2'), r!.headers as Record<string, string>)).toThrow();
  });
});

/**
 * The TypeScript client, `amebo/client` (issue 13), against a real daemon and real webhook receivers:
 * the seed's flow with the client's methods, every page of a long log, errors with their codes, and
 * verifyWebhook on the webhooks amebo really sent. Then the built package, imported by its name from a
 * separate Node process configured only by the environment.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AmeboClient, isAmeboError, verifyWebhook, type AmeboError } from '../../src/client/index.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { eventually } from '../helpers/eventually.js';

const ADMIN = 'admin-token-for-client';
let d: TestDaemon | undefined;
let hook: Receiver | undefined;
const clients: AmeboClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await d?.close();
  await hook?.close();
  d = hook = undefined;
});

const client = (options: ConstructorParameters<typeof AmeboClient>[0]): AmeboClient => {
  const c = new AmeboClient({ env: {}, ...options });
  clients.push(c);
  return c;
};

async function caught(p: Promise<unknown>): Promise<AmeboError> {
  try {
    await p;
  } catch (err) {
    if (isAmeboError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

const USER_SCHEMA = {
  type: 'object',
  properties: { user_id: { type: 'string' }, email: { type: 'string', format: 'email' }, name: { type: 'string' }, plan: { enum: ['free', 'premium'] } },
  required: ['user_id', 'email', 'name'],
};

describe('amebo/client', () => {
  it("runs the seed's flow: register, subscribe, publish, read back, verify the webhooks", async () => {
    d = await startDaemon({ yaml: `auth: { admin_token: ${ADMIN} }\n` });
    hook = await startReceiver();
    const admin = client({ url: d.url, token: ADMIN });
    expect((await admin.registerApplication('user-service', 'https://users.myapp.com', 'user-service-secret')).application).toBe('user-service');
    expect((await admin.registerApplication('email-service', hook.url, 'email-service-secret')).address).toBe(hook.url);
    // The user service acts with its own secret, and owns what it registers by default.
    const users = client({ url: d.url, application: 'user-service', secret: 'user-service-secret' });
    expect((await users.registerAction('user.created', USER_SCHEMA)).application).toBe('user-service');
    const sub = await admin.subscribe('user.created', '/webhooks/user-created', { application: 'email-service', subscription: 'welcome-emails', maxRetries: 3, timeout: '10s' });
    expect(sub).toMatchObject({ subscription: 'welcome-emails', url: `${hook.url}/webhooks/user-created`, max_retries: 3, timeout: '10s' });

    const event = await users.publishEvent('user.created', { user_id: 'u1', email: 'ada@example.com', name: 'Ada', plan: 'premium' });
    expect(event).toMatchObject({ action: 'user.created', payload: { user_id: 'u1' }, deduper: null });
    const again = await users.publishEvent('user.created', { user_id: 'u2', email: 'bob@example.com', name: 'Bob' }, { deduper: 'u2' });
    expect((await users.publishEvent('user.created', { user_id: 'u2', email: 'bob@example.com', name: 'Bob' }, { deduper: 'u2' })).id).toBe(again.id);
    const batch = await users.publishEvents([
      { action: 'user.created', payload: { user_id: 'u3', email: 'c@example.com', name: 'C' } },
      { action: 'user.created', payload: { user_id: 'u4', email: 'd@example.com', name: 'D' } },
    ]);
    expect(batch.map((e) => e.id)).toEqual([again.id + 1, again.id + 2]);

    const all = await users.getEvents({ from: new Date(Date.parse(event.timestamp) - 1000), to: new Date(Date.now() + 60_000), action: 'user.created' });
    expect(all.map((e) => e.payload)).toEqual([
      expect.objectContaining({ user_id: 'u1' }),
      expect.objectContaining({ user_id: 'u2' }),
      expect.objectContaining({ user_id: 'u3' }),
      expect.objectContaining({ user_id: 'u4' }),
    ]);
    expect(await users.getEvents({ to: new Date(Date.parse(event.timestamp) - 1) })).toEqual([]);
    expect((await users.getEvents({ to: event.timestamp }))[0]!.id).toBe(event.id);

    const delivered = await hook.waitFor(4);
    for (const r of delivered) {
      const body = verifyWebhook(r.body, r.headers, 'email-service-secret');
      expect(body).toMatchObject({ action: 'user.created', subscription: 'welcome-emails', delivery_attempt: 1 });
    }
    await eventually(async () => expect(await admin.getGists({ subscription: 'welcome-emails', state: 'delivered' })).toHaveLength(4));
    expect((await admin.replay({ subscription: 'welcome-emails', dryRun: true })).count).toBe(4);
    const replay = await admin.replay({ event: event.id });
    expect(replay).toMatchObject({ count: 1, replay: expect.stringMatching(/^r_/) });
    const replayed = (await hook.waitFor(5))[4]!;
    expect(verifyWebhook(replayed.body, replayed.headers, 'email-service-secret').delivery_attempt).toBe(2);
    expect((await admin.health()).status).toBe('ok');
  });

  it('gathers every page of a long log, in log order', async () => {
    d = await startDaemon({ yaml: 'applications:\n  shop: { address: "http://127.0.0.1:9", secret: shop-secret-1 }\nactions:\n  tick: { application: shop, schemata: { type: object } }\n' });
    const c = client({ url: d.url });
    const ids = (await c.publishEvents(Array.from({ length: 2_345 }, (_, i) => ({ action: 'tick', payload: { i } })))).map((e) => e.id);
    const events = await c.getEvents();
    expect(events).toHaveLength(2_345);
    expect(events.map((e) => e.id)).toEqual(ids);
    expect(events.map((e) => (e.payload as { i: number }).i)).toEqual(ids.map((_, i) => i));
  });

  it('throws registry errors with status, code and details; an unreachable daemon names its URL', async () => {
    d = await startDaemon({ yaml: `auth: { admin_token: ${ADMIN} }\napplications:\n  shop: { address: "http://127.0.0.1:9", secret: shop-secret-1 }\nactions:\n  user.created: { application: shop, schemata: ${JSON.stringify(USER_SCHEMA)} }\n` });
    const c = client({ url: d.url, token: ADMIN });
    const invalid = await caught(c.publishEvent('user.created', { user_id: 'u1', email: 'not-an-email', name: 'Ada' }));
    expect(invalid).toMatchObject({ code: 'AMEBO_ERR_SCHEMA_INVALID', status: 422 });
    expect(invalid.details?.['violations']).toEqual([expect.objectContaining({ pointer: '/email', keyword: 'format' })]);
    expect(await caught(c.publishEvent('no.such', {}))).toMatchObject({ code: 'AMEBO_ERR_UNKNOWN_ACTION', status: 404 });
    expect(await caught(client({ url: d.url }).getEvents())).toMatchObject({ code: 'AMEBO_ERR_UNAUTHORIZED' });
    expect(await caught(client({ url: d.url, token: ADMIN }).registerAction('a.b', {}))).toMatchObject({ code: 'AMEBO_ERR_BAD_REQUEST', message: expect.stringMatching(/AMEBO_APPLICATION/) });
    const url = d.url;
    await d.close();
    d = undefined;
    const down = await caught(client({ url }).publishEvent('user.created', {}));
    expect(down.code).toBe('AMEBO_ERR_UNAVAILABLE');
    expect(down.message).toContain(url);
  });

  it('subscribes with routing and delivery-control keys, pauses and resumes, and lists every subscription', async () => {
    hook = await startReceiver();
    d = await startDaemon({ yaml: `auth: { admin_token: ${ADMIN} }\napplications:\n  shop: { address: "${hook.url}", secret: shop-secret-1 }\nactions:\n  user.created: { application: shop, schemata: ${JSON.stringify(USER_SCHEMA)} }\n` });
    const shop = client({ url: d.url, application: 'shop', secret: 'shop-secret-1' });
    const sub = await shop.subscribe(['user.created'], '/premium', {
      subscription: 'premium',
      filter: { plan: 'premium' },
      headers: { 'X-Tenant': 'acme', 'X-Api-Key': 'k-123456' },
      circuit: { failures: 3, cooldown: '1m' },
      ordering: { key: '/user_id' },
      rate_limit: '100/s',
      paused: true,
    });
    expect(sub).toMatchObject({ action: ['user.created'], filter: { plan: 'premium' }, headers: { 'X-Tenant': 'acme' }, sensitive_headers: ['X-Api-Key'], ordering: { key: '/user_id' }, rate_limit: '100/s', paused: true, paused_by: 'api' });
    expect(sub.circuit).toMatchObject({ failures_to_open: 3, cooldown: '1m', state: 'closed' });
    await shop.publishEvent('user.created', { user_id: 'u1', email: 'a@example.com', name: 'Free' });
    const premium = await shop.publishEvent('user.created', { user_id: 'u2', email: 'b@example.com', name: 'Gold', plan: 'premium' });
    expect((await shop.getGists({ subscription: 'premium' })).map((g) => g.event_id)).toEqual([premium.id]);
    expect(hook.requests).toHaveLength(0);
    expect((await shop.resumeSubscription('premium')).paused).toBe(false);
    const [got] = await hook.waitFor(1);
    expect(got!.json['event_id']).toBe(premium.id);
    expect(got!.headers['x-api-key']).toBe('k-123456');
    expect((await shop.pauseSubscription('premium')).paused_by).toBe('api');
    expect((await shop.getSubscription('premium')).paused).toBe(true);
    expect((await shop.getSubscriptions()).map((s) => s.subscription)).toContain('premium');
    // An application's secret lists its own actions; the admin's token lists amebo's own too.
    expect((await shop.getActions()).map((a) => a.action)).toEqual(['user.created']);
    expect((await client({ url: d.url, token: ADMIN }).getActions()).map((a) => a.action)).toEqual(expect.arrayContaining(['user.created', 'amebo.gist.dead', 'amebo.circuit.opened']));
  });

  it('takes its defaults from AMEBO_URL, AMEBO_APPLICATION, AMEBO_SECRET and AMEBO_TOKEN', async () => {
    d = await startDaemon({ yaml: `auth: { admin_token: ${ADMIN} }\napplications:\n  shop: { address: "http://127.0.0.1:9", secret: shop-secret-1 }\n` });
    const shop = new AmeboClient({ env: { AMEBO_URL: d.url, AMEBO_APPLICATION: 'shop', AMEBO_SECRET: 'shop-secret-1' } });
    clients.push(shop);
    expect(shop.baseUrl).toBe(d.url);
    expect((await shop.registerAction('shop.opened', true)).application).toBe('shop');
    // The token wins over the secret: the admin may register applications, the shop may not.
    const both = new AmeboClient({ env: { AMEBO_URL: d.url, AMEBO_SECRET: 'shop-secret-1', AMEBO_TOKEN: ADMIN } });
    clients.push(both);
    expect((await both.registerApplication('mail', 'http://127.0.0.1:9', 'mail-secret-1')).application).toBe('mail');
    expect(await caught(shop.registerApplication('spy', 'http://127.0.0.1:9', 'spy-secret-1'))).toMatchObject({ code: 'AMEBO_ERR_FORBIDDEN' });
  });
});

describe('verifyWebhook', () => {
  it('refuses a tampered body, a wrong secret, a missing scheme and a stale or future timestamp; accepts a rotated secret', async () => {
    hook = await startReceiver();
    d = await startDaemon({
      yaml: `
applications:
  shop: { address: "${hook.url}", secret: whsec_${Buffer.from('the-new-key').toString('base64')}, previous_secret: old-secret-123, previous_secret_expires: "${new Date(Date.now() + 86_400_000).toISOString()}" }
actions:
  order.placed: { application: shop, schemata: { type: object } }
subscriptions:
  audit: { application: shop, action: order.placed, handler: /hook }
`,
    });
    const newSecret = `whsec_${Buffer.from('the-new-key').toString('base64')}`;
    expect((await d.request('POST', '/v1/events', { action: 'order.placed', payload: { id: 1 } })).status).toBe(201);
    const [r] = await hook.waitFor(1);
    const { body, headers } = r!;
    const now = Number(headers['webhook-timestamp']) * 1000;
    // During the rotation both secrets verify.
    expect(verifyWebhook(body, headers, newSecret)).toMatchObject({ action: 'order.placed', payload: { id: 1 } });
    expect(verifyWebhook(Buffer.from(body), new Headers(headers as Record<string, string>), 'old-secret-123').event_id).toBe(1);

    const code = (f: () => unknown): string => {
      try {
        f();
      } catch (err) {
        return `${(err as AmeboError).code}: ${(err as Error).message}`;
      }
      return 'verified';
    };
    expect(code(() => verifyWebhook(body.replace('"id":1', '"id":2'), headers, newSecret))).toMatch(/AMEBO_ERR_WEBHOOK_VERIFICATION: .*X-Amebo-Signature does not match/);
    expect(code(() => verifyWebhook(body, headers, 'another-secret'))).toMatch(/does not match/);
    expect(code(() => verifyWebhook(body, { ...headers, 'x-amebo-signature': undefined }, newSecret))).toMatch(/X-Amebo-Signature header is required/);
    expect(code(() => verifyWebhook(body, { ...headers, 'webhook-signature': 'v1,AAAA' }, newSecret))).toMatch(/webhook-signature does not match/);
    expect(code(() => verifyWebhook(body, { ...headers, 'webhook-id': 'msg_other' }, newSecret))).toMatch(/webhook-signature does not match/);
    expect(code(() => verifyWebhook(body, headers, newSecret, { now: now + 301_000 }))).toMatch(/too old/);
    expect(code(() => verifyWebhook(body, headers, newSecret, { now: now - 301_000 }))).toMatch(/in the future/);
    expect(code(() => verifyWebhook(body, headers, newSecret, { now: now + 299_000 }))).toBe('verified');
  });
});

describe('the built package', () => {
  it('is imported as amebo/client by a separate process, configured from the environment', async () => {
    d = await startDaemon({
      yaml: `
applications:
  order-service: { address: "http://127.0.0.1:9", secret: order-service-secret }
actions:
  order.placed: { application: order-service, schemata: { type: object, required: [order_id, user_id, items, total] } }
`,
    });
    const script = fileURLToPath(new URL('../fixtures/client-consumer.mjs', import.meta.url));
    // Not spawnSync: the daemon answering it runs in this process.
    const run = await promisify(execFile)(process.execPath, [script], {
      encoding: 'utf8',
      env: { ...process.env, AMEBO_URL: d.url, AMEBO_APPLICATION: 'order-service', AMEBO_SECRET: 'order-service-secret', AMEBO_TOKEN: '' },
      timeout: 20_000,
    });
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout) as { event: { id: number }; again: { id: number }; refused: unknown; events: number[]; verified: string };
    expect(out.again.id).toBe(out.event.id);
    expect(out.refused).toEqual({ code: 'AMEBO_ERR_SCHEMA_INVALID', status: 422, violations: 3 });
    expect(out.events).toEqual([out.event.id]);
    expect(out.verified).toBe('AMEBO_ERR_WEBHOOK_VERIFICATION');
  });
});

/**
 * Secrets never leave amebo: a daemon with an admin token and application secrets (one a `whsec_`
 * key, one mid-rotation) is driven through every endpoint and error path, the SSE stream, `amebo tail
 * --json`, the TUI and a failing CLI call, and every response body and header, stream byte, frame and
 * log line is searched for each secret and for any 8-character piece of one. Webhook signatures are
 * verified with the official `standardwebhooks` library, through a secret rotation and its expiry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHmac, randomBytes } from 'node:crypto';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { Webhook } from 'standardwebhooks';
import { AmeboClient } from '../../src/client/api.js';
import { openStream } from '../../src/client/stream.js';
import { TailApp } from '../../src/tui/TailApp.js';
import type { StreamOpener } from '../../src/tui/useTailStream.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver, type Received } from '../helpers/receiver.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';
import { runCli } from '../unit/cli-run.js';

const hex = (n: number) => randomBytes(n).toString('hex');
const ADMIN = `adm${hex(16)}`;
const SHOP = `shp${hex(12)}`;
const SINK = `snk${hex(12)}`;
const SINK_OLD = `old${hex(12)}`;
const HOOKS_KEY = randomBytes(24).toString('base64');
const HOOKS = `whsec_${HOOKS_KEY}`;
const API_APP = `api${hex(12)}`;
const API_NEW = `new${hex(12)}`;
const WRONG = `wrg${hex(12)}`;
/** What must never appear; for `whsec_` secrets, the key after the prefix. */
const SECRETS: Record<string, string> = { ADMIN, SHOP, SINK, SINK_OLD, HOOKS: HOOKS_KEY, API_APP, API_NEW, WRONG };

let daemon: TestDaemon | undefined;
let client: AmeboClient | undefined;
let app: ReturnType<typeof render> | undefined;
const receivers: Receiver[] = [];
const aborts: AbortController[] = [];

afterEach(async () => {
  app?.unmount();
  app = undefined;
  for (const a of aborts.splice(0)) a.abort();
  await client?.close();
  client = undefined;
  await daemon?.close();
  daemon = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  cleanupTmp();
});

async function receiver(status = 200): Promise<Receiver> {
  const r = await startReceiver(() => ({ status, body: status === 200 ? 'ok' : 'broken' }));
  receivers.push(r);
  return r;
}

function config(o: { sink: string; hooks: string; failing: string; rotationEnds: Date }): string {
  return `auth:
  admin_token: \${ADMIN_TOKEN}
delivery:
  timeout: 2s
  max_retries: 1
  backoff: { initial: 50ms, max: 100ms, jitter: 0 }
applications:
  shop: { address: "http://127.0.0.1:9", secret: "\${SHOP_SECRET}" }
  sink:
    address: ${o.sink}
    secret: \${SINK_SECRET}
    previous_secret: \${SINK_OLD_SECRET}
    previous_secret_expires: ${o.rotationEnds.toISOString()}
  hooks: { address: "${o.hooks}", secret: "\${HOOKS_SECRET}" }
actions:
  order.placed: { application: shop, schemata: { type: object, required: [order_id] } }
subscriptions:
  to-sink: { application: sink, action: order.placed, handler: /in }
  to-hooks: { application: hooks, action: order.placed, handler: /in }
  # No circuit breaker: the test replays the failing deliveries, past the 10 failures that would open it.
  to-failing: { application: sink, action: order.placed, handler: "${o.failing}/in", circuit: false }
`;
}

const ENV = { ADMIN_TOKEN: ADMIN, SHOP_SECRET: SHOP, SINK_SECRET: SINK, SINK_OLD_SECRET: SINK_OLD, HOOKS_SECRET: HOOKS };

/** Every 8-character piece of `secret`, to catch a truncated echo ("shop-secre..."). */
function pieces(secret: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 8 <= secret.length; i++) out.push(secret.slice(i, i + 8));
  return out;
}

function expectNoSecrets(where: string, text: string): void {
  for (const [name, secret] of Object.entries(SECRETS)) {
    const leaked = pieces(secret).find((p) => text.includes(p));
    expect(leaked, `${where} contains a piece of ${name}`).toBeUndefined();
  }
}

/** Reads an SSE response into `into.text` until aborted. */
function collect(url: string, token: string, into: { text: string }): AbortController {
  const controller = new AbortController();
  aborts.push(controller);
  void (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    into.text += [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) into.text += decoder.decode(chunk, { stream: true });
  })().catch(() => undefined);
  return controller;
}

describe('secrets', () => {
  it('never appear in responses, headers, logs, metrics, the stream, tail --json or the TUI', async () => {
    const sink = await receiver();
    const hooks = await receiver();
    const failing = await receiver(500);
    daemon = await startDaemon({
      yaml: config({ sink: sink.url, hooks: hooks.url, failing: failing.url, rotationEnds: new Date(Date.now() + 86_400_000) }),
      env: ENV,
    });
    const d = daemon;
    const admin = { authorization: `Bearer ${ADMIN}` };
    const as = (secret: string) => ({ authorization: `Bearer ${secret}` });

    // Live consumers first, so they see everything that follows.
    const adminStream = { text: '' };
    const sinkStream = { text: '' };
    collect(`${d.url}/v1/stream`, ADMIN, adminStream);
    collect(`${d.url}/v1/stream?failures=1`, SINK, sinkStream);
    const tail = runCli(['tail', '--json', '--count', '6', '--url', d.url, '--token', ADMIN]);
    client = new AmeboClient({ url: d.url, token: ADMIN });
    const c = client;
    const opener: StreamOpener = (handlers) => openStream(c.http, { types: ['delivery', 'stats'], backoffInitialMs: 50, failFast: true, ...handlers });
    app = render(createElement(TailApp, { openStream: opener, client: c, url: d.url, width: 160, height: 30, frameMs: 50 }));
    await eventually(async () => expect(await d.core.metrics.streamClients.get()).toMatchObject({ values: [{ value: 4 }] }));

    const seen: string[] = [];
    const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await d.request(method, path, body, headers);
      seen.push(`${method} ${path} → ${res.status}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${res.text}`);
      return res;
    };
    const order = (id: string) => ({ action: 'order.placed', payload: { order_id: id } });

    expect((await call('POST', '/v1/applications', { application: 'api-app', address: 'http://127.0.0.1:9', secret: API_APP }, admin)).status).toBe(201);
    expect((await call('PUT', '/v1/applications/api-app', { new_secret: API_NEW, previous_secret: API_APP, previous_secret_expires_at: new Date(Date.now() + 60_000).toISOString() }, admin)).status).toBe(200);
    expect((await call('POST', '/v1/applications', { application: 'api-app', address: 'http://127.0.0.1:9', secret: API_APP }, admin)).status).toBe(409);
    expect((await call('PUT', '/v1/applications/sink', { secret: SINK_OLD }, admin)).status).toBe(409);
    expect((await call('POST', '/v1/applications', { application: 'short', address: 'http://127.0.0.1:9', secret: SHOP.slice(0, 5) }, admin)).status).toBe(400);
    expect((await call('POST', '/v1/events', order('a1'), as(SHOP))).status).toBe(201);
    expect((await call('POST', '/v1/events', { ...order('a2'), secret: SHOP })).status).toBe(201);
    expect((await call('POST', '/v1/events/batch', { events: [order('a3'), order('a4')], secret: SHOP })).status).toBe(201);
    expect((await call('POST', '/v1/events', order('x'), as(SINK_OLD))).status).toBe(403);
    expect((await call('POST', '/v1/events', order('x'), as(WRONG))).status).toBe(401);
    expect((await call('POST', '/v1/events', { ...order('x'), secret: WRONG })).status).toBe(401);
    expect((await call('GET', '/v1/events', undefined, { authorization: `Basic ${Buffer.from(`shop:${SHOP}`).toString('base64')}` })).status).toBe(401);
    // A client that forgets to quote its secret: the parse error must not echo it.
    expect((await call('POST', '/v1/events', `{"action":"order.placed","secret":${SHOP}}`)).status).toBe(400);
    expect((await call('POST', '/v1/events', `{"secret":"${SHOP}","action":"order.placed",payload}`)).status).toBe(400);
    expect((await call('POST', '/v1/events', `{"secret":"${SHOP}",}`)).status).toBe(400);
    for (const path of ['/health', '/metrics']) expect((await call('GET', path)).status).toBe(200);
    for (const path of ['/v1/config', '/v1/applications', '/v1/applications/sink', '/v1/applications/hooks', '/v1/applications/api-app', '/v1/actions', '/v1/subscriptions', '/v1/events', '/v1/gists', '/v1/gists/1']) {
      expect((await call('GET', path, undefined, admin)).status, path).toBe(200);
    }
    expect((await call('GET', '/v1/config', undefined, as(SINK))).status).toBe(403);
    expect((await call('GET', '/v1/applications/shop', undefined, as(SINK))).status).toBe(403);
    expect((await call('GET', '/v1/applications/sink', undefined, as(SINK_OLD))).status).toBe(200);
    expect((await call('GET', '/v1/gists', undefined, as(API_NEW))).status).toBe(200);

    // Deliveries (with the failing ones retried once, then dead) reach the stream, tail and the TUI.
    await sink.waitFor(4);
    await hooks.waitFor(4);
    await failing.waitFor(8);
    const replay = await call('POST', '/v1/replays', { failed: true }, admin);
    expect(replay.status).toBe(202);
    await eventually(async () => expect((await call('GET', `/v1/replays/${replay.body.data.replay}`, undefined, admin)).body.data.done).toBe(true));
    expect((await call('POST', '/v1/gists/1/replay', undefined, admin)).status).toBe(202);
    for (const path of ['/v1/gists', '/metrics', '/health']) await call('GET', path, undefined, admin);
    const tailed = await tail;
    expect(tailed.code).toBe(0);
    expect(tailed.stdout.trim().split('\n')).toHaveLength(6);
    await eventually(() => expect(adminStream.text).toMatch(/event: delivery[\s\S]*"state":"dead"/));
    await eventually(() => expect(sinkStream.text).toMatch(/"subscription":"to-failing"/));
    await eventually(() => expect(app!.lastFrame()).toMatch(/to-failing/));
    const denied = await runCli(['events', '--url', d.url, '--token', WRONG]);
    expect(denied.code).toBe(1);

    expectNoSecrets('responses', seen.join('\n\n'));
    expectNoSecrets('the admin SSE stream', adminStream.text);
    expectNoSecrets("sink's SSE stream", sinkStream.text);
    expectNoSecrets('tail --json', tailed.stdout + tailed.stderr);
    expectNoSecrets('the TUI', app.frames.join('\n'));
    expectNoSecrets('a refused CLI call', denied.stdout + denied.stderr);
    expectNoSecrets('the webhook requests', [...sink.requests, ...hooks.requests, ...failing.requests].map((r) => JSON.stringify(r.headers) + r.body).join('\n'));
    // The log is at debug level here, so it holds every request error as well.
    expect(d.logs.length).toBeGreaterThan(20);
    expectNoSecrets('the daemon log', d.logText());
    // The exported config names environment variables instead of secrets.
    const exported = (await d.request('GET', '/v1/config', undefined, admin)).body.data;
    expect(exported.applications['api-app'].secret).toBe('${API_APP_SECRET}');
    expect(exported.applications.sink.secret).toBe('${SINK_SECRET}');
  });
});

/** Verifies `r` with the standardwebhooks library under `secret`; returns the error, or null if valid. */
function verifyError(r: Received, secret: string): Error | null {
  const wh = new Webhook(secret.startsWith('whsec_') ? secret : Buffer.from(secret).toString('base64'));
  try {
    wh.verify(r.body, r.headers as Record<string, string>);
    return null;
  } catch (err) {
    return err as Error;
  }
}

const hexHmac = (key: Buffer, body: string) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;

describe('webhook signatures', () => {
  it('verify with standardwebhooks, through a secret rotation and after it expires (on a fake clock)', async () => {
    const sink = await receiver();
    const hooks = await receiver();
    const failing = await receiver();
    // The rotation window is policy over time: the daemon runs on a fake clock (near real time, so
    // standardwebhooks' 5-minute timestamp tolerance holds), and the test moves it past the end.
    const clock = new FakeClock(Date.now());
    const rotationEnds = new Date(clock.now() + 60_000);
    daemon = await startDaemon({ clock, yaml: config({ sink: sink.url, hooks: hooks.url, failing: failing.url, rotationEnds }), env: ENV });
    const publish = async (id: string) =>
      expect((await daemon!.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: id } }, { authorization: `Bearer ${SHOP}` })).status).toBe(201);

    // During the rotation: two signatures in each header, one per secret.
    await publish('during');
    const [during] = await sink.waitFor(1);
    expect(clock.now()).toBeLessThan(rotationEnds.getTime());
    expect(String(during!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(String(during!.headers['x-amebo-signature']).split(' ')).toEqual([hexHmac(Buffer.from(SINK), during!.body), hexHmac(Buffer.from(SINK_OLD), during!.body)]);
    expect(verifyError(during!, SINK)).toBeNull();
    // A receiver that still holds only the old secret verifies too.
    expect(verifyError(during!, SINK_OLD)).toBeNull();
    // The old secret still authenticates its application to the API during the rotation.
    expect((await daemon.request('GET', '/v1/applications/sink', undefined, { authorization: `Bearer ${SINK_OLD}` })).status).toBe(200);

    // A whsec_ secret: the key is the base64 after the prefix, for both signature headers.
    const [hooked] = await hooks.waitFor(1);
    expect(verifyError(hooked!, HOOKS)).toBeNull();
    expect(hooked!.headers['x-amebo-signature']).toBe(hexHmac(Buffer.from(HOOKS_KEY, 'base64'), hooked!.body));
    expect(verifyError(hooked!, `whsec_${randomBytes(24).toString('base64')}`)).toBeInstanceOf(Error);

    // Negative controls: a wrong secret, a tampered body, a replayed old timestamp.
    expect(verifyError(during!, WRONG)?.message).toMatch(/No matching signature found/);
    expect(verifyError({ ...during!, body: during!.body.replace('during', 'durinG') }, SINK)?.message).toMatch(/No matching signature found/);
    const stale = { ...during!, headers: { ...during!.headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 3600) } };
    expect(verifyError(stale, SINK)?.message).toMatch(/too old/);

    // One millisecond before the end the old secret still authenticates; at the end it stops.
    await clock.advance(rotationEnds.getTime() - clock.now() - 1);
    expect((await daemon.request('GET', '/v1/applications/sink', undefined, { authorization: `Bearer ${SINK_OLD}` })).status).toBe(200);
    await clock.advance(1);

    // After the rotation ends: one signature, and the old secret no longer verifies.
    await publish('after');
    const after = (await sink.waitFor(2))[1]!;
    expect(after.json['payload']).toEqual({ order_id: 'after' });
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(after.headers['x-amebo-signature']).toBe(hexHmac(Buffer.from(SINK), after.body));
    expect(verifyError(after, SINK)).toBeNull();
    expect(verifyError(after, SINK_OLD)?.message).toMatch(/No matching signature found/);
    // webhook-id is stable per gist and differs between gists.
    expect(after.headers['webhook-id']).not.toBe(during!.headers['webhook-id']);
    // Nor does it authenticate to the API any longer.
    const oldAuth = await daemon.request('GET', '/v1/applications/sink', undefined, { authorization: `Bearer ${SINK_OLD}` });
    expect(oldAuth.status).toBe(401);
    expect((await daemon.request('GET', '/v1/applications/sink', undefined, { authorization: `Bearer ${SINK}` })).status).toBe(200);
  });
});

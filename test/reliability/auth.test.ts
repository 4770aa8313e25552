/**
 * Auth paths that test/integration/auth.test.ts does not cover: an application's secret cannot read,
 * replay, hijack or delete another application's gists, subscriptions, actions or application, nor
 * export the config, and its SSE stream (live and replayed through Last-Event-ID) holds only its own
 * objects.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';
import { yaml } from '../helpers/config.js';

const ADMIN = 'admin-token-7c1e9a4f2b6d8053';
const SPY = 'spy-secret-4e8a1c7d';
const admin = { authorization: `Bearer ${ADMIN}` };
const shop = { authorization: 'Bearer shop-secret-123' };
const spy = { authorization: `Bearer ${SPY}` };

let daemon: TestDaemon | undefined;
const receivers: Receiver[] = [];
const aborts: AbortController[] = [];

afterEach(async () => {
  for (const a of aborts.splice(0)) a.abort();
  await daemon?.close();
  daemon = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  cleanupTmp();
});

/** Reads an SSE stream's `data:` messages into `into` until the test ends. */
function stream(path: string, headers: Record<string, string>, into: Array<Record<string, unknown>>): void {
  const controller = new AbortController();
  aborts.push(controller);
  void (async () => {
    const res = await fetch(`${daemon!.url}${path}`, { headers, signal: controller.signal });
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += Buffer.from(chunk).toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (\w+)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event && event !== 'stats' && data) into.push({ type: event, ...(JSON.parse(data) as Record<string, unknown>) });
      }
    }
  })().catch(() => undefined);
}

async function setup(): Promise<{ sinkHook: Receiver; spyHook: Receiver; sinkGists: number[]; spyGists: number[] }> {
  // sink's endpoint fails for good, so its gists are dead and replayable.
  const sinkHook = await startReceiver(() => ({ status: 500 }));
  const spyHook = await startReceiver();
  receivers.push(sinkHook, spyHook);
  daemon = await startDaemon({
    yaml: yaml({ subscriptions: { 'to-sink': { handler: sinkHook.url, extra: 'max_retries: 0' } }, auth: `  admin_token: ${ADMIN}` }),
  });
  const d = daemon;
  expect((await d.request('POST', '/v1/applications', { application: 'spy', address: spyHook.url, secret: SPY }, admin)).status).toBe(201);
  expect((await d.request('POST', '/v1/actions', { action: 'spy.ping', application: 'spy', schemata: { type: 'object' } }, spy)).status).toBe(201);
  expect((await d.request('POST', '/v1/subscriptions', { application: 'spy', action: 'order.placed', handler: '/in', subscription: 'to-spy' }, spy)).status).toBe(201);
  for (const id of ['o1', 'o2', 'o3']) expect((await d.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: id } }, shop)).status).toBe(201);
  await sinkHook.waitFor(3);
  await spyHook.waitFor(3);
  const gists = await eventually(async () => {
    const list = (await d.request('GET', '/v1/gists?per_page=100', undefined, admin)).body.data as Array<{ id: number; subscription: string; state: string }>;
    expect(list.filter((g) => g.state === 'dead' || g.state === 'delivered')).toHaveLength(6);
    return list;
  });
  return {
    sinkHook,
    spyHook,
    sinkGists: gists.filter((g) => g.subscription === 'to-sink').map((g) => g.id),
    spyGists: gists.filter((g) => g.subscription === 'to-spy').map((g) => g.id),
  };
}

describe('an application secret is confined to its own objects', () => {
  it("cannot read or replay another application's gists", async () => {
    const { sinkHook, sinkGists, spyGists } = await setup();
    const d = daemon!;
    const own = await d.request('GET', '/v1/gists?per_page=100', undefined, spy);
    expect(own.body.data.map((g: { id: number }) => g.id).sort()).toEqual([...spyGists].sort());
    expect((await d.request('GET', '/v1/gists?subscription=to-sink', undefined, spy)).body.meta.total).toBe(0);
    expect((await d.request('GET', `/v1/gists?event=1&state=dead`, undefined, spy)).body.meta.total).toBe(0);
    for (const id of sinkGists) {
      const read = await d.request('GET', `/v1/gists/${id}`, undefined, spy);
      expect(read.status).toBe(404);
      expect(read.body).toMatchObject({ code: 404, error: `no gist with id ${id}` });
      expect((await d.request('POST', `/v1/gists/${id}/replay`, undefined, spy)).status).toBe(404);
      expect((await d.request('POST', `/v1/regists/${id}`, undefined, spy)).status).toBe(404);
    }
    // Bulk replays are narrowed to its own subscriptions, whatever the filter names.
    for (const body of [{ subscription: 'to-sink' }, { failed: true }, { event: 1 }, { action: 'order.placed', subscription: 'to-sink', failed: true }]) {
      const replay = await d.request('POST', '/v1/replays', body, spy);
      expect(replay.status).toBe(202);
      if (body.subscription) expect(replay.body.data.count).toBe(0);
    }
    // The owner sees its dead gists untouched, and the failing endpoint got nothing more.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sinkHook.requests).toHaveLength(3);
    for (const id of sinkGists) expect((await d.request('GET', `/v1/gists/${id}`, undefined, admin)).body.data).toMatchObject({ state: 'dead', attempt_count: 1, replays: 0 });
  });

  it("cannot read, redirect or delete another application's subscriptions, actions or application", async () => {
    const { spyHook } = await setup();
    const d = daemon!;
    const refused: Array<[string, string, unknown?]> = [
      ['GET', '/v1/subscriptions/to-sink'],
      ['PUT', '/v1/subscriptions/to-sink', { handler: `${spyHook.url}/stolen` }],
      ['DELETE', '/v1/subscriptions/to-sink'],
      ['GET', '/v1/applications/sink'],
      ['PUT', '/v1/applications/sink', { new_secret: 'taken-over-123', address: spyHook.url }],
      ['DELETE', '/v1/applications/sink'],
      ['DELETE', '/v1/applications/spy'],
      ['GET', '/v1/actions/order.placed'],
      ['PUT', '/v1/actions/order.placed', { schemata: { type: 'object' } }],
      ['POST', '/v1/actions', { action: 'shop.fake', application: 'shop', schemata: {} }],
      ['GET', '/v1/config'],
    ];
    for (const [method, path, body] of refused) {
      const res = await d.request(method, path, body, spy);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body).toMatchObject({ code: 403, error_code: 'AMEBO_ERR_FORBIDDEN' });
    }
    // Lists show only its own.
    expect((await d.request('GET', '/v1/applications', undefined, spy)).body.data.map((a: { application: string }) => a.application)).toEqual(['spy']);
    expect((await d.request('GET', '/v1/actions', undefined, spy)).body.data.map((a: { action: string }) => a.action)).toEqual(['spy.ping']);
    expect((await d.request('GET', '/v1/events?action=order.placed', undefined, spy)).body.meta.total).toBe(0);
    // A batch that slips in another application's action is refused whole.
    const batch = await d.request('POST', '/v1/events/batch', { events: [{ action: 'spy.ping', payload: {} }, { action: 'order.placed', payload: { order_id: 'x' } }] }, spy);
    expect(batch.status).toBe(403);
    // (amebo's own events, amebo.gist.dead for deliveries that died, are in the log too.)
    const events = (await d.request('GET', '/v1/events?per_page=100', undefined, admin)).body.data as Array<{ action: string }>;
    expect(events.filter((e) => !e.action.startsWith('amebo.'))).toHaveLength(3);
    // Nothing changed: sink's subscription still points where it did, and its secret still works.
    expect((await d.request('GET', '/v1/subscriptions/to-sink', undefined, admin)).body.data.url).not.toContain(spyHook.url);
    expect((await d.request('GET', '/v1/applications/sink', undefined, { authorization: 'Bearer sink-secret-123' })).status).toBe(200);
    expect((await d.request('GET', '/v1/applications/sink', undefined, { authorization: 'Bearer taken-over-123' })).status).toBe(401);
  });

  it('sees only its own deliveries and publishes on the SSE stream, live and when resuming', async () => {
    const spyHook = await startReceiver();
    const sinkHook = await startReceiver();
    receivers.push(spyHook, sinkHook);
    daemon = await startDaemon({
      yaml: yaml({ subscriptions: { 'to-sink': { handler: sinkHook.url } }, auth: `  admin_token: ${ADMIN}` }),
    });
    const d = daemon;
    expect((await d.request('POST', '/v1/applications', { application: 'spy', address: spyHook.url, secret: SPY }, admin)).status).toBe(201);
    expect((await d.request('POST', '/v1/actions', { action: 'spy.ping', application: 'spy', schemata: { type: 'object' } }, spy)).status).toBe(201);
    expect((await d.request('POST', '/v1/subscriptions', { application: 'spy', action: 'order.placed', handler: '/in', subscription: 'to-spy' }, spy)).status).toBe(201);

    const live: Array<Record<string, unknown>> = [];
    const sneaky: Array<Record<string, unknown>> = [];
    const all: Array<Record<string, unknown>> = [];
    stream('/v1/stream', spy, live);
    stream('/v1/stream?subscription=to-sink&action=order.placed', spy, sneaky);
    stream('/v1/stream', admin, all);
    await eventually(async () => expect(await d.core.metrics.streamClients.get()).toMatchObject({ values: [{ value: 3 }] }));

    for (const id of ['o1', 'o2']) expect((await d.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: id } }, shop)).status).toBe(201);
    expect((await d.request('POST', '/v1/events', { action: 'spy.ping', payload: {} }, spy)).status).toBe(201);
    // The admin sees everything: 3 published, 2 deliveries to each subscription.
    await eventually(() => {
      expect(all.filter((m) => m['type'] === 'published')).toHaveLength(3);
      expect(all.filter((m) => m['type'] === 'delivery')).toHaveLength(4);
    });
    await eventually(() => expect(live).toHaveLength(3));
    const summary = (list: Array<Record<string, unknown>>) => list.map((m) => `${String(m['type'])}:${String(m['type'] === 'delivery' ? m['subscription'] : m['action'])}`).sort();
    expect(summary(live)).toEqual(['delivery:to-spy', 'delivery:to-spy', 'published:spy.ping']);
    expect(sneaky).toEqual([]);

    // Resuming from the start of the ring replays only its own messages too.
    const resumed: Array<Record<string, unknown>> = [];
    stream('/v1/stream', { ...spy, 'last-event-id': '0' }, resumed);
    await eventually(() => expect(resumed.length).toBeGreaterThanOrEqual(3));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(summary(resumed)).toEqual(['delivery:to-spy', 'delivery:to-spy', 'published:spy.ping']);
  });
});

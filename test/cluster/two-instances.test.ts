/**
 * Two amebo instances sharing one JetStream log see one bus: an API object made on one is in force on
 * the other within 2 s; a deduper repeated on both stores one event; listings on either show every
 * gist; /v1/stream on one shows the deliveries the other made; a replay started on one counts the
 * deliveries the other makes. Real nats-server, real daemons, a real receiver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startNatsServers, type NatsServers } from '../helpers/nats-servers.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';

const yamlFor = (nats: string, receiver: string) => `server:
  log: ${nats}
  nats: { prefix: pair }
delivery:
  concurrency: 2
  backoff: { initial: 50ms, max: 200ms, jitter: 0 }
applications:
  shop: { address: ${receiver}, secret: shop-secret-123 }
actions:
  order.placed: { application: shop, schemata: { type: object } }
subscriptions:
  mail: { application: shop, action: order.placed, handler: /hook/mail }
`;

/** Reads /v1/stream (SSE) until `stop` says so; returns the delivery messages seen. */
async function streamDeliveries(url: string, signal: AbortSignal): Promise<Array<Record<string, unknown>>> {
  const seen: Array<Record<string, unknown>> = [];
  const res = await fetch(`${url}/v1/stream?types=delivery`, { signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (data) seen.push(JSON.parse(data.slice(6)) as Record<string, unknown>);
        }
      }
    } catch {
      // aborted
    }
  })();
  return seen;
}

describe('two amebo instances on one JetStream log', () => {
  let nats: NatsServers;
  let receiver: Receiver;
  let a: TestDaemon;
  let b: TestDaemon;

  beforeAll(async () => {
    nats = await startNatsServers(1);
    receiver = await startReceiver();
    const yaml = yamlFor(nats.urls, receiver.url);
    [a, b] = await Promise.all([startDaemon({ yaml }), startDaemon({ yaml })]);
  }, 60_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await receiver?.close();
    await nats?.close();
    cleanupTmp();
  });

  it('puts an API object made on one in force on the other', async () => {
    const made = await a.request('POST', '/v1/subscriptions', { application: 'shop', action: 'order.placed', handler: '/hook/crm', subscription: 'crm' });
    expect(made.status).toBe(201);
    // The watch latency is milliseconds; the bound is generous because CI is a busy 2-core machine.
    await eventually(async () => expect((await b.request('GET', '/v1/subscriptions/crm')).status).toBe(200), 10_000, 20);
    // And it takes effect there: an event published on B gets a gist for it.
    const ev = await b.request('POST', '/v1/events', { action: 'order.placed', payload: { n: 'crm' } });
    expect(ev.status).toBe(201);
    await eventually(async () => {
      const gists = await b.request('GET', `/v1/gists?event=${ev.body.data.id}`);
      expect(gists.body.data.map((g: { subscription: string }) => g.subscription).sort()).toEqual(['crm', 'mail']);
    });
    const gone = await b.request('DELETE', '/v1/subscriptions/crm');
    expect(gone.status).toBe(204);
    await eventually(async () => expect((await a.request('GET', '/v1/subscriptions/crm')).status).toBe(404), 10_000, 20);
  });

  it('holds a pause made on one on both, and delivers everything held after a resume on the other', async () => {
    const made = await a.request('POST', '/v1/subscriptions', { application: 'shop', action: 'order.placed', handler: '/hook/held', subscription: 'held' });
    expect(made.status).toBe(201);
    await eventually(async () => expect((await b.request('GET', '/v1/subscriptions/held')).status).toBe(200), 10_000, 20);
    expect((await a.request('POST', '/v1/subscriptions/held/pause')).body.data.paused).toBe(true);
    await eventually(async () => expect((await b.request('GET', '/v1/subscriptions/held')).body.data.paused).toBe(true), 10_000, 20);
    const before = receiver.requests.filter((r) => r.path === '/hook/held').length;
    const ids: Array<string | number> = [];
    for (let i = 0; i < 6; i++) ids.push((await (i % 2 ? a : b).request('POST', '/v1/events', { action: 'order.placed', payload: { held: i } })).body.data.id);
    // mail (not paused) gets them from either instance; held gets nothing while paused on both.
    await eventually(() => expect(receiver.requests.filter((r) => r.path === '/hook/mail' && ids.includes(r.json['event_id'] as number)).length).toBeGreaterThanOrEqual(6), 20_000);
    expect(receiver.requests.filter((r) => r.path === '/hook/held').length).toBe(before);
    expect((await b.request('POST', '/v1/subscriptions/held/resume')).body.data.paused).toBe(false);
    await eventually(() => expect(new Set(receiver.requests.filter((r) => r.path === '/hook/held').map((r) => r.json['event_id'])).size).toBe(6), 20_000);
    expect((await a.request('DELETE', '/v1/subscriptions/held')).status).toBe(204);
  });

  it('refuses ordering through the API on this engine, with the field named', async () => {
    const res = await a.request('POST', '/v1/subscriptions', { application: 'shop', action: 'order.placed', handler: '/hook/o', subscription: 'ordered', ordering: { key: '/n' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^ordering: per-key ordering is not available on this daemon's storage engine \(NATS JetStream\)/);
    expect((await a.request('GET', '/v1/subscriptions/ordered')).status).toBe(404);
  });

  it('stores one event for a deduper sent to both at once', async () => {
    const send = (d: TestDaemon, n: number) => d.request('POST', '/v1/events', { action: 'order.placed', payload: { n }, deduper: 'order-77' });
    const answers = await Promise.all([send(a, 1), send(b, 2), send(a, 3), send(b, 4)]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
    expect(new Set(answers.map((r) => r.body.data.id)).size).toBe(1);
  });

  it('shows every gist on either, and the deliveries of both on each one\'s stream', async () => {
    const controller = new AbortController();
    const onB = await streamDeliveries(b.url, controller.signal);
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await (i % 2 ? a : b).request('POST', '/v1/events', { action: 'order.placed', payload: { i } });
      expect(r.status).toBe(201);
      ids.push(r.body.data.id as number);
    }
    await eventually(() => {
      const done = new Set(onB.filter((m) => m['subscription'] === 'mail' && m['state'] === 'delivered').map((m) => m['event_id']));
      expect(ids.filter((id) => !done.has(id))).toEqual([]);
    }, 15_000);
    controller.abort();
    // Both instances delivered some, so what B's stream showed came from both (A's through notices).
    const delivered = async (d: TestDaemon) => {
      const text = (await d.request('GET', '/metrics')).text;
      const m = /^amebo_deliveries_total\{[^}]*subscription="mail"[^}]*outcome="success"[^}]*\} (\d+)/m.exec(text) ?? /^amebo_deliveries_total\{[^}]*outcome="success"[^}]*subscription="mail"[^}]*\} (\d+)/m.exec(text);
      return Number(m?.[1] ?? 0);
    };
    expect(await delivered(a)).toBeGreaterThan(0);
    expect(await delivered(b)).toBeGreaterThan(0);
    for (const d of [a, b]) {
      const listed = await d.request('GET', '/v1/gists?subscription=mail&state=delivered&per_page=1000');
      expect(listed.status).toBe(200);
      const seen = new Set(listed.body.data.map((g: { event_id: number }) => g.event_id));
      expect(ids.filter((id) => !seen.has(id))).toEqual([]);
    }
  });

  it('counts a replay started on one with the deliveries the other makes', async () => {
    const first = await a.request('POST', '/v1/events', { action: 'order.placed', payload: { replay: 1 } });
    await eventually(async () => expect((await a.request('GET', `/v1/gists/${first.body.data.id}.mail`)).body.data.state).toBe('delivered'));
    const started = await a.request('POST', '/v1/replays', { event: first.body.data.id });
    expect(started.status).toBe(202);
    expect(started.body.data.count).toBe(1);
    await eventually(async () => {
      const st = await a.request('GET', `/v1/replays/${started.body.data.replay}`);
      expect(st.body.data).toMatchObject({ done: true, delivered: 1 });
    }, 15_000);
    const gist = await b.request('GET', `/v1/gists/${first.body.data.id}.mail`);
    expect(gist.body.data).toMatchObject({ replays: 1, attempt_count: 2, state: 'delivered' });
  });
});

/** Delivery semantics against real receivers: retries, backoff, dead, Retry-After, delay, dedupe, isolation. */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';
import { FakeClock, settle } from '../helpers/fake-clock.js';
import { yaml } from '../helpers/config.js';

let daemon: TestDaemon | undefined;
const receivers: Receiver[] = [];

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  cleanupTmp();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

async function gist(d: TestDaemon, id = 1) {
  return (await d.request('GET', `/v1/gists/${id}`)).body.data;
}

describe('delivery', () => {
  it('retries 5xx with backoff, counts delivery_attempt, and succeeds', async () => {
    const r = await receiver((_, i) => ({ status: i < 2 ? 503 : 200, body: i < 2 ? 'busy' : 'ok' }));
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { s: { handler: `${r.url}/h` } } }) });
    expect((await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'o1' } })).status).toBe(201);
    const got = await r.waitFor(3);
    expect(got.map((x) => x.json['delivery_attempt'])).toEqual([1, 2, 3]);
    expect(new Set(got.map((x) => x.headers['webhook-id'])).size).toBe(1);
    expect(got.map((x) => x.headers['x-amebo-delivery'])).toEqual(['1_1', '1_2', '1_3']);
    // Backoff: initial 50ms then 100ms (jitter 0), so the gaps grow.
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(45);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(95);
    const g = await eventually(async () => {
      const g = await gist(daemon!);
      expect(g.state).toBe('delivered');
      return g;
    });
    expect(g.attempts.map((a: { status: number; outcome: string }) => [a.status, a.outcome])).toEqual([
      [503, 'retry'],
      [503, 'retry'],
      [200, 'success'],
    ]);
    expect(g.attempts[0].response).toBe('busy');
  });

  it('marks a gist dead when retries are exhausted, and keeps every attempt', async () => {
    const r = await receiver(() => ({ status: 500 }));
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { s: { handler: r.url, extra: 'max_retries: 2' } } }) });
    await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'o1' } });
    const g = await eventually(async () => {
      const g = await gist(daemon!);
      expect(g.state).toBe('dead');
      return g;
    });
    expect(g.attempt_count).toBe(3);
    expect(g.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['retry', 'retry', 'dead']);
    expect(r.requests).toHaveLength(3);
    const dead = await daemon.request('GET', '/v1/gists?state=dead');
    expect(dead.body.meta.total).toBe(1);
  });

  it('kills a gist at once on 410 and on other 4xx, but retries 4xx when the subscription asks', async () => {
    const gone = await receiver(() => ({ status: 410 }));
    const bad = await receiver(() => ({ status: 400 }));
    const retried = await receiver((_, i) => ({ status: i === 0 ? 422 : 200 }));
    daemon = await startDaemon({
      yaml: yaml({ subscriptions: { gone: { handler: gone.url }, bad: { handler: bad.url }, retried: { handler: retried.url, extra: 'retry_4xx: true' } } }),
    });
    await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'o1' } });
    await eventually(async () => {
      const list = (await daemon!.request('GET', '/v1/gists')).body.data as Array<{ subscription: string; state: string; attempt_count: number }>;
      const by = Object.fromEntries(list.map((g) => [g.subscription, [g.state, g.attempt_count]]));
      expect(by).toEqual({ gone: ['dead', 1], bad: ['dead', 1], retried: ['delivered', 2] });
    });
  });

  it('honours Retry-After on 429', async () => {
    const r = await receiver((_, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { s: { handler: r.url } }, delivery: '  max_retries: 3\n  backoff:\n    initial: 10ms\n    max: 5s\n    jitter: 0' }) });
    await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'o1' } });
    const got = await r.waitFor(2);
    // Without Retry-After the retry would come after 10 ms.
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('retries a receiver that hangs past the timeout', async () => {
    const r = await receiver((_, i) => (i === 0 ? { status: 200, delayMs: 1500 } : { status: 200 }));
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { s: { handler: r.url, extra: 'timeout: 300ms' } } }) });
    await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'o1' } });
    const g = await eventually(async () => {
      const g = await gist(daemon!);
      expect(g.state).toBe('delivered');
      return g;
    });
    expect(g.attempts[0].status).toBeNull();
    expect(g.attempts[0].error).toMatch(/timeout/);
    expect(g.attempts[1].status).toBe(200);
  });

  it('delays the first attempt by sleep_until seconds (on a fake clock)', async () => {
    const r = await receiver();
    const clock = new FakeClock(Date.now());
    daemon = await startDaemon({ clock, yaml: yaml({ subscriptions: { s: { handler: r.url } } }) });
    const res = await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'o1' }, sleep_until: 1.5 });
    expect(res.status).toBe(201);
    expect(Date.parse(res.body.data.deliver_after)).toBe(clock.now() + 1_500);
    await clock.advance(1_499);
    await settle();
    expect(r.requests).toHaveLength(0);
    await clock.advance(1);
    await r.waitFor(1, 5000);
    const g = await gist(daemon);
    expect(Date.parse(g.attempts[0].at)).toBe(Date.parse(res.body.data.deliver_after));
  });

  it('makes a publish idempotent per action with deduper', async () => {
    const r = await receiver();
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { s: { handler: r.url } } }) });
    const first = await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'o1' }, deduper: 'o1' });
    const again = await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'o1-changed' }, deduper: 'o1' });
    const other = await daemon.request('POST', '/v1/events', { action: 'order.shipped', payload: {}, deduper: 'o1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual(first.body.data);
    expect(other.status).toBe(201);
    await r.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.requests).toHaveLength(1);
    expect((await daemon.request('GET', '/v1/events')).body.meta.total).toBe(2);
  });

  it('does not let a hanging endpoint slow down another subscription', async () => {
    // The slow endpoint answers nothing for the whole test: whatever the machine's speed, every fast
    // delivery happens while both of its slots hang.
    const slow = await receiver(() => ({ status: 200, delayMs: 25_000 }));
    const fast = await receiver();
    daemon = await startDaemon({
      yaml: yaml({ server: '  shutdown_timeout: 200ms', subscriptions: { slow: { handler: slow.url, extra: 'concurrency: 2\ntimeout: 20s' }, fast: { handler: fast.url } } }),
    });
    const batch = Array.from({ length: 50 }, (_, i) => ({ action: 'order.placed', payload: { order_id: `o${i}` } }));
    expect((await daemon.request('POST', '/v1/events/batch', { events: batch })).status).toBe(201);
    await fast.waitFor(50, 20_000);
    expect(new Set(fast.requests.map((r) => r.json['event_id'])).size).toBe(50);
    // The slow endpoint holds exactly its 2 slots, no more.
    await slow.waitFor(2, 5_000);
    expect(slow.requests).toHaveLength(2);
    const held = await daemon.request('GET', '/v1/gists?subscription=slow&state=pending&per_page=100');
    expect(held.body.meta.total).toBe(50);
  });

  it('bounds the whole attempt: a body trickled byte by byte cannot hold a slot past the timeout', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('x'), 100);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      daemon = await startDaemon({ yaml: yaml({ subscriptions: { s: { handler: url, extra: 'timeout: 500ms\nmax_retries: 0' } } }) });
      await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: 'o1' } });
      const g = await eventually(async () => {
        const g = await gist(daemon!);
        expect(g.state).toBe('dead');
        return g;
      }, 5000);
      expect(g.attempts[0].status).toBe(503);
      expect(g.attempts[0].duration_ms).toBeLessThan(2000);
      expect(g.attempts[0].response).toMatch(/^x+$/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});


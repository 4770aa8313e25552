/**
 * Delivery control over time, on a fake clock (a busy CI machine makes wall-clock bounds flaky): the
 * circuit breaker opening, probing and closing, with amebo's own events; the rate limit; the age of a
 * subscription's oldest undelivered gist. The receivers are real; only time is the test's.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeliveryStates } from '../../src/delivery/states.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver, type ReceiverHandler } from '../helpers/receiver.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';
import { FakeClock, settle } from '../helpers/fake-clock.js';

let daemon: TestDaemon | undefined;
const receivers: Receiver[] = [];

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  cleanupTmp();
});

async function receiver(handler?: ReceiverHandler): Promise<Receiver> {
  const r = await startReceiver(handler);
  receivers.push(r);
  return r;
}

function config(subs: string): string {
  return `server:
  durability: commit
delivery:
  timeout: 5s
  max_retries: 20
  backoff: { initial: 1s, max: 1s, jitter: 0 }
applications:
  shop: { address: "http://127.0.0.1:9", secret: shop-secret-123 }
  sink: { address: "http://127.0.0.1:9", secret: sink-secret-123 }
actions:
  order.placed: { application: shop, schemata: { type: object } }
subscriptions:
${subs.replace(/^/gm, '  ')}
`;
}

/**
 * Nothing more arrives: the clock is the test's, so a correct daemon sends nothing however long this
 * waits; the pause only gives a wrong one the chance to show itself.
 */
async function quiet(r: Receiver, count: number): Promise<void> {
  await settle();
  await new Promise((resolve) => setTimeout(resolve, 150));
  expect(r.requests).toHaveLength(count);
}

async function subscription(d: TestDaemon, name: string) {
  return (await d.request('GET', `/v1/subscriptions/${name}`)).body.data;
}

describe('circuit breaker (fake clock)', () => {
  it('opens after N failures, sends nothing for the cooldown, probes once, and closes on a success', async () => {
    let down = true;
    const api = await receiver(() => ({ status: down ? 503 : 200 }));
    const alerts = await receiver();
    const clock = new FakeClock(Date.now());
    daemon = await startDaemon({
      clock,
      yaml: config(`api:
  application: sink
  action: order.placed
  handler: ${api.url}/in
  circuit: { failures: 3, cooldown: 30s }
alerts:
  application: sink
  action: [amebo.circuit.opened, amebo.circuit.closed]
  handler: ${alerts.url}/alerts
`),
    });
    const first = (await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { n: 1 } })).body.data;
    await api.waitFor(1);
    // Failures 2 and 3 come with the backoff of 1s.
    for (let n = 2; n <= 3; n++) {
      await eventually(async () => expect((await daemon!.request('GET', '/v1/gists?subscription=api')).body.data[0].attempts).toHaveLength(n - 1));
      await clock.advance(1_000);
      await api.waitFor(n);
    }
    const opened = await eventually(async () => {
      const s = await subscription(daemon!, 'api');
      expect(s.circuit.state).toBe('open');
      return s.circuit;
    });
    expect(opened).toMatchObject({ failures: 3, failures_to_open: 3, cooldown: '30s' });
    expect(Date.parse(opened.probe_at) - Date.parse(opened.opened_at)).toBe(30_000);
    const [openedAlert] = await alerts.waitFor(1);
    expect(openedAlert!.json).toMatchObject({ action: 'amebo.circuit.opened', payload: { subscription: 'api', status: 503, event: first.id } });

    expect((await daemon.request('GET', '/health')).body.data.subscriptions.api.circuit.state).toBe('open');
    expect((await daemon.request('GET', '/metrics')).text).toMatch(/^amebo_subscription_circuit_open\{subscription="api"\} 1$/m);

    // While open: more events wait, the retry falls due, and nothing is sent.
    for (let n = 2; n <= 3; n++) await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { n } });
    await clock.advance(29_000);
    await quiet(api, 3);

    // The cooldown is over: one probe, which fails and opens the circuit again for another cooldown.
    await clock.advance(1_000);
    await api.waitFor(4);
    await quiet(api, 4);
    const reopened = await eventually(async () => {
      const c = (await subscription(daemon!, 'api')).circuit;
      expect(c.failures).toBe(4);
      return c;
    });
    expect(reopened.state).toBe('open');
    expect(Date.parse(reopened.opened_at)).toBe(clock.now());
    await clock.advance(29_999);
    await quiet(api, 4);

    // The endpoint is back: the next probe succeeds, the circuit closes, and the backlog flows.
    down = false;
    await clock.advance(1);
    await api.waitFor(7);
    await eventually(async () => expect((await daemon!.request('GET', '/v1/gists?subscription=api&state=delivered')).body.meta.total).toBe(3));
    expect((await subscription(daemon, 'api')).circuit).toMatchObject({ state: 'closed', failures: 0, opened_at: null, probe_at: null });
    const closedAlert = await alerts.waitFor(2);
    expect(closedAlert[1]!.json).toMatchObject({ action: 'amebo.circuit.closed', payload: { subscription: 'api', status: 200 } });

    // Every attempt made is recorded, and none was "used up" while the circuit was open: 3 failures,
    // a failed probe, the probe that worked, and the two events that waited.
    const all = (await daemon.request('GET', '/v1/gists?subscription=api')).body.data as Array<{ attempts: unknown[] }>;
    expect(all.reduce((n, g) => n + g.attempts.length, 0)).toBe(7);
    expect(api.requests).toHaveLength(7);
  });

  it('is off with circuit: false: every retry is attempted on schedule', async () => {
    const api = await receiver(() => ({ status: 503 }));
    const clock = new FakeClock(Date.now());
    daemon = await startDaemon({
      clock,
      yaml: config(`api:
  application: sink
  action: order.placed
  handler: ${api.url}/in
  max_retries: 4
  circuit: false
`),
    });
    await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: {} });
    await api.waitFor(1);
    for (let n = 2; n <= 5; n++) {
      await eventually(async () => expect((await daemon!.request('GET', '/v1/gists?subscription=api')).body.data[0].attempts).toHaveLength(n - 1));
      await clock.advance(1_000);
      await api.waitFor(n);
    }
    await eventually(async () => expect((await daemon!.request('GET', '/v1/gists?subscription=api')).body.data[0].state).toBe('dead'));
    expect((await subscription(daemon, 'api')).circuit.state).toBe('off');
  });
  it('a circuit count that cannot be written after an attempt costs that count, never the recorded attempt', async () => {
    // The attempt is in the log before the circuit is counted; a failed count (a full disk, a KV bucket
    // electing a leader) must not hand back a lease whose outcome is already recorded.
    const api = await receiver(() => ({ status: 503 }));
    const clock = new FakeClock(Date.now());
    const update = vi.spyOn(DeliveryStates.prototype, 'update').mockRejectedValueOnce(new Error('MDB_MAP_FULL: the disk is full'));
    try {
      daemon = await startDaemon({ clock, yaml: config(`api: { application: sink, action: order.placed, handler: ${api.url}/in, circuit: { failures: 3, cooldown: 30s } }\n`) });
      await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { n: 1 } });
      await api.waitFor(1);
      await eventually(() => expect(update).toHaveBeenCalledTimes(1));
      const gist = await eventually(async () => {
        const g = (await daemon!.request('GET', '/v1/gists?subscription=api')).body.data[0];
        expect(g.attempts).toHaveLength(1);
        return g;
      });
      expect(gist).toMatchObject({ state: 'failed' });
      expect(daemon.logs.some((l) => l['msg'] === 'could not update the circuit breaker after an attempt; the attempt is recorded')).toBe(true);
      expect(daemon.logs.some((l) => String(l['msg']).startsWith('could not record a delivery attempt'))).toBe(false);
      // The retry goes out on its schedule as attempt 2 (not attempt 1 again), and is counted.
      await clock.advance(1_000);
      const [, second] = await api.waitFor(2);
      expect(second!.json['delivery_attempt']).toBe(2);
      await eventually(async () => expect((await subscription(daemon!, 'api')).circuit.failures).toBe(1));
    } finally {
      update.mockRestore();
    }
  });
});

describe('rate limit (fake clock)', () => {
  it('sends at most N per second, a burst of N then one every 1/N seconds', async () => {
    const r = await receiver();
    const clock = new FakeClock(Date.now());
    daemon = await startDaemon({
      clock,
      yaml: config(`limited:
  application: sink
  action: order.placed
  handler: ${r.url}/in
  concurrency: 10
  rate_limit: 2/s
`),
    });
    expect((await subscription(daemon, 'limited')).rate_limit).toBe('2/s');
    const events = Array.from({ length: 5 }, (_, i) => ({ action: 'order.placed', payload: { i } }));
    expect((await daemon.request('POST', '/v1/events/batch', { events })).status).toBe(201);
    await r.waitFor(2);
    await quiet(r, 2);
    await clock.advance(499);
    await quiet(r, 2);
    for (let n = 3; n <= 5; n++) {
      await clock.advance(n === 3 ? 1 : 500);
      await r.waitFor(n);
      await quiet(r, n);
    }
    expect(r.requests.map((x) => (x.json['payload'] as { i: number }).i).sort()).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('per-subscription gauges (fake clock)', () => {
  it('reports the backlog and the age of the oldest undelivered gist', async () => {
    const r = await receiver();
    const clock = new FakeClock(Date.now());
    daemon = await startDaemon({
      clock,
      yaml: config(`held:
  application: sink
  action: order.placed
  handler: ${r.url}/in
  paused: true
`),
    });
    await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { n: 1 } });
    await clock.advance(30_000);
    await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { n: 2 } });
    await clock.advance(60_000);
    const metrics = (await daemon.request('GET', '/metrics')).text;
    expect(metrics).toMatch(/^amebo_subscription_backlog\{subscription="held"\} 2$/m);
    expect(metrics).toMatch(/^amebo_subscription_oldest_pending_seconds\{subscription="held"\} 90$/m);
    expect(metrics).toMatch(/^amebo_subscription_paused\{subscription="held"\} 1$/m);
    expect(r.requests).toHaveLength(0);
  });
});

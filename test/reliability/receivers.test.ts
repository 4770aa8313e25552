/**
 * Receiver outages against an in-process daemon (real LMDB, port 0) and real node:http receivers: down
 * (connection refused) then up, hanging past the timeout, answering slowly, flapping 500/200, and 429 or
 * 503 with Retry-After. Every gist ends `delivered`, or `dead` with exactly max_retries + 1 attempts as
 * the contract says, and a healthy subscription on the same action is served promptly while the bad
 * one is stuck (each subscription has its own queue and concurrency limit).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver, type ReceiverHandler } from '../helpers/receiver.js';
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

async function receiver(handler?: ReceiverHandler, port = 0): Promise<Receiver> {
  const r = await startReceiver(handler, port);
  receivers.push(r);
  return r;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Gist {
  id: number;
  event_id: number;
  subscription: string;
  state: string;
  attempt_count: number;
  attempts: Array<{ n: number; at: string; status: number | null; error: string | null; outcome: string; duration_ms: number }>;
}

async function gistsOf(subscription: string): Promise<Gist[]> {
  const res = await daemon!.request('GET', `/v1/gists?subscription=${subscription}&per_page=1000`);
  expect(res.status).toBe(200);
  return res.body.data as Gist[];
}

/** Waits until every gist of `subscription` is closed (delivered or dead), and returns them. */
async function settled(subscription: string, count: number, timeoutMs = 15_000): Promise<Gist[]> {
  return eventually(async () => {
    const gists = await gistsOf(subscription);
    expect(gists).toHaveLength(count);
    for (const g of gists) expect(['delivered', 'dead']).toContain(g.state);
    return gists;
  }, timeoutMs, 50);
}

/** Publishes `n` events and returns when the last 201 came back. */
async function publish(n: number): Promise<number> {
  for (let i = 0; i < n; i++) {
    const res = await daemon!.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: `o${i}` } });
    expect(res.status).toBe(201);
  }
  return Date.now();
}

/** The healthy subscription got every event exactly once; resolves with the time of its last one. */
async function served(ok: Receiver, n: number): Promise<number> {
  const got = await ok.waitFor(n, 20_000);
  expect(new Set(got.map((r) => r.json['event_id'])).size).toBe(n);
  return Math.max(...got.map((r) => r.at));
}

/**
 * The healthy subscription was served before `bad` reached request number `k` (one that can only
 * come after a failing attempt of its own ended): an order of events in one run, not a wall-clock
 * bound, so it holds on a busy machine and fails only if the bad subscription held the healthy one up.
 */
async function servedBefore(ok: Receiver, n: number, bad: Receiver, k: number): Promise<void> {
  const last = await served(ok, n);
  const requests = await bad.waitFor(k, 30_000);
  expect(last).toBeLessThan(requests[k - 1]!.at);
}

const policy = (o: { timeout?: string; retries: number; initial?: string; max?: string }) =>
  `  timeout: ${o.timeout ?? '2s'}\n  max_retries: ${o.retries}\n  backoff:\n    initial: ${o.initial ?? '50ms'}\n    max: ${o.max ?? '200ms'}\n    jitter: 0`;

describe('receiver outages', () => {
  it('retries a receiver that refuses connections, and delivers everything once it is up', async () => {
    // A port with nothing listening: bind one, note it, close it.
    const probe = await startReceiver();
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const ok = await receiver();
    daemon = await startDaemon({
      yaml: yaml({
        delivery: policy({ retries: 100 }),
        // No circuit breaker here (it is tested on its own): every gist keeps retrying while the port is closed.
        subscriptions: { down: { handler: `http://127.0.0.1:${port}/hook`, extra: 'concurrency: 2\ncircuit: false' }, ok: { handler: ok.url } },
      }),
    });
    await publish(10);
    await served(ok, 10);
    // Down for a while: every gist has failed more than once, none is dead.
    await eventually(async () => {
      const gists = await gistsOf('down');
      expect(gists).toHaveLength(10);
      for (const g of gists) {
        expect(g.state).toBe('failed');
        expect(g.attempt_count).toBeGreaterThanOrEqual(3);
      }
    }, 10_000, 50);

    const up = await receiver(undefined, port);
    const gists = await settled('down', 10);
    for (const g of gists) {
      expect(g.state).toBe('delivered');
      const last = g.attempts.at(-1)!;
      expect(last).toMatchObject({ status: 200, outcome: 'success', error: null });
      for (const a of g.attempts.slice(0, -1)) {
        expect(a.status).toBeNull();
        expect(a.outcome).toBe('retry');
        expect(a.error).toMatch(/ECONNREFUSED/);
      }
      expect(g.attempt_count).toBe(g.attempts.length);
    }
    expect(new Set(up.requests.map((r) => r.json['event_id'])).size).toBe(10);
    expect(up.requests).toHaveLength(10);
  });

  it('times out a receiver that hangs, marks the gists dead after max_retries + 1 attempts, and holds only its own slots', async () => {
    const hang = await receiver(() => ({ status: 200, delayMs: 5_000 }));
    const ok = await receiver();
    daemon = await startDaemon({
      yaml: yaml({
        delivery: policy({ retries: 3 }),
        subscriptions: {
          hang: { handler: hang.url, extra: 'timeout: 800ms\nmax_retries: 1\nconcurrency: 2' },
          ok: { handler: ok.url, extra: 'concurrency: 4' },
        },
      }),
    });
    await publish(4);
    // The hanging receiver's third request can only come once one of the first two timed out (its
    // concurrency is 2): the healthy one had everything before that.
    await servedBefore(ok, 4, hang, 3);

    const gists = await settled('hang', 4);
    for (const g of gists) {
      expect(g.state).toBe('dead');
      expect(g.attempt_count).toBe(2);
      expect(g.attempts).toHaveLength(2);
      for (const a of g.attempts) {
        // The attempt that used up the retries is the one marked dead.
        expect(a).toMatchObject({ status: null, outcome: a.n === 2 ? 'dead' : 'retry', error: 'timeout: no answer within 800 ms' });
        expect(a.duration_ms).toBeGreaterThanOrEqual(750);
      }
    }
    expect(hang.requests).toHaveLength(8);
    // Its concurrency of 2 held: never more than two attempts started within one timeout window.
    const starts = hang.requests.map((r) => r.at).sort((a, b) => a - b);
    for (let i = 2; i < starts.length; i++) expect(starts[i]! - starts[i - 2]!).toBeGreaterThanOrEqual(700);
  });

  it('waits for a slow receiver without retrying it, within its concurrency, while others are served', async () => {
    let inflight = 0;
    let peak = 0;
    const slow = await receiver(async () => {
      peak = Math.max(peak, ++inflight);
      await sleep(600);
      inflight--;
      return { status: 200, body: 'took a while' };
    });
    const ok = await receiver();
    daemon = await startDaemon({
      yaml: yaml({
        delivery: policy({ retries: 3 }),
        subscriptions: { slow: { handler: slow.url, extra: 'timeout: 3s\nconcurrency: 3' }, ok: { handler: ok.url } },
      }),
    });
    await publish(9);
    // The slow receiver's fourth request waits for one of its first three (concurrency 3) to answer.
    await servedBefore(ok, 9, slow, 4);
    const gists = await settled('slow', 9);
    for (const g of gists) {
      expect(g).toMatchObject({ state: 'delivered', attempt_count: 1 });
      expect(g.attempts[0]!.duration_ms).toBeGreaterThanOrEqual(550);
    }
    expect(slow.requests).toHaveLength(9);
    expect(peak).toBe(3);
  });

  it('rides out a receiver flapping between 500 and 200, and kills only what exhausts its retries', async () => {
    // Fails every other request it sees, whatever the event.
    const flap = await receiver((_r, i) => ({ status: i % 2 === 0 ? 500 : 200, body: i % 2 === 0 ? 'flap' : 'ok' }));
    // Fails odd events for good, so those exhaust max_retries: 2.
    const half = await receiver((r) => ({ status: Number(r.json['event_id']) % 2 === 1 ? 500 : 200 }));
    const ok = await receiver();
    daemon = await startDaemon({
      yaml: yaml({
        delivery: policy({ retries: 8, initial: '20ms', max: '100ms' }),
        subscriptions: {
          flap: { handler: flap.url, extra: 'concurrency: 3' },
          half: { handler: half.url, extra: 'max_retries: 2' },
          ok: { handler: ok.url },
        },
      }),
    });
    await publish(10);
    await served(ok, 10);

    const flapped = await settled('flap', 10);
    for (const g of flapped) {
      expect(g.state).toBe('delivered');
      expect(g.attempts.at(-1)).toMatchObject({ status: 200, outcome: 'success' });
      for (const a of g.attempts.slice(0, -1)) expect(a).toMatchObject({ status: 500, outcome: 'retry', error: 'HTTP 500' });
    }
    // The log holds exactly what the receiver answered.
    const logged = flapped.flatMap((g) => g.attempts.map((a) => a.status));
    expect(logged).toHaveLength(flap.requests.length);
    expect(logged.filter((s) => s === 500)).toHaveLength(Math.ceil(flap.requests.length / 2));

    const halves = await settled('half', 10);
    for (const g of halves) {
      if (g.event_id % 2 === 1) {
        expect(g).toMatchObject({ state: 'dead', attempt_count: 3 });
        expect(g.attempts.map((a) => [a.status, a.outcome])).toEqual([
          [500, 'retry'],
          [500, 'retry'],
          [500, 'dead'],
        ]);
      } else {
        expect(g).toMatchObject({ state: 'delivered', attempt_count: 1 });
      }
    }
    expect(half.requests).toHaveLength(5 * 3 + 5);
    expect((await daemon.request('GET', '/v1/gists?subscription=half&state=dead')).body.meta.total).toBe(5);
  });

  it('honours Retry-After on 429 and 503 (seconds or a date), capped at backoff.max, and dies after max_retries (on a fake clock)', async () => {
    // Policy over time on the daemon's own clock: the gaps between attempts are exact, whatever the
    // machine is doing. A whole second, so an HTTP date (second resolution) is exact too.
    const clock = new FakeClock(Math.ceil(Date.now() / 1000) * 1000);
    // First attempt of each event: 429 with Retry-After: 1; then 200.
    const seconds = await receiver((r) => (r.json['delivery_attempt'] === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    // 503 with an HTTP date two seconds ahead of the daemon's clock.
    const dated = await receiver((r) =>
      r.json['delivery_attempt'] === 1 ? { status: 503, headers: { 'retry-after': new Date(clock.now() + 2_000).toUTCString() } } : { status: 200 },
    );
    // Always 429 with an hour's Retry-After: capped at backoff.max (300ms), dead after 3 attempts.
    const forever = await receiver(() => ({ status: 429, headers: { 'retry-after': '3600' }, body: 'slow down' }));
    daemon = await startDaemon({
      clock,
      yaml: yaml({
        delivery: policy({ retries: 5, initial: '10ms', max: '5s' }),
        subscriptions: {
          seconds: { handler: seconds.url },
          dated: { handler: dated.url },
          forever: { handler: forever.url, extra: 'max_retries: 2\nbackoff:\n  initial: 10ms\n  max: 300ms\n  jitter: 0' },
        },
      }),
    });
    await publish(3);
    const attempted = (r: Receiver, n: number) => r.waitFor(n, 10_000);
    await Promise.all([attempted(seconds, 3), attempted(dated, 3), attempted(forever, 3)]);
    // Nothing is retried before its time.
    await clock.advance(299);
    await settle();
    expect([seconds.requests.length, dated.requests.length, forever.requests.length]).toEqual([3, 3, 3]);
    await clock.advance(1);
    await attempted(forever, 6);
    await clock.advance(300);
    await attempted(forever, 9);
    await clock.advance(399);
    await settle();
    expect(seconds.requests).toHaveLength(3);
    await clock.advance(1);
    await attempted(seconds, 6);
    await clock.advance(999);
    await settle();
    expect(dated.requests).toHaveLength(3);
    await clock.advance(1);
    await attempted(dated, 6);

    const gap = (g: Gist, from: number) => Date.parse(g.attempts[from + 1]!.at) - Date.parse(g.attempts[from]!.at);
    for (const g of await settled('seconds', 3)) {
      expect(g.attempts.map((a) => [a.status, a.outcome])).toEqual([
        [429, 'retry'],
        [200, 'success'],
      ]);
      // Without Retry-After the retry would come after 10ms.
      expect(gap(g, 0)).toBe(1_000);
    }
    for (const g of await settled('dated', 3)) {
      expect(g.attempts.map((a) => a.status)).toEqual([503, 200]);
      expect(gap(g, 0)).toBe(2_000);
    }
    for (const g of await settled('forever', 3)) {
      expect(g).toMatchObject({ state: 'dead', attempt_count: 3 });
      expect(g.attempts.map((a) => [a.status, a.outcome])).toEqual([
        [429, 'retry'],
        [429, 'retry'],
        [429, 'dead'],
      ]);
      expect([gap(g, 0), gap(g, 1)]).toEqual([300, 300]);
    }
    expect(forever.requests).toHaveLength(9);
  });
});

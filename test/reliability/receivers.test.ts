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

/**
 * The healthy subscription got every event exactly once within `boundMs` of publishing, a bound taken
 * from the failing subscription's own timing, so it passes only if the bad one held nobody else up.
 */
async function servedPromptly(ok: Receiver, n: number, since: number, boundMs: number): Promise<number> {
  const got = await ok.waitFor(n, boundMs + 5_000);
  const elapsed = Math.max(...got.map((r) => r.at)) - since;
  expect(elapsed).toBeLessThan(boundMs);
  expect(new Set(got.map((r) => r.json['event_id'])).size).toBe(n);
  return elapsed;
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
        subscriptions: { down: { handler: `http://127.0.0.1:${port}/hook`, extra: 'concurrency: 2' }, ok: { handler: ok.url } },
      }),
    });
    const since = await publish(10);
    // Refusals are quick, so the bound is that of the first backoff round of the down subscription.
    await servedPromptly(ok, 10, since, 2_000);
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
    const since = await publish(4);
    // Before the hanging receiver's first timeout, the healthy one has everything.
    await servedPromptly(ok, 4, since, 800);
    const stuck = await gistsOf('hang');
    expect(stuck.filter((g) => g.attempt_count === 0)).toHaveLength(4);

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
    const since = await publish(9);
    await servedPromptly(ok, 9, since, 600);
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
    const since = await publish(10);
    await servedPromptly(ok, 10, since, 2_000);

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

  it('honours Retry-After on 429 and 503 (seconds or a date), capped at backoff.max, and dies after max_retries', async () => {
    // First attempt of each event: 429 with Retry-After: 1; then 200.
    const seconds = await receiver((r) => (r.json['delivery_attempt'] === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    // 503 with an HTTP date two seconds ahead (whole seconds, so 1–2 s away).
    const dated = await receiver((r) =>
      r.json['delivery_attempt'] === 1 ? { status: 503, headers: { 'retry-after': new Date(Date.now() + 2_000).toUTCString() } } : { status: 200 },
    );
    // Always 429 with an hour's Retry-After: capped at backoff.max (300ms), dead after 3 attempts.
    const forever = await receiver(() => ({ status: 429, headers: { 'retry-after': '3600' }, body: 'slow down' }));
    const ok = await receiver();
    daemon = await startDaemon({
      yaml: yaml({
        delivery: policy({ retries: 5, initial: '10ms', max: '5s' }),
        subscriptions: {
          seconds: { handler: seconds.url },
          dated: { handler: dated.url },
          forever: { handler: forever.url, extra: 'max_retries: 2\nbackoff:\n  initial: 10ms\n  max: 300ms\n  jitter: 0' },
          ok: { handler: ok.url },
        },
      }),
    });
    const since = await publish(3);
    await servedPromptly(ok, 3, since, 1_000);

    const gap = (g: Gist, from: number) => Date.parse(g.attempts[from + 1]!.at) - Date.parse(g.attempts[from]!.at);
    for (const g of await settled('seconds', 3)) {
      expect(g.attempts.map((a) => [a.status, a.outcome])).toEqual([
        [429, 'retry'],
        [200, 'success'],
      ]);
      // Without Retry-After the retry would come after 10ms.
      expect(gap(g, 0)).toBeGreaterThanOrEqual(950);
      expect(gap(g, 0)).toBeLessThan(3_000);
    }
    for (const g of await settled('dated', 3)) {
      expect(g.attempts.map((a) => a.status)).toEqual([503, 200]);
      expect(gap(g, 0)).toBeGreaterThanOrEqual(900);
      expect(gap(g, 0)).toBeLessThan(4_000);
    }
    for (const g of await settled('forever', 3)) {
      expect(g).toMatchObject({ state: 'dead', attempt_count: 3 });
      expect(g.attempts.map((a) => [a.status, a.outcome])).toEqual([
        [429, 'retry'],
        [429, 'retry'],
        [429, 'dead'],
      ]);
      for (const i of [0, 1]) {
        expect(gap(g, i)).toBeGreaterThanOrEqual(250);
        expect(gap(g, i)).toBeLessThan(3_000);
      }
    }
    expect(forever.requests).toHaveLength(9);
  });
});

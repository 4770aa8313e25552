/**
 * The storage contract (src/log/contract.ts), run against every engine in engines.ts: every behaviour
 * the README promises of the log. Time is a fake clock, so leases, delays and due times are tested
 * without waiting.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppendInput, Gist, LogEngine, Transition } from '../../src/log/contract.js';
import { isAmeboError } from '../../src/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { ENGINES } from './engines.js';
import { eventually } from '../helpers/eventually.js';

const LEASE = { lease_ms: 30_000, wait_ms: 0 };
const input = (action: string, subscriptions: string[] = [], extra: Partial<AppendInput> = {}): AppendInput => ({ action, payload_json: '{"n":1}', subscriptions, ...extra });
const attempt = (clock: FakeClock, status: number | null = 200) => ({ at: clock.now(), status, duration_ms: 1, error: status === 200 ? null : 'HTTP 500', response: null, replay: false });
const failed = (clock: FakeClock, inMs = 1000): Transition => ({ state: 'failed', retry_at: clock.now() + inMs });

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe.each(ENGINES)('the storage contract on $name', (under) => {
  let clock: FakeClock;
  let engine: LogEngine;
  let reopen: () => Promise<LogEngine>;
  const opened: LogEngine[] = [];

  beforeEach(async () => {
    clock = new FakeClock();
    ({ engine, reopen } = await under.open(clock));
    opened.push(engine);
  });

  afterEach(async () => {
    for (const e of opened.splice(0)) await e.close();
    cleanupTmp();
  });

  afterAll(async () => {
    await under.teardown?.();
  });

  const restart = async () => {
    await engine.close();
    engine = await reopen();
    opened.push(engine);
  };

  describe('the event log', () => {
    it('appends events with their gists in one write, with ids that only increase, also across a restart', async () => {
      const out = await engine.events.append([input('a', ['s1', 's2']), input('b', ['s1'])]);
      expect(out.map((o) => [o.event.id, o.duplicate, o.gists])).toEqual([
        [1, false, 2],
        [2, false, 1],
      ]);
      await restart();
      const [third] = await engine.events.append([input('a', ['s2'])]);
      expect(third!.event.id).toBe(3);
      expect((await engine.gists.ofEvent(1)).map((g) => g.subscription)).toEqual(['s1', 's2']);
      const ids = [...(await engine.gists.ofEvent(1)), ...(await engine.gists.ofEvent(2)), ...(await engine.gists.ofEvent(3))].map((g) => g.id);
      // Gist ids are opaque (numbers on LMDB, strings elsewhere): unique, and each names its gist.
      expect(new Set(ids).size).toBe(4);
      for (const id of ids) expect((await engine.gists.get(id))?.id).toEqual(id);
      expect(engine.parseGistId(String(ids[0]))).toEqual(ids[0]);
      if (under.exactBacklog) expect((await engine.stats()).backlog).toBe(4);
      else {
        // JetStream counts event 3 (action a, no gist for s1) in s1's backlog until s1's consumer has
        // handed it out and it was skipped (README: differences from LMDB); then the count is exact.
        expect((await engine.stats()).backlog).toBeGreaterThanOrEqual(4);
        for (const l of await engine.delivery.lease('s1', 5, LEASE)) engine.delivery.release(l, 0);
        await eventually(async () => expect((await engine.stats()).backlog).toBe(4));
      }
    });

    it('keeps event times from going back with ids, even when the clock does', async () => {
      const [a] = await engine.events.append([input('a')]);
      await clock.advance(-60_000);
      const [b] = await engine.events.append([input('a')]);
      expect(Date.parse(b!.event.timestamp)).toBeGreaterThanOrEqual(Date.parse(a!.event.timestamp));
    });

    it('honours a deduper per action, in the log and within one append', async () => {
      const out = await engine.events.append([input('x', ['s'], { deduper: 'k' }), input('x', ['s'], { deduper: 'k', payload_json: '2' }), input('y', [], { deduper: 'k' })]);
      expect(out.map((o) => [o.event.id, o.duplicate, o.gists])).toEqual([
        [1, false, 1],
        [1, true, 0],
        [2, false, 0],
      ]);
      await restart();
      const [again] = await engine.events.append([input('x', ['s'], { deduper: 'k', payload_json: '3' })]);
      expect(again).toMatchObject({ duplicate: true, event: { id: 1, payload_json: '{"n":1}' } });
      expect((await engine.stats()).events).toBe(2);
    });

    it('lists by time range and action, pages, both orders, and scans in log order', async () => {
      for (let i = 1; i <= 20; i++) {
        await clock.advance(1000);
        await engine.events.append([input(i % 2 ? 'odd' : 'even', [], { payload_json: String(i) })]);
      }
      const t = (i: number) => Date.parse('2026-12-01T12:00:00Z') + i * 1000;
      const odd = await engine.events.list({ action: 'odd', from: t(3), to: t(9) }, { page: 1, per_page: 50 });
      expect(odd.items.map((e) => e.id)).toEqual([3, 5, 7, 9]);
      expect((await engine.events.list({ order: 'desc' }, { page: 2, per_page: 5 })).items.map((e) => e.id)).toEqual([15, 14, 13, 12, 11]);
      expect((await engine.events.list({ action: 'even' }, { page: 1, per_page: 3 })).total).toBe(10);
      expect((await engine.events.list({ actions: new Set(['odd']) }, { page: 1, per_page: 3 })).total).toBe(10);
      expect((await engine.events.list({ from: t(5) + 1, to: t(5) + 500 }, { page: 1, per_page: 5 })).total).toBe(0);
      expect((await collect(engine.events.scan({ from: t(18) }))).map((e) => e.payload_json)).toEqual(['18', '19', '20']);
      // A scan restricted to a set of actions (a replay reads only what someone would receive).
      expect((await collect(engine.events.scan({ actions: new Set(['even']), from: t(3), to: t(9) }))).map((e) => e.payload_json)).toEqual(['4', '6', '8']);
      expect((await collect(engine.events.scan({ actions: new Set(['even']), action: 'odd' }))).length).toBe(0);
      expect((await collect(engine.events.scan({ actions: new Set(['odd', 'even']), from: t(17) }))).map((e) => e.id)).toEqual([17, 18, 19, 20]);
      expect(await engine.events.get(7)).toMatchObject({ id: 7, action: 'odd', payload_json: '7' });
      expect(await engine.events.get(99)).toBeUndefined();
    });
  });

  describe('leases', () => {
    it('hands out due gists once, records under the lease, and refuses a stale lease', async () => {
      await engine.events.append([input('a', ['s'])]);
      const [lease] = await engine.delivery.lease('s', 10, LEASE);
      expect(lease).toMatchObject({ gist: { subscription: 's', state: 'pending', attempts: 0 }, event: { id: 1 } });
      expect(await engine.delivery.lease('s', 10, LEASE)).toEqual([]);
      expect(engine.delivery.inflight).toBe(1);
      const recorded = await engine.gists.record(lease!, attempt(clock), { state: 'delivered' });
      expect(recorded).toMatchObject({ state: 'delivered', attempts: 1, next_at: null });
      expect(engine.delivery.inflight).toBe(0);
      await expect(engine.gists.record(lease!, attempt(clock), { state: 'delivered' })).rejects.toSatisfy((e: unknown) => isAmeboError(e, 'AMEBO_ERR_STALE_LEASE'));
      expect(await engine.gists.attempts(lease!.gist.id)).toMatchObject([{ n: 1, status: 200, outcome: 'success' }]);
      expect((await engine.stats()).backlog).toBe(0);
    });

    it('takes an expired lease back, hands the gist out again, and refuses the first holder', async () => {
      await engine.events.append([input('a', ['s'])]);
      const [first] = await engine.delivery.lease('s', 1, { ...LEASE, lease_ms: 5_000 });
      await clock.advance(4_999);
      expect(await engine.delivery.lease('s', 1, LEASE)).toEqual([]);
      await clock.advance(1);
      const [second] = await engine.delivery.lease('s', 1, LEASE);
      expect(second!.gist.id).toBe(first!.gist.id);
      expect(second!.token).not.toBe(first!.token);
      await expect(engine.gists.record(first!, attempt(clock), { state: 'delivered' })).rejects.toSatisfy((e: unknown) => isAmeboError(e, 'AMEBO_ERR_STALE_LEASE'));
      await engine.gists.record(second!, attempt(clock), { state: 'delivered' });
      expect(await engine.gists.attempts(first!.gist.id)).toHaveLength(1);
    });

    it('every open gist is due again after a restart (a lease dies with its process)', async () => {
      await engine.events.append([input('a', ['s', 't'])]);
      expect(await engine.delivery.lease('s', 5, LEASE)).toHaveLength(1);
      await restart();
      expect(await engine.delivery.lease('s', 5, LEASE)).toHaveLength(1);
      expect(await engine.delivery.lease('t', 5, LEASE)).toHaveLength(1);
    });

    it('keeps a delayed gist until its time, and a failed one until its retry', async () => {
      await engine.events.append([input('a', ['s'], { deliver_after: clock.now() + 10_000 })]);
      expect(await engine.delivery.lease('s', 1, LEASE)).toEqual([]);
      await clock.advance(10_000);
      const [lease] = await engine.delivery.lease('s', 1, LEASE);
      expect(lease).toBeDefined();
      const g = await engine.gists.record(lease!, attempt(clock, 500), failed(clock, 2_000));
      expect(g).toMatchObject({ state: 'failed', attempts: 1, next_at: clock.now() + 2_000 });
      expect(await engine.delivery.lease('s', 1, LEASE)).toEqual([]);
      await clock.advance(2_000);
      const [retry] = await engine.delivery.lease('s', 1, LEASE);
      expect(retry!.gist).toMatchObject({ state: 'failed', attempts: 1 });
      expect(await engine.gists.record(retry!, attempt(clock, 500), { state: 'dead' })).toMatchObject({ state: 'dead', next_at: null });
      expect((await engine.gists.list({ state: 'dead' }, { page: 1, per_page: 10 })).total).toBe(1);
      expect((await engine.gists.attempts(retry!.gist.id)).map((a) => a.outcome)).toEqual(['retry', 'dead']);
    });

    it('serves first attempts before a backlog of retries, so a new event is not starved', async () => {
      for (let i = 0; i < 50; i++) await engine.events.append([input('a', ['s'])]);
      const leases = await engine.delivery.lease('s', 50, LEASE);
      for (const l of leases) await engine.gists.record(l, attempt(clock, 500), failed(clock, 1));
      await clock.advance(10);
      // 50 retries are due; one new event arrives. With two slots, the new event gets one of them.
      const [fresh] = await engine.events.append([input('a', ['s'])]);
      const next = await engine.delivery.lease('s', 2, LEASE);
      expect(next.map((l) => l.event.id)).toContain(fresh!.event.id);
      expect(next.filter((l) => l.gist.state === 'failed')).toHaveLength(1);
      // With one slot the lanes take turns.
      for (const l of next) engine.delivery.release(l, 0);
      const a = await engine.delivery.lease('s', 1, LEASE);
      const b = await engine.delivery.lease('s', 1, LEASE);
      expect(new Set([a[0]!.gist.state, b[0]!.gist.state])).toEqual(new Set(['pending', 'failed']));
    });

    it('serves a new event at once behind a backlog of first attempts, and keeps the oldest moving', async () => {
      for (let i = 0; i < 100; i++) await engine.events.append([input('a', ['s'])]);
      await clock.advance(1);
      const [fresh] = await engine.events.append([input('a', ['s'])]);
      const got = await engine.delivery.lease('s', 3, LEASE);
      const ids = got.map((l) => l.event.id);
      expect(ids).toContain(fresh!.event.id);
      expect(ids).toContain(1);
    });

    it('wakes a waiting lease when a gist becomes due', async () => {
      const waiting = engine.delivery.lease('s', 1, { lease_ms: 30_000, wait_ms: 60_000 });
      await clock.advance(1_000);
      await engine.events.append([input('a', ['s'])]);
      const got = await waiting;
      expect(got).toHaveLength(1);
      expect(clock.now()).toBe(Date.parse('2026-12-01T12:00:01Z'));
      // A wait with nothing due ends at its deadline, empty.
      const empty = engine.delivery.lease('s', 1, { lease_ms: 30_000, wait_ms: 5_000 });
      await clock.advance(5_000);
      expect(await empty).toEqual([]);
    });

    it('holds a released gist back for the time asked, then hands it out again', async () => {
      await engine.events.append([input('a', ['s'])]);
      const [lease] = await engine.delivery.lease('s', 1, LEASE);
      engine.delivery.release(lease!, 5_000);
      expect(engine.delivery.inflight).toBe(0);
      await expect(engine.gists.record(lease!, attempt(clock), { state: 'delivered' })).rejects.toSatisfy((e: unknown) => isAmeboError(e, 'AMEBO_ERR_STALE_LEASE'));
      await clock.advance(4_999);
      expect(await engine.delivery.lease('s', 1, LEASE)).toEqual([]);
      await clock.advance(1);
      expect(await engine.delivery.lease('s', 1, LEASE)).toHaveLength(1);
    });

    it('keeps subscriptions apart', async () => {
      await engine.events.append([input('a', ['s', 't'])]);
      expect((await engine.delivery.lease('s', 5, LEASE)).map((l) => l.gist.subscription)).toEqual(['s']);
      expect((await engine.delivery.lease('u', 5, LEASE))).toEqual([]);
      expect((await engine.stats()).backlog_by_subscription).toEqual({ s: 1, t: 1 });
    });
  });

  // Each engine runs the ordering tests that apply to it: order kept, or keys refused (never ignored).
  if (!under.ordering) describe('ordering (an engine without it)', () => {
    it('refuses an ordering key at append and at replay, and stores nothing, so nothing ordered goes out of order', async () => {
      expect(engine.ordering).toBe(false);
      await expect(engine.events.append([input('a', ['s'], { keys: ['A'] })])).rejects.toMatchObject({ code: 'AMEBO_ERR_VALIDATION', message: expect.stringMatching(/ordering/) });
      expect((await engine.events.list({}, { page: 1, per_page: 10 })).items).toEqual([]);
      const [stored] = await engine.events.append([input('a', [])]);
      await expect(engine.gists.replay([{ event: stored!.event.id, subscription: 's', key: 'A' }], clock.now())).rejects.toMatchObject({ code: 'AMEBO_ERR_VALIDATION' });
      // Unordered work is untouched: a null key is no key.
      const [plain] = await engine.events.append([input('a', ['s'], { keys: [null] })]);
      expect((await engine.delivery.lease('s', 10, LEASE)).map((l) => l.event.id)).toEqual([plain!.event.id]);
    });
  });

  if (under.ordering) describe('ordering', () => {
    it('reports that it keeps per-key order', () => {
      expect(engine.ordering).toBe(true);
    });

    it('hands out one gist per key at a time, in log order, and other keys keep flowing', async () => {
      await engine.events.append([input('a', ['s'], { keys: ['A'] }), input('a', ['s'], { keys: ['A'] }), input('a', ['s'], { keys: ['B'] }), input('a', ['s'], { keys: ['A'] })]);
      const first = await engine.delivery.lease('s', 10, LEASE);
      expect(first.map((l) => l.event.id)).toEqual([1, 3]);
      // A's head fails: A waits for its retry, B is done, and A's later events still wait behind it.
      const a1 = first.find((l) => l.event.id === 1)!;
      await engine.gists.record(a1, attempt(clock, 500), failed(clock, 1_000));
      await engine.gists.record(first.find((l) => l.event.id === 3)!, attempt(clock), { state: 'delivered' });
      expect(await engine.delivery.lease('s', 10, LEASE)).toEqual([]);
      await clock.advance(1_000);
      const retry = await engine.delivery.lease('s', 10, LEASE);
      expect(retry.map((l) => l.event.id)).toEqual([1]);
      await engine.gists.record(retry[0]!, attempt(clock), { state: 'delivered' });
      const next = await engine.delivery.lease('s', 10, LEASE);
      expect(next.map((l) => l.event.id)).toEqual([2]);
      // A dead head lets the next one go too.
      await engine.gists.record(next[0]!, attempt(clock, 400), { state: 'dead' });
      expect((await engine.delivery.lease('s', 10, LEASE)).map((l) => l.event.id)).toEqual([4]);
    });

    it('puts a replayed older gist of a key before the later ones', async () => {
      await engine.events.append([input('a', ['s'], { keys: ['A'] })]);
      const [one] = await engine.delivery.lease('s', 1, LEASE);
      const done = await engine.gists.record(one!, attempt(clock), { state: 'delivered' });
      await engine.events.append([input('a', ['s'], { keys: ['A'] })]);
      // Event 2 is A's head now; replaying event 1's gist puts it first again.
      await engine.gists.replay([{ gist: done.id }], clock.now());
      expect((await engine.delivery.lease('s', 10, LEASE)).map((l) => l.event.id)).toEqual([1]);
    });

    it('keeps strict order with one key for everything, and leaves unordered subscriptions alone', async () => {
      await engine.events.append([input('a', ['s', 't'], { keys: ['', null] }), input('a', ['s', 't'], { keys: ['', null] })]);
      expect((await engine.delivery.lease('s', 10, LEASE)).map((l) => l.event.id)).toEqual([1]);
      expect((await engine.delivery.lease('t', 10, LEASE)).map((l) => l.event.id)).toEqual([1, 2]);
    });
  });

  describe('replays', () => {
    async function deliver(sub: string): Promise<Gist> {
      const [lease] = await engine.delivery.lease(sub, 1, LEASE);
      return engine.gists.record(lease!, attempt(clock), { state: 'delivered' });
    }

    it('puts a delivered or dead gist back with retries counted afresh, and creates a gist for a new subscription', async () => {
      await engine.events.append([input('a', ['s'])]);
      const done = await deliver('s');
      await clock.advance(100);
      const [again, created] = await engine.gists.replay([{ gist: done.id }, { event: 1, subscription: 'late' }], clock.now());
      expect(again).toMatchObject({ id: done.id, state: 'pending', retry_base: 1, replays: 1 });
      expect(created).toMatchObject({ event_id: 1, subscription: 'late', state: 'pending', attempts: 0, replays: 1 });
      expect(await engine.delivery.lease('s', 5, LEASE)).toHaveLength(1);
      expect(await engine.delivery.lease('late', 5, LEASE)).toHaveLength(1);
      // Replaying (event, subscription) again reuses that gist.
      const [same] = await engine.gists.replay([{ event: 1, subscription: 'late' }], clock.now());
      expect(same!.id).toBe(created!.id);
    });

    it('replays a gist whose attempt is in flight once that attempt is recorded', async () => {
      await engine.events.append([input('a', ['s'])]);
      const [lease] = await engine.delivery.lease('s', 1, LEASE);
      await engine.gists.replay([{ gist: lease!.gist.id }], clock.now());
      const after = await engine.gists.record(lease!, attempt(clock), { state: 'delivered' });
      expect(after).toMatchObject({ state: 'pending', attempts: 1, retry_base: 1, replays: 1 });
      const [again] = await engine.delivery.lease('s', 1, LEASE);
      expect(again!.gist.id).toBe(lease!.gist.id);
    });

    it('lists and scans gists by state, subscription and event', async () => {
      await engine.events.append([input('a', ['s', 't']), input('a', ['s'])]);
      await deliver('t');
      expect((await engine.gists.list({ state: 'pending' }, { page: 1, per_page: 10 })).total).toBe(2);
      expect((await engine.gists.list({ subscription: 's' }, { page: 1, per_page: 1 })).items).toHaveLength(1);
      expect((await engine.gists.list({ event: 1 }, { page: 1, per_page: 10 })).items.map((g) => g.subscription)).toEqual(['s', 't']);
      expect((await collect(engine.gists.scan({ state: 'delivered' }))).map((g) => g.subscription)).toEqual(['t']);
      expect((await engine.gists.list({ subscriptions: new Set(['t']) }, { page: 1, per_page: 10 })).total).toBe(1);
    });
  });

  describe('retention', () => {
    it('prunes old events whose gists are all delivered, never one with an undelivered or dead gist', async () => {
      await engine.events.append([input('a', ['s']), input('a', ['s']), input('a', ['s']), input('a', [])]);
      const leases = await engine.delivery.lease('s', 3, LEASE);
      await engine.gists.record(leases[0]!, attempt(clock), { state: 'delivered' });
      await engine.gists.record(leases[1]!, attempt(clock, 500), { state: 'dead' });
      engine.delivery.release(leases[2]!, 0);
      await clock.advance(3_600_000);
      const result = await engine.prune({ max_age_ms: 60_000, max_bytes: null, interval_ms: 1000 }, clock.now());
      expect(result).toEqual({ pruned: 2, kept: 2 });
      expect((await engine.events.list({}, { page: 1, per_page: 10 })).items.map((e) => e.id)).toEqual([2, 3]);
      expect(await engine.gists.get(leases[0]!.gist.id)).toBeUndefined();
      expect(await engine.gists.get(leases[1]!.gist.id)).toMatchObject({ state: 'dead' });
    });
  });

  describe('objects', () => {
    it('compares and swaps, watches every change, and keeps objects across a restart', async () => {
      const seen: Array<[string, unknown]> = [];
      engine.objects.watch((c) => seen.push([c.name, c.value]));
      const r1 = await engine.objects.put('application', 'shop', { name: 'shop', n: 1 }, null);
      await expect(engine.objects.put('application', 'shop', { name: 'shop', n: 2 }, null)).rejects.toSatisfy((e: unknown) => isAmeboError(e, 'AMEBO_ERR_CONFLICT'));
      const r2 = await engine.objects.put('application', 'shop', { name: 'shop', n: 2 }, r1);
      expect(r2).toBeGreaterThan(r1);
      await expect(engine.objects.put('application', 'shop', { name: 'shop', n: 3 }, r1)).rejects.toSatisfy((e: unknown) => isAmeboError(e, 'AMEBO_ERR_CONFLICT'));
      const proto = JSON.parse('{"schemata":{"properties":{"__proto__":{"type":"string"}}}}');
      await engine.objects.put('action', 'a.b', proto, null);
      await expect(engine.objects.delete('action', 'a.b', 0)).rejects.toSatisfy((e: unknown) => isAmeboError(e, 'AMEBO_ERR_CONFLICT'));
      expect(seen.map(([name]) => name)).toEqual(['shop', 'shop', 'a.b']);
      await restart();
      const objects = await engine.objects.list();
      expect(objects.map((o) => [o.kind, o.name, o.revision])).toEqual([
        ['action', 'a.b', expect.any(Number)],
        ['application', 'shop', r2],
      ]);
      // A property named __proto__ survives as data, not as a prototype.
      expect(Object.keys((objects[0]!.value as { schemata: { properties: object } }).schemata.properties)).toEqual(['__proto__']);
      await engine.objects.delete('application', 'shop', r2);
      expect((await engine.objects.list()).map((o) => o.name)).toEqual(['a.b']);
    });
  });
});



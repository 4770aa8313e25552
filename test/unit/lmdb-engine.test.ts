/**
 * What only the LMDB engine does: refuse data dirs it must not touch, keep one daemon per data dir,
 * upgrade a format-1 log (the in-memory queue of earlier releases) in place at its first start, and
 * never hide a due gist behind the floors it keeps in its delivery queue.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { LmdbEngine } from '../../src/log/lmdb/index.js';
import type { Gist, Lease, Transition } from '../../src/log/contract.js';
import { isAmeboError } from '../../src/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

const engines: LmdbEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  cleanupTmp();
});

async function start(dataDir: string, clock = new FakeClock()): Promise<LmdbEngine> {
  const engine = new LmdbEngine({ dataDir, durability: 'commit', mapSizeBytes: 64 * 1024 * 1024, clock });
  await engine.start();
  engines.push(engine);
  return engine;
}

describe('the LMDB engine', () => {
  it('refuses a data dir written by a newer amebo, a foreign file, and a path that is not a directory', async () => {
    const newer = tmpDir();
    const env = open({ path: join(newer, 'log.mdb'), maxDbs: 16 });
    await env.openDB({ name: 'meta' }).put('format', 99);
    await env.close();
    await expect(start(newer)).rejects.toThrow(/newer amebo \(log format 99; this build reads up to 2\)/);

    const foreign = tmpDir();
    writeFileSync(join(foreign, 'log.mdb'), 'this is not an LMDB file at all'.repeat(200));
    await expect(start(foreign)).rejects.toThrow(/not an amebo log \(not an LMDB file\)/);

    const file = join(tmpDir(), 'plain-file');
    writeFileSync(file, 'x');
    await expect(start(file)).rejects.toThrow(/not a directory/);
  });

  it('lets one daemon own a data dir', async () => {
    const dir = tmpDir();
    await start(dir);
    await expect(start(dir)).rejects.toThrow(/already open in this process/);
  });

  it('upgrades a format-1 log in place: its open gists are queued on disk and its objects keep their values', async () => {
    const dataDir = tmpDir();
    mkdirSync(dataDir, { recursive: true });
    // A log as format 1 wrote it: the queue lived in memory, rebuilt at boot from `open`.
    const env = open({ path: join(dataDir, 'log.mdb'), maxDbs: 16 });
    const db = (name: string, structured = false) => env.openDB({ name, ...(structured ? { sharedStructuresKey: Symbol.for('structures') } : {}) });
    const meta = db('meta');
    const events = db('events', true);
    const gists = db('gists', true);
    const openDb = db('open');
    const objects = db('objects');
    await env.transaction(() => {
      meta.putSync('format', 1);
      meta.putSync('instance', 'abcd1234');
      events.putSync(1, { id: 1, action: 'a', ts: 1000, payload: '{"n":1}' });
      const gist = (id: number, subscription: string, state: string, due: number | null) =>
        gists.putSync(id, { id, event_id: 1, action: 'a', subscription, state, attempts: state === 'pending' ? 0 : 1, retry_base: 0, next_at: due, created: 1000, updated: 1000, replays: 0 });
      gist(1, 's', 'pending', 1000);
      gist(2, 't', 'failed', 5000);
      gist(3, 'u', 'delivered', null);
      openDb.putSync(1, ['s', 1000]);
      openDb.putSync(2, ['t', 5000]);
      objects.putSync(['application', 'shop'], { name: 'shop', address: 'http://x', secret: 's3cret-shop' });
    });
    await env.close();

    const engine = await start(dataDir);
    expect(engine.instanceId).toBe('abcd1234');
    const stats = await engine.stats();
    expect(stats).toMatchObject({ events: 1, backlog: 2, backlog_by_subscription: { s: 1, t: 1 } });
    const lease = { lease_ms: 1000, wait_ms: 0 };
    expect((await engine.delivery.lease('s', 5, lease)).map((l) => l.gist.id)).toEqual([1]);
    expect((await engine.delivery.lease('t', 5, lease)).map((l) => [l.gist.id, l.gist.state])).toEqual([[2, 'failed']]);
    expect(await engine.delivery.lease('u', 5, lease)).toEqual([]);
    expect(await engine.objects.list()).toMatchObject([{ kind: 'application', name: 'shop', value: { name: 'shop', secret: 's3cret-shop' }, revision: 1 }]);
    // The next write of an object continues from the migrated revisions.
    expect(await engine.objects.put('application', 'shop', { name: 'shop' }, 1)).toBe(2);
  });

  it('lets only the holder of a lease give it back: a stale holder releasing leaves the new holder alone', async () => {
    const clock = new FakeClock();
    const engine = await start(tmpDir(), clock);
    await engine.events.append([{ action: 'a', payload_json: '{}', subscriptions: ['s'] }]);
    const [first] = await engine.delivery.lease('s', 1, { lease_ms: 1_000, wait_ms: 0 });
    await clock.advance(1_500);
    const [second] = await engine.delivery.lease('s', 1, { lease_ms: 1_000, wait_ms: 0 });
    expect(second!.gist.id).toBe(first!.gist.id);
    engine.delivery.release(first!, 0);
    // Still held by the second holder: not handed out again, and its outcome is recorded.
    expect(await engine.delivery.lease('s', 1, { lease_ms: 1_000, wait_ms: 0 })).toEqual([]);
    const at = clock.now();
    expect(await engine.gists.record(second!, { at, status: 200, duration_ms: 1, error: null, response: null, replay: false }, { state: 'delivered' })).toMatchObject({ state: 'delivered' });
  });

  it('never hides a due gist: after any mix of leases, retries due early, releases, expiries and replays, a lease hands out exactly the due gists nobody holds', async () => {
    // The engine reads each lane of `due` from a floor below which everything is held. This drives it
    // with random work on a fake clock and, after every step, compares a lease for everything with
    // the truth: the open gists whose time has come, less those held (by a lease not yet run out, or
    // released to come back later).
    const clock = new FakeClock();
    const engine = await start(tmpDir(), clock);
    const LEASE_MS = 1_000;
    let seed = 11;
    const random = () => {
      // mulberry32: the same run every time, and a failure names its step.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(random() * xs.length)];
    const leases = new Map<number, Lease>();
    const heldBack = new Map<number, number>();
    const lease = async (max: number) => {
      const got = await engine.delivery.lease('s', max, { lease_ms: LEASE_MS, wait_ms: 0 });
      for (const l of got) {
        leases.set(l.gist.id as number, l);
        heldBack.delete(l.gist.id as number);
      }
      return got;
    };
    const all = async (): Promise<Gist[]> => (await engine.gists.list({}, { page: 1, per_page: 10_000 })).items;
    let checks = 0;
    for (let step = 0; step < 500; step++) {
      const r = random();
      if (r < 0.2) {
        await engine.events.append(Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ action: 'a', payload_json: '{}', subscriptions: ['s'] })));
      } else if (r < 0.4) {
        await lease(1 + Math.floor(random() * 3));
      } else if (r < 0.6) {
        const l = pick([...leases.values()]);
        if (!l) continue;
        const o = random();
        // Retries fall due in the past (below a floor), now, or later.
        const next: Transition = o < 0.4 ? { state: 'delivered' } : o < 0.9 ? { state: 'failed', retry_at: clock.now() + Math.floor(random() * 1_000) - 500 } : { state: 'dead' };
        try {
          await engine.gists.record(l, { at: clock.now(), status: 500, duration_ms: 1, error: 'HTTP 500', response: null, replay: false }, next);
        } catch (err) {
          // Its lease ran out and the gist went to another holder (or is due again): a stale lease.
          if (!isAmeboError(err, 'AMEBO_ERR_STALE_LEASE')) throw err;
          expect(l.expires_at).toBeLessThanOrEqual(clock.now());
        }
        if (leases.get(l.gist.id as number) === l) leases.delete(l.gist.id as number);
      } else if (r < 0.7) {
        const l = pick([...leases.values()]);
        if (!l) continue;
        const hold = random() < 0.5 ? 0 : 1 + Math.floor(random() * 300);
        engine.delivery.release(l, hold);
        leases.delete(l.gist.id as number);
        if (hold > 0) heldBack.set(l.gist.id as number, clock.now() + hold);
      } else if (r < 0.8) {
        const g = pick((await all()).filter((x) => x.state === 'delivered' || x.state === 'dead' || heldBack.has(x.id as number) || leases.has(x.id as number)));
        if (!g) continue;
        await engine.gists.replay([{ gist: g.id }], clock.now());
        // A held-back gist is due at once; one in flight goes again once its attempt is recorded.
        heldBack.delete(g.id as number);
      } else {
        await clock.advance(Math.floor(random() * 400));
      }
      if (random() < 0.3) {
        const now = clock.now();
        const busy = (id: number) => (leases.get(id)?.expires_at ?? 0) > now || (heldBack.get(id) ?? 0) > now;
        const expected = (await all())
          .filter((g) => (g.state === 'pending' || g.state === 'failed') && g.next_at! <= now && !busy(g.id as number))
          .map((g) => g.id)
          .sort((a, b) => (a as number) - (b as number));
        const got = (await lease(10_000)).map((l) => l.gist.id).sort((a, b) => (a as number) - (b as number));
        expect(got, `step ${step}`).toEqual(expected);
        checks++;
      }
    }
    // The run exercised the queue: many checks, and some of them found work.
    expect(checks).toBeGreaterThan(100);
    expect((await all()).length).toBeGreaterThan(100);
  });
});


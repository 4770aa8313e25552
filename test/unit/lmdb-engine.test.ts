/**
 * What only the LMDB engine does: refuse data dirs it must not touch, keep one daemon per data dir,
 * and upgrade a format-1 log (the in-memory queue of earlier releases) in place at its first start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { LmdbEngine } from '../../src/log/lmdb/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

const engines: LmdbEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  cleanupTmp();
});

async function start(dataDir: string): Promise<LmdbEngine> {
  const engine = new LmdbEngine({ dataDir, durability: 'commit', mapSizeBytes: 64 * 1024 * 1024, clock: new FakeClock() });
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
});

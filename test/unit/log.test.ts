/** The LMDB key layout on a real LMDB in a temp dir: append, dedupe, id order across reopen, ranges. */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/log/store.js';
import { EventAppender } from '../../src/log/event-log.js';
import { GistLog } from '../../src/log/gist-log.js';
import { LogQuery } from '../../src/log/query.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
  cleanupTmp();
});

function open(dataDir: string) {
  store = openStore({ dataDir, durability: 'commit', mapSizeBytes: 64 * 1024 * 1024 });
  return store;
}

describe('event log', () => {
  it('appends an event and its gists in one transaction, with increasing ids that survive reopen', async () => {
    const dir = tmpDir();
    let t = 1000;
    const clock = { now: () => t };
    const s = open(dir);
    const appender = new EventAppender(s, clock);
    const [a] = await appender.append([{ action: 'x', payload_json: '{"n":1}', subscriptions: ['s1', 's2'] }]);
    expect(a!.event.id).toBe(1);
    expect(a!.gists.map((g) => [g.id, g.subscription])).toEqual([[1, 's1'], [2, 's2']]);
    await s.close();

    const s2 = open(dir);
    // The wall clock steps back: times must still never decrease with ids.
    t = 500;
    const [b] = await new EventAppender(s2, clock).append([{ action: 'x', payload_json: '{}', subscriptions: ['s1'] }]);
    expect(b!.event.id).toBe(2);
    expect(b!.gists[0]!.id).toBe(3);
    expect(Date.parse(b!.event.timestamp)).toBe(1000);
    const gists = new GistLog(s2);
    expect([...gists.openGists()].map(([id, sub]) => [id, sub])).toEqual([[1, 's1'], [2, 's2'], [3, 's1']]);
    expect(new LogQuery(s2).gistsOfEvent(1)).toEqual([1, 2]);
  });

  it('dedupes per action, also within one batch', async () => {
    const s = open(tmpDir());
    const appender = new EventAppender(s, { now: () => 1 });
    const out = await appender.append([
      { action: 'x', payload_json: '1', deduper: 'k', subscriptions: ['s'] },
      { action: 'x', payload_json: '2', deduper: 'k', subscriptions: ['s'] },
      { action: 'y', payload_json: '3', deduper: 'k', subscriptions: [] },
    ]);
    expect(out.map((o) => [o.event.id, o.duplicate])).toEqual([[1, false], [1, true], [2, false]]);
  });

  it('maps time ranges to id ranges and filters by action', async () => {
    const s = open(tmpDir());
    let t = 0;
    const appender = new EventAppender(s, { now: () => t });
    for (let i = 1; i <= 20; i++) {
      t = i * 1000;
      await appender.append([{ action: i % 2 ? 'odd' : 'even', payload_json: String(i), subscriptions: [] }]);
    }
    const q = new LogQuery(s);
    expect(q.idRange(5000, 7000)).toEqual([5, 7]);
    expect(q.idRange(5500, 5600)).toBeNull();
    expect([...q.eventIds({ from: 3000, to: 9000, action: 'odd' })]).toEqual([3, 5, 7, 9]);
    expect(q.events({ order: 'desc' }, { page: 2, per_page: 5 }).items.map((e) => e.id)).toEqual([15, 14, 13, 12, 11]);
    expect(q.events({ action: 'even' }, { page: 1, per_page: 3 }).total).toBe(10);
  });

  it('records attempts and moves gists through failed to dead, counting retries from a replay', async () => {
    const s = open(tmpDir());
    const appender = new EventAppender(s, { now: () => 1 });
    await appender.append([{ action: 'x', payload_json: '{}', subscriptions: ['s'] }]);
    const gists = new GistLog(s);
    const attempt = { at: 2, status: 500, duration_ms: 1, error: 'HTTP 500', response: null, verdict: 'retry' as const, replay: false };
    expect((await gists.record(1, attempt, { max_retries: 1, retry_at: 10 }))!.state).toBe('failed');
    expect((await gists.record(1, attempt, { max_retries: 1, retry_at: 10 }))!.state).toBe('dead');
    expect([...gists.openGists()]).toEqual([]);
    const replayed = await gists.replay(1, 20);
    expect(replayed).toMatchObject({ state: 'pending', retry_base: 2, replays: 1 });
    expect((await gists.record(1, { ...attempt, replay: true }, { max_retries: 1, retry_at: 30 }))!.state).toBe('failed');
    expect(gists.attempts(1).map((a) => [a.n, a.replay])).toEqual([[1, false], [2, false], [3, true]]);
  });

  it('refuses a data dir written by a newer amebo, and a foreign file', async () => {
    const dir = tmpDir();
    const s = open(dir);
    await s.meta.put('format', 99);
    await s.close();
    store = undefined;
    expect(() => open(dir)).toThrow(/newer amebo/);
    store = undefined;

    const foreign = tmpDir();
    mkdirSync(foreign, { recursive: true });
    writeFileSync(join(foreign, 'log.mdb'), 'this is not an LMDB file at all'.repeat(200));
    expect(() => open(foreign)).toThrow(/not an amebo log|was not written by amebo/);
    store = undefined;

    const file = join(tmpDir(), 'plain-file');
    writeFileSync(file, 'x');
    expect(() => open(file)).toThrow(/not a directory/);
    store = undefined;
  });
});

/**
 * `amebo backup` of a live log: taken by the real binary while a daemon publishes as fast as it can,
 * then restored into a new data dir that a new daemon opens with every event acknowledged before the
 * backup began, its gists, and the API objects. The copy is owner-only (the log holds secrets).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { BIN } from '../helpers/child.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { yaml } from '../helpers/config.js';

const run = promisify(execFile);
const daemons: TestDaemon[] = [];

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.close()));
  cleanupTmp();
});

describe('amebo backup', () => {
  it('copies a log under load; the restored copy holds every event acknowledged before the backup began', async () => {
    const dir = tmpDir();
    const config = yaml({ subscriptions: { s: { handler: 'http://127.0.0.1:9/down' } } });
    const d = await startDaemon({ dir, yaml: config });
    daemons.push(d);
    expect((await d.request('POST', '/v1/applications', { application: 'api-app', address: 'http://127.0.0.1:9', secret: 'api-app-secret-1' })).status).toBe(201);

    const acked: Array<{ id: number; at: number }> = [];
    let stop = false;
    const publisher = (async () => {
      for (let i = 0; !stop; i++) {
        const events = Array.from({ length: 50 }, (_, j) => ({ action: 'order.placed', payload: { order_id: `o${i}-${j}` } }));
        const res = await d.request('POST', '/v1/events/batch', { events });
        expect(res.status).toBe(201);
        const at = performance.now();
        for (const r of res.body.data) acked.push({ id: r.data.id, at });
      }
    })();
    while (acked.length < 2_000) await new Promise((resolve) => setTimeout(resolve, 10));

    const file = join(tmpDir(), 'amebo.mdb');
    const began = performance.now();
    const out = await run(BIN, ['backup', '--data', d.dataDir, file]);
    stop = true;
    await publisher;
    expect(out.stdout).toMatch(/amebo\.mdb: [\d.]+ MiB/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const before = acked.filter((a) => a.at < began).map((a) => a.id);
    expect(before.length).toBeGreaterThanOrEqual(2_000);
    // Publishing went on during the backup.
    expect(acked.length).toBeGreaterThan(before.length);

    // A second backup to the same file is refused: a backup never overwrites.
    await expect(run(BIN, ['backup', '--data', d.dataDir, file])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/already exists/) });

    const restored = join(tmpDir(), 'restored');
    mkdirSync(restored);
    copyFileSync(file, join(restored, 'log.mdb'));
    const r = await startDaemon({ dir: tmpDir(), dataDir: restored, yaml: config });
    daemons.push(r);
    const total = (await r.request('GET', '/v1/events?per_page=1')).body.meta.total as number;
    expect(total).toBeGreaterThanOrEqual(before.length);
    const ids = new Set<number>();
    for (let page = 1; ids.size < total; page++) {
      const res = await r.request('GET', `/v1/events?per_page=1000&page=${page}`);
      for (const e of res.body.data) ids.add(e.id);
      if (res.body.data.length === 0) break;
    }
    expect(before.filter((id) => !ids.has(id))).toEqual([]);
    const gists = await r.request('GET', `/v1/gists?event=${before[before.length - 1]}`);
    expect(gists.body.data).toHaveLength(1);
    expect((await r.request('GET', '/v1/applications/api-app')).status).toBe(200);
  });
});

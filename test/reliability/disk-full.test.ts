/**
 * A full disk: amebo runs in a private mount namespace on a 64 MiB tmpfs that a filler file mostly
 * occupies. Publishing until the disk is full must end in 507 with a clear message, never damage what
 * is stored, keep the daemon serving, and recover without a restart once space is freed. amebo stops
 * writing while less than its reserve is free, so LMDB itself never writes into the full disk (where
 * lmdb-js could abort the process: src/log/lmdb/free-space.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnDaemon, type ChildDaemon } from '../helpers/child.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';
import { yaml } from '../helpers/config.js';

let child: ChildDaemon | undefined;
let receiver: Receiver | undefined;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && child) console.log(`daemon exit ${JSON.stringify(child.process.exitCode)} ${child.process.signalCode} output:\n${child.lines.slice(-40).join('\n')}`);
  child?.kill('SIGKILL');
  await child?.exited;
  child = undefined;
  await receiver?.close();
  cleanupTmp();
});

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/v1/events`, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('disk full', () => {
  it('answers 507, keeps serving and keeps every stored event, then recovers when space is freed', async () => {
    const dir = tmpDir();
    const mnt = join(dir, 'mnt');
    receiver = await startReceiver();
    const config = join(dir, 'amebo.yaml');
    writeFileSync(config, yaml({ subscriptions: { s: { handler: receiver.url } }, schema: '{ type: object }' }));
    child = await spawnDaemon({
      config,
      data: join(mnt, 'data'),
      prelude: `mkdir -p "${mnt}" && mount -t tmpfs -o size=64m tmpfs "${mnt}" && head -c 24000000 /dev/zero > "${mnt}/filler"`,
    });
    const url = child.url;
    // Incompressible, so that each event takes its 8 KB on disk.
    const blobs = new Map<number, string>();
    const payload = { blob: randomBytes(6000).toString('base64') };
    const acked: number[] = [];
    let full: { status: number; json: any } | undefined;
    for (let i = 0; i < 5000 && !full; i++) {
      const blob = randomBytes(6000).toString('base64');
      const res = await post(url, { action: 'order.placed', payload: { blob, i } });
      if (res.status === 201) {
        acked.push(res.json.data.id);
        blobs.set(res.json.data.id, blob);
      }
      else full = res;
    }
    expect(full, 'the disk never filled').toBeDefined();
    expect(full!.status).toBe(507);
    expect(full!.json).toMatchObject({ code: 507, error_code: 'AMEBO_ERR_STORAGE_FULL' });
    expect(full!.json.error).toMatch(/storage is full: [\d.]+ MiB is left on the data dir's file system, less than the 32\.0 MiB amebo keeps free.*Nothing was stored/);
    expect(acked.length).toBeGreaterThan(10);

    // Still serving, and nothing already stored is damaged.
    expect((await fetch(`${url}/health`)).status).toBe(200);
    for (const id of [acked[0], acked[Math.floor(acked.length / 2)], acked.at(-1)]) {
      const res = await fetch(`${url}/v1/events/${id}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { data: { payload: { blob: string } } }).data.payload.blob).toBe(blobs.get(id!));
    }

    // Free space from outside the namespace, through the daemon's own view of the file system.
    const filler = `/proc/${child.process.pid}/root${mnt}/filler`;
    expect(existsSync(filler)).toBe(true);
    rmSync(filler);
    const after = await eventually(async () => {
      const res = await post(url, { action: 'order.placed', payload: { ...payload, i: 'after' } });
      expect(res.status).toBe(201);
      return res;
    }, 10_000, 200);
    expect(after.json.data.id).toBeGreaterThan(acked.at(-1)!);

    // Every acknowledged event reaches its subscription, including those whose outcome could not be
    // recorded while the disk was full.
    const wanted = new Set([...acked, after.json.data.id]);
    await receiver.waitFor(1, 20_000, () => {
      const seen = new Set(receiver!.requests.map((r) => r.json['event_id'] as number));
      return [...wanted].every((id) => seen.has(id));
    });
    expect(child.process.exitCode).toBeNull();
    // LMDB never wrote into the full disk: amebo refused first.
    expect(child.lines.filter((l) => /No space left|mdb_page_spill/.test(l))).toEqual([]);
  });
});

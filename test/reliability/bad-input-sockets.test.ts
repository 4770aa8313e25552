/**
 * 10,000 concurrent idle TCP connections against a child-process daemon (bin/amebo serve): it keeps
 * serving, its memory stays bounded, and every socket is released when the clients go. The count is
 * capped by the open-file limit of this process (each side holds one descriptor per socket).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { spawnDaemon, type ChildDaemon } from '../helpers/child.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { yaml } from '../helpers/config.js';
import { eventually } from '../helpers/eventually.js';
import { MiB, peakSampler, rssOf } from './support.js';

const WANTED = 10_000;

let child: ChildDaemon | undefined;
let rss: ReturnType<typeof peakSampler> | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  rss?.stop();
  rss = undefined;
  for (const s of sockets.splice(0)) s.resetAndDestroy();
  child?.kill('SIGKILL');
  await child?.exited;
  child = undefined;
  cleanupTmp();
});

/** The soft limit on open files of this process (children inherit it). */
function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

const fdsOf = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('idle connections', () => {
  it(`holds ${WANTED.toLocaleString('en')} idle sockets, still serves, stays bounded, and releases them`, async () => {
    // Room for this process's own descriptors (vitest, fetch, files) on top of the sockets.
    const count = Math.min(WANTED, openFileLimit() - fdsOf(process.pid) - 512);
    if (count < WANTED) console.log(`[reliability] open-file limit ${openFileLimit()}: opening ${count} sockets instead of ${WANTED}`);
    expect(count).toBeGreaterThan(1000);

    const dir = tmpDir();
    const config = join(dir, 'amebo.yaml');
    // Long enough that no socket is reaped while they are being opened and checked.
    writeFileSync(config, yaml({ subscriptions: {}, server: '  headers_timeout: 25s\n  request_timeout: 30s' }));
    child = await spawnDaemon({ config, data: join(dir, 'data') });
    const pid = child.process.pid!;
    const port = Number(new URL(child.url).port);
    expect((await fetch(`${child.url}/health`)).status).toBe(200);
    const baseFds = fdsOf(pid);
    const baseRss = rssOf(pid);
    const sampler = (rss = peakSampler(() => rssOf(pid)));

    const started = Date.now();
    // In batches, so the listen backlog never overflows into SYN retries.
    for (let i = 0; i < count; i += 500) {
      const batch = await Promise.all(Array.from({ length: Math.min(500, count - i) }, () => open(port)));
      sockets.push(...batch);
    }
    // The daemon has accepted every one of them (give or take the health check's kept-alive socket).
    await eventually(() => expect(fdsOf(pid) - baseFds).toBeGreaterThanOrEqual(count - 1), 15_000, 100);
    const openedMs = Date.now() - started;

    // A normal client is still served at once.
    const health = await fetch(`${child.url}/health`);
    expect(health.status).toBe(200);
    const published = await fetch(`${child.url}/v1/events`, { method: 'POST', body: JSON.stringify({ action: 'order.placed', payload: { order_id: 'amid-idle' } }) });
    expect(published.status).toBe(201);
    expect(sockets.every((s) => !s.destroyed)).toBe(true);
    const held = sampler.sample();

    for (const s of sockets.splice(0)) s.resetAndDestroy();
    await eventually(() => expect(fdsOf(pid) - baseFds).toBeLessThan(50), 15_000, 100);
    const peak = sampler.stop();
    console.log(
      `[reliability] idle sockets: ${count} held for ${openedMs} ms; daemon RSS ${(baseRss / MiB).toFixed(0)} MiB idle, ` +
        `${(held / MiB).toFixed(0)} MiB holding them, peak ${(peak / MiB).toFixed(0)} MiB`,
    );
    // Bounded: a few KiB per idle socket, nowhere near a buffer per connection.
    expect(peak - baseRss).toBeLessThan(256 * MiB);
    expect((await fetch(`${child.url}/health`)).status).toBe(200);
  }, 60_000);
});

/**
 * Retention: old events are pruned in the background, but only when every gist is delivered; dead
 * gists keep their events. Under a steady load the log file stops growing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';

let daemon: TestDaemon | undefined;
const receivers: Receiver[] = [];
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  cleanupTmp();
});

function config(ok: string, gone: string, retention: string): string {
  return `applications:
  shop: { address: "http://127.0.0.1:9", secret: "shop-secret-123" }
actions:
  kept.ok: { application: shop, schemata: { type: object } }
  kept.dead: { application: shop, schemata: { type: object } }
  unheard: { application: shop, schemata: { type: object } }
subscriptions:
  ok: { application: shop, action: kept.ok, handler: "${ok}" }
  gone: { application: shop, action: kept.dead, handler: "${gone}" }
retention:
${retention}
`;
}

describe('retention', () => {
  it('prunes old events whose gists are all delivered, and never those with dead gists', async () => {
    const ok = await startReceiver();
    const gone = await startReceiver(() => ({ status: 410 }));
    receivers.push(ok, gone);
    daemon = await startDaemon({ yaml: config(ok.url, gone.url, '  max_age: 1s\n  interval: 200ms') });
    const ids: Record<string, number[]> = { 'kept.ok': [], 'kept.dead': [], unheard: [] };
    for (const action of Object.keys(ids)) {
      for (let i = 0; i < 5; i++) ids[action]!.push((await daemon.request('POST', '/v1/events', { action, payload: { i } })).body.data.id);
    }
    await ok.waitFor(5);
    await gone.waitFor(5);
    await eventually(async () => {
      for (const id of [...ids['kept.ok']!, ...ids['unheard']!]) expect((await daemon!.request('GET', `/v1/events/${id}`)).status).toBe(404);
    }, 15_000, 100);
    for (const id of ids['kept.dead']!) expect((await daemon.request('GET', `/v1/events/${id}`)).status).toBe(200);
    expect((await daemon.request('GET', '/v1/gists?state=dead')).body.meta.total).toBe(5);
    expect((await daemon.request('GET', '/v1/gists?subscription=ok')).body.meta.total).toBe(0);
    expect(daemon.logText()).toMatch(/kept because they have undelivered or dead gists/);
    // A young event is not pruned.
    const young = (await daemon.request('POST', '/v1/events', { action: 'unheard', payload: {} })).body.data.id;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await daemon.request('GET', `/v1/events/${young}`)).status).toBe(200);
  });

  it('keeps the log file flat under a steady load', async () => {
    const ok = await startReceiver();
    receivers.push(ok);
    daemon = await startDaemon({ yaml: config(ok.url, ok.url, '  max_age: 300ms\n  interval: 100ms') });
    const file = join(daemon.dataDir, 'log.mdb');
    const sizes: number[] = [];
    const blob = 'x'.repeat(1000);
    let sent = 0;
    for (let wave = 0; wave < 12; wave++) {
      const events = Array.from({ length: 300 }, (_, i) => ({ action: 'kept.ok', payload: { blob, wave, i } }));
      expect((await daemon.request('POST', '/v1/events/batch', { events })).status).toBe(201);
      sent += 300;
      await ok.waitFor(sent, 20_000);
      // Let the deliveries be recorded and this wave be pruned before the next one.
      await eventually(async () => expect((await daemon!.request('GET', '/v1/events?per_page=1')).body.meta.total).toBe(0), 15_000, 50);
      sizes.push(statSync(file).size);
    }
    const last = sizes.at(-1)!;
    // 3,600 events of ~1 KiB went through; without pruning the file would hold all of them.
    expect(last).toBeLessThan(sent * blob.length);
    // Flat: over the last six waves (1.8 MB of payload) the file grows by a small fraction of that.
    const grownLate = last - sizes[5]!;
    expect(grownLate).toBeLessThan(0.15 * 6 * 300 * blob.length);
    const health = (await daemon.request('GET', '/health')).body.data;
    expect(health.storage.file_bytes).toBeGreaterThan(0);
    expect(health.storage.live_bytes).toBeLessThan(health.storage.file_bytes);
  });
});

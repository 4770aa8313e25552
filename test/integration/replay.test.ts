/** Replays through the API: slices of history by time, action and subscription; counting and progress. */
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
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

describe('replay', () => {
  it('re-delivers a time slice, marks attempts as replays and keeps delivery_attempt counting', async () => {
    const r = await startReceiver();
    receivers.push(r);
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { s: { handler: r.url } } }) });
    const times: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: `o${i}` } });
      times.push(res.body.data.timestamp);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    await r.waitFor(6);
    await eventually(async () => expect((await daemon!.request('GET', '/v1/gists?state=delivered')).body.meta.total).toBe(6));

    const slice = { from: times[2], to: times[4] };
    const dry = await daemon.request('POST', '/v1/replays', { ...slice, dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body.data.count).toBe(3);
    expect((await daemon.request('GET', '/v1/gists?state=delivered')).body.meta.total).toBe(6);

    const started = await daemon.request('POST', '/v1/replays', slice);
    expect(started.status).toBe(202);
    expect(started.body.data).toMatchObject({ count: 3, replay: expect.stringMatching(/^r_/) });
    const replayed = await r.waitFor(9);
    expect(replayed.slice(6).map((x) => x.json['event_id']).sort()).toEqual([3, 4, 5]);
    expect(replayed.slice(6).every((x) => x.json['delivery_attempt'] === 2)).toBe(true);
    const progress = await eventually(async () => {
      const p = (await daemon!.request('GET', `/v1/replays/${started.body.data.replay}`)).body.data;
      expect(p.done).toBe(true);
      return p;
    });
    expect(progress).toMatchObject({ count: 3, queued: 3, delivered: 3, dead: 0 });
    const gist = (await daemon.request('GET', '/v1/gists/3')).body.data;
    expect(gist.replays).toBe(1);
    expect(gist.attempts.map((a: { replay: boolean }) => a.replay)).toEqual([false, true]);
  });

  it('creates gists for a subscription added after the events, and replays only failed or dead gists with failed', async () => {
    const gone = await startReceiver(() => ({ status: 410 }));
    const late = await startReceiver();
    receivers.push(gone, late);
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { gone: { handler: gone.url } } }) });
    for (let i = 0; i < 3; i++) await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: `o${i}` } });
    await eventually(async () => expect((await daemon!.request('GET', '/v1/gists?state=dead')).body.meta.total).toBe(3));

    await daemon.request('POST', '/v1/applications', { application: 'late-app', address: late.url, secret: 'late-secret-1' });
    expect((await daemon.request('POST', '/v1/subscriptions', { application: 'late-app', action: 'order.placed', handler: '/in', subscription: 'late' })).status).toBe(201);
    const only = await daemon.request('POST', '/v1/replays', { subscription: 'late' });
    expect(only.body.data.count).toBe(3);
    const got = await late.waitFor(3);
    expect(got.every((x) => x.json['delivery_attempt'] === 1 && x.json['subscription'] === 'late')).toBe(true);

    // --failed picks the dead gists of `gone` only.
    const failed = await daemon.request('POST', '/v1/replays', { failed: true, dry_run: true });
    expect(failed.body.data.count).toBe(3);
    const unknown = await daemon.request('POST', '/v1/replays', { subscription: 'nope' });
    expect(unknown.status).toBe(404);
  });
});

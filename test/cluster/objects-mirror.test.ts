/**
 * The API objects mirror of the JetStream engine when it holds what the bucket's leader does not.
 * On nats-server 2.9.10 the chaos test caught one replica keeping a write the new leader never had; a
 * watch on that replica fed it to one instance, whose every compare-and-swap on the key was then
 * refused for good. Here the bucket is changed behind the mirror's back on a real nats-server (a
 * message deleted, the bucket made anew), which leaves the mirror in that same state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { ObjectChange } from '../../src/log/contract.js';
import { NatsEngine } from '../../src/log/nats/index.js';
import { isAmeboError } from '../../src/errors.js';
import { systemClock } from '../../src/types.js';
import { startNatsServers, type NatsServers } from '../helpers/nats-servers.js';
import { natsSettings } from '../contract/engines.js';
import { eventually } from '../helpers/eventually.js';

describe('the API objects mirror ahead of the bucket', () => {
  let nats: NatsServers;
  beforeAll(async () => {
    nats = await startNatsServers(1);
  }, 60_000);
  afterAll(async () => {
    await nats?.close();
  });

  async function open() {
    const prefix = `o${randomBytes(4).toString('hex')}`;
    const engine = new NatsEngine({ settings: natsSettings(nats.urls, prefix), clock: systemClock });
    await engine.start();
    const nc = await connect({ servers: nats.urls.split(',') });
    const jsm = await jetstreamManager(nc);
    const changes: ObjectChange[] = [];
    engine.objects.watch((c) => changes.push(c));
    return {
      engine,
      jsm,
      nc,
      bucket: `${prefix}_objects`,
      changes,
      close: async () => {
        await engine.close();
        await nc.close();
      },
    };
  }

  it('corrects a key from the leader when a compare-and-swap made from the mirror is refused', async () => {
    const t = await open();
    try {
      const r1 = await t.engine.objects.put('state', 'mail', { n: 1 }, null);
      // The leader loses the write; the mirror still holds it at r1 (no watch event says otherwise).
      await t.jsm.streams.deleteMessage(`KV_${t.bucket}`, r1, false);
      expect((await t.engine.objects.list()).map((o) => o.name)).toEqual(['mail']);
      const refused = await t.engine.objects.put('state', 'mail', { n: 2 }, r1).catch((e: unknown) => e);
      expect(isAmeboError(refused, 'AMEBO_ERR_CONFLICT')).toBe(true);
      // Read again, the mirror says what the leader says: no such key; and the listeners were told.
      expect(await t.engine.objects.list()).toEqual([]);
      expect(t.changes.at(-1)).toMatchObject({ kind: 'state', name: 'mail', value: null });
      expect(((await t.engine.stats()).storage as { objects_corrections: number }).objects_corrections).toBeGreaterThan(0);
      // So the caller's next try, made from the mirror, succeeds.
      const r2 = await t.engine.objects.put('state', 'mail', { n: 2 }, null);
      expect(r2).toBeGreaterThan(r1);
      expect((await t.engine.objects.list()).map((o) => [o.name, o.value, o.revision])).toEqual([['mail', { n: 2 }, r2]]);
    } finally {
      await t.close();
    }
  });

  it('rebuilds itself from the leader when its revision stays above the bucket', async () => {
    const t = await open();
    try {
      await t.engine.objects.put('application', 'shop', { name: 'shop' }, null);
      await t.engine.objects.put('application', 'crm', { name: 'crm' }, null);
      const before = t.engine.objects.revision;
      expect(before).toBe(2);
      // The bucket is made anew behind the engine's back, with one other object in it.
      const info = await t.jsm.streams.info(`KV_${t.bucket}`);
      await t.jsm.streams.delete(`KV_${t.bucket}`);
      await t.jsm.streams.add(info.config);
      const kv = await new Kvm(t.nc).open(t.bucket);
      await kv.create('application.mail', JSON.stringify({ name: 'mail' }));
      // Within a few reconciles (once a second), the mirror is the leader's.
      await eventually(async () => {
        expect((await t.engine.objects.list()).map((o) => [o.name, o.revision])).toEqual([['mail', 1]]);
      }, 15_000, 100);
      expect(t.engine.objects.revision).toBe(1);
      expect(t.changes.filter((c) => c.value === null).map((c) => c.name).sort()).toEqual(['crm', 'shop']);
      // And it follows the bucket again.
      const r = await t.engine.objects.put('application', 'mail', { name: 'mail', v: 2 }, 1);
      expect(r).toBe(2);
      await kv.put('application.crm', JSON.stringify({ name: 'crm', v: 3 }));
      await eventually(async () => {
        expect((await t.engine.objects.list()).map((o) => [o.name, o.revision])).toEqual([['crm', 3], ['mail', 2]]);
      }, 15_000, 100);
    } finally {
      await t.close();
    }
  });
});

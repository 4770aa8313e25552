/**
 * The TypeScript client's batching publisher (`client.publisher({lingerMs, maxBatch})`) against a real
 * daemon: promises of stored events, batches cut by size and by linger, an invalid event that rejects
 * only its own promise, publish order kept, flush and close, an unreachable daemon.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AmeboClient, isAmeboError, type AmeboError } from '../../src/client/index.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { yaml } from '../helpers/config.js';

let d: TestDaemon | undefined;
const clients: AmeboClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await d?.close();
  d = undefined;
  cleanupTmp();
});

const client = (url: string, secret?: string): AmeboClient => {
  const c = new AmeboClient({ env: {}, url, secret });
  clients.push(c);
  return c;
};

async function caught(p: Promise<unknown>): Promise<AmeboError> {
  try {
    await p;
  } catch (err) {
    if (isAmeboError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('client.publisher()', () => {
  it('resolves each publish with the stored event, in publish order', async () => {
    d = await startDaemon({ yaml: yaml({ subscriptions: {} }) });
    const c = client(d.url, 'shop-secret-123');
    const pub = c.publisher({ lingerMs: 20, maxBatch: 100 });
    const events = await Promise.all(Array.from({ length: 250 }, (_, i) => pub.publish('order.placed', { order_id: `o${i}` })));
    expect(events).toHaveLength(250);
    // Stored in the order they were published.
    expect(events.map((e) => e.payload)).toEqual(Array.from({ length: 250 }, (_, i) => ({ order_id: `o${i}` })));
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: 250 }, (_, i) => events[0]!.id + i));
    for (const e of [events[0]!, events[249]!]) expect((await c.getEvent(e.id)).payload).toEqual(e.payload);
    await pub.close();
  });

  it('sends a lone event after lingerMs, and a full batch at once', async () => {
    d = await startDaemon({ yaml: yaml({ subscriptions: {} }) });
    const pub = client(d.url).publisher({ lingerMs: 400, maxBatch: 10 });
    const lone = pub.publish('order.placed', { order_id: 'alone' });
    // Still lingering: a timer fires late on a busy machine, never early.
    await new Promise((r) => setTimeout(r, 100));
    expect((await d.core.health()).events).toBe(0);
    expect((await lone).payload).toEqual({ order_id: 'alone' });
    // A full batch goes at once: with a linger of ten minutes, only maxBatch can send these.
    const full = client(d.url).publisher({ lingerMs: 600_000, maxBatch: 10 });
    const ten = await Promise.all(Array.from({ length: 10 }, (_, i) => full.publish('order.placed', { order_id: `full${i}` })));
    expect(ten.map((e) => e.payload)).toEqual(Array.from({ length: 10 }, (_, i) => ({ order_id: `full${i}` })));
    await Promise.all([pub.close(), full.close()]);
  });

  it('rejects only the invalid event of a batch, with the error of its line', async () => {
    d = await startDaemon({ yaml: yaml({ subscriptions: {} }) });
    const pub = client(d.url).publisher({ lingerMs: 50 });
    const good = pub.publish('order.placed', { order_id: 'ok-1' });
    const bad = pub.publish('order.placed', { order_id: 42 });
    const unknown = pub.publish('no.such.action', {});
    const dup1 = pub.publish('order.placed', { order_id: 'd' }, { deduper: 'same' });
    const dup2 = pub.publish('order.placed', { order_id: 'd-again' }, { deduper: 'same' });
    expect((await good).payload).toEqual({ order_id: 'ok-1' });
    const e = await caught(bad);
    expect(e.code).toBe('AMEBO_ERR_SCHEMA_INVALID');
    expect(e.details).toMatchObject({ http_status: 422, violations: [{ pointer: '/order_id' }] });
    expect((await caught(unknown)).code).toBe('AMEBO_ERR_UNKNOWN_ACTION');
    // A repeated deduper resolves with the original event.
    expect((await dup2).id).toBe((await dup1).id);
    expect((await dup2).payload).toEqual({ order_id: 'd' });
    await pub.flush();
    expect((await d.core.health()).events).toBe(2);
  });

  it('flush() and close() wait for every answer; a closed publisher refuses new events', async () => {
    d = await startDaemon({ yaml: yaml({ subscriptions: {} }) });
    // A linger of ten minutes: only flush() and close() can send these.
    const pub = client(d.url).publisher({ lingerMs: 600_000, maxBatch: 1000 });
    const settled: number[] = [];
    for (let i = 0; i < 300; i++) void pub.publish('order.placed', { order_id: `f${i}` }).then((e) => settled.push(e.id));
    expect(pub.pending).toBe(300);
    await pub.flush();
    expect(settled).toHaveLength(300);
    expect((await d.core.health()).events).toBe(300);
    void pub.publish('order.placed', { order_id: 'last' });
    await pub.close();
    expect((await d.core.health()).events).toBe(301);
    expect((await caught(pub.publish('order.placed', { order_id: 'late' }))).code).toBe('AMEBO_ERR_BAD_REQUEST');
    await pub.close();
  });

  it('rejects every queued event with AMEBO_ERR_UNAVAILABLE when the daemon cannot be reached', async () => {
    const pub = client('http://127.0.0.1:9').publisher({ lingerMs: 1 });
    const errs = await Promise.all([caught(pub.publish('order.placed', {})), caught(pub.publish('order.placed', {}))]);
    for (const e of errs) {
      expect(e.code).toBe('AMEBO_ERR_UNAVAILABLE');
      expect(e.message).toContain('127.0.0.1:9');
    }
    await pub.close();
  });

  it('uses the client credentials: a wrong secret rejects the batch with 401', async () => {
    d = await startDaemon({ yaml: yaml({ subscriptions: {} }), env: { AMEBO_ADMIN_TOKEN: 'admin-token-0123456789abcdef' } });
    const wrong = client(d.url, 'not-the-secret').publisher();
    expect((await caught(wrong.publish('order.placed', { order_id: 'x' }))).code).toBe('AMEBO_ERR_UNAUTHORIZED');
    const own = client(d.url, 'shop-secret-123').publisher();
    expect((await own.publish('order.placed', { order_id: 'y' })).payload).toEqual({ order_id: 'y' });
    await Promise.all([wrong.close(), own.close()]);
  });
});


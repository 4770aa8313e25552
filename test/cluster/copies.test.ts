/**
 * A write retried across a leader change can be stored twice on nats-server before 2.11 (copies.ts).
 * The server's side of that is reproduced on a real nats-server: the first try of a write is stored,
 * its answer is lost (a TimeoutError, as when the leader dies), and the stream's duplicate window has
 * passed by the retry, so the server stores the retry as a new message, as a 2.9 leader that had not
 * applied the first try did in the chaos test. The append must answer with the first copy's id and
 * leave one copy in the stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { nanos } from '@nats-io/nats-core';
import type { JetStreamClient, JetStreamPublishOptions } from '@nats-io/jetstream';
import { clients, openConnection, type NatsContext } from '../../src/log/nats/connection.js';
import { Names } from '../../src/log/nats/names.js';
import { ensureStreams } from '../../src/log/nats/setup.js';
import { Routes } from '../../src/log/nats/routes.js';
import { NatsEventLog } from '../../src/log/nats/events.js';
import { MSG_ID } from '../../src/log/nats/records.js';
import { openScan } from '../../src/log/nats/scan.js';
import { systemClock } from '../../src/types.js';
import { startNatsServers, type NatsServers } from '../helpers/nats-servers.js';
import { natsSettings } from '../contract/engines.js';

/** The stream's duplicate window in this test: short, so a retry after it is stored again. */
const WINDOW_MS = 150;

type Fault = 'stored-unanswered' | 'lost' | 'none';

interface Rig {
  readonly ctx: NatsContext;
  readonly events: NatsEventLog;
  /** What the first try of the next writes of each payload does. */
  readonly faults: Map<string, Fault>;
  /** How many tries each payload's write took. */
  readonly tries: Map<string, number>;
  close(): Promise<void>;
}

async function rig(urls: string): Promise<Rig> {
  const settings = natsSettings(urls, `c${randomBytes(4).toString('hex')}`);
  const nc = await openConnection(settings, 'copies test');
  const { js, jsm } = await clients(nc, settings);
  const base: NatsContext = { nc, js, jsm, names: new Names(settings.prefix), settings, clock: systemClock, replicas: 1, process: randomBytes(6).toString('hex') };
  await ensureStreams(base);
  const info = await jsm.streams.info(base.names.events);
  await jsm.streams.update(base.names.events, { ...info.config, duplicate_window: nanos(WINDOW_MS) });
  const faults = new Map<string, Fault>();
  const tries = new Map<string, number>();
  const faulty = {
    async publish(subject: string, data: string | Uint8Array, opts?: Partial<JetStreamPublishOptions>) {
      const payload = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
      tries.set(payload, (tries.get(payload) ?? 0) + 1);
      const fault = faults.get(payload) ?? 'none';
      faults.delete(payload);
      const timeout = () => Object.assign(new Error('the leader went away'), { name: 'TimeoutError' });
      if (fault === 'lost') throw timeout();
      const ack = await js.publish(subject, data, opts);
      if (fault === 'stored-unanswered') {
        // The answer is lost; by the retry the server has forgotten the message id.
        await new Promise((resolve) => setTimeout(resolve, WINDOW_MS * 3));
        throw timeout();
      }
      return ack;
    },
  } as unknown as JetStreamClient;
  const ctx: NatsContext = { ...base, js: faulty };
  const events = new NatsEventLog(ctx, new Routes(ctx));
  await events.start();
  return { ctx, events, faults, tries, close: () => nc.close() };
}

/** Every message of the events stream: sequence, payload and message id. */
async function stored(r: Rig): Promise<Array<{ seq: number; payload: string; msgID: string | undefined }>> {
  const scan = await openScan(r.ctx, { stream: r.ctx.names.events, filter: r.ctx.names.eventSubjects });
  const out: Array<{ seq: number; payload: string; msgID: string | undefined }> = [];
  for await (const { msg, seq } of scan.messages) out.push({ seq, payload: msg.string(), msgID: msg.headers?.get(MSG_ID) });
  return out;
}

const input = (payload: object, deduper?: string) => ({ action: 'a.one', payload_json: JSON.stringify(payload), deduper, subscriptions: [] });

describe('a retried write the server stored twice', () => {
  let nats: NatsServers;
  beforeAll(async () => {
    nats = await startNatsServers(1);
  }, 60_000);
  afterAll(async () => {
    await nats?.close();
  });

  it('answers with the first copy, and deletes the second', async () => {
    const r = await rig(nats.urls);
    try {
      await r.events.append([input({ n: 0 })]);
      r.faults.set('{"n":1}', 'stored-unanswered');
      const [out] = await r.events.append([input({ n: 1 })]);
      expect(r.tries.get('{"n":1}')).toBe(2);
      const after = await stored(r);
      expect(after.map((m) => m.payload)).toEqual(['{"n":0}', '{"n":1}']);
      // The first copy is kept (seq 2); the retry's (seq 3) is gone.
      expect(out!.event.id).toBe(2);
      expect(after[1]!.seq).toBe(2);
      expect(r.events.copies.deleted).toBe(1);
      expect(await r.events.get(3)).toBeUndefined();
      expect((await r.events.get(2))?.payload_json).toBe('{"n":1}');
    } finally {
      await r.close();
    }
  });

  it('keeps a retry whose first try never landed, and touches no other event', async () => {
    const r = await rig(nats.urls);
    try {
      r.faults.set('{"n":1}', 'lost');
      const [a] = await r.events.append([input({ n: 1 })]);
      const [b] = await r.events.append([input({ n: 2 }, 'same')]);
      expect(r.tries.get('{"n":1}')).toBe(2);
      expect(a!.event.id).toBe(1);
      expect(b!.event.id).toBe(2);
      expect(r.events.copies.deleted).toBe(0);
      expect((await stored(r)).map((m) => m.payload)).toEqual(['{"n":1}', '{"n":2}']);
    } finally {
      await r.close();
    }
  });

  it('settles a burst of retries, interleaved with other writes, with one copy of each', async () => {
    const r = await rig(nats.urls);
    try {
      const inputs = Array.from({ length: 40 }, (_, n) => input({ n }));
      for (let n = 0; n < 40; n += 2) r.faults.set(`{"n":${n}}`, 'stored-unanswered');
      const out = await Promise.all(inputs.map((i) => r.events.append([i]).then((o) => o[0]!)));
      const after = await stored(r);
      expect(after).toHaveLength(40);
      expect(new Set(after.map((m) => m.payload)).size).toBe(40);
      expect(r.events.copies.deleted).toBe(20);
      // Each append answered with the id its event is stored under.
      const bySeq = new Map(after.map((m) => [m.seq, m.payload]));
      for (const o of out) expect(bySeq.get(o.event.id)).toBe(o.event.payload_json);
    } finally {
      await r.close();
    }
  });
});

/**
 * POST /v1/events/stream against a real daemon (real LMDB, node:http on port 0): answers in order,
 * each as its commit lands; error lines that do not end the stream; backpressure on a client that
 * does not read; a disconnect mid-stream that loses nothing acknowledged; auth as for POST /v1/events.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { yaml } from '../helpers/config.js';
import { eventually } from '../helpers/eventually.js';

let daemon: TestDaemon | undefined;
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  cleanupTmp();
});

const line = (order_id: unknown, extra: Record<string, unknown> = {}): string => `${JSON.stringify({ action: 'order.placed', payload: { order_id }, ...extra })}\n`;

/** An open stream: write lines, read answer lines as they come. */
interface Stream {
  readonly req: ClientRequest;
  readonly res: IncomingMessage;
  /** Answer lines received so far, parsed. */
  readonly answers: Array<Record<string, any>>;
  /** Resolves once `n` answers have arrived. */
  until(n: number): Promise<void>;
  /** Resolves when the response has ended. */
  readonly ended: Promise<void>;
}

async function openStream(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  const req = request(`${url}/v1/events/stream`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...headers } });
  req.flushHeaders();
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
  const answers: Array<Record<string, any>> = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let rest = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const p of parts) answers.push(JSON.parse(p) as Record<string, any>);
    for (const w of [...waiters]) if (answers.length >= w.n) w.resolve();
  });
  const ended = new Promise<void>((resolve) => res.once('end', resolve));
  return {
    req,
    res,
    answers,
    until: (n) => (answers.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    ended,
  };
}

describe('POST /v1/events/stream', () => {
  it('answers every line in order, each once its commit lands, and error lines do not end the stream', async () => {
    daemon = await startDaemon({ yaml: yaml({ subscriptions: {} }) });
    const s = await openStream(daemon.url);
    // One line at a time: each answer arrives before the next line is sent, so answers are
    // written as commits land, not at the end of the request.
    s.req.write(line('o1'));
    await s.until(1);
    expect(s.answers[0]).toMatchObject({ data: { id: 1, action: 'order.placed', payload: { order_id: 'o1' } } });
    expect(s.answers[0]).not.toHaveProperty('duplicate');
    expect((await daemon.request('GET', '/v1/events/1')).status).toBe(200);

    s.req.write(line(42)); // fails the schema: order_id must be a string
    await s.until(2);
    expect(s.answers[1]).toMatchObject({ code: 422, error_code: 'AMEBO_ERR_SCHEMA_INVALID', details: { violations: [{ pointer: '/order_id', keyword: 'type' }] } });

    // Several lines in one write, mixed: the stream goes on past every kind of bad line.
    s.req.write(
      [
        line('o2', { deduper: 'd-1' }),
        'not json\n',
        '\n',
        `${JSON.stringify({ action: 'no.such.action', payload: {} })}\n`,
        `${JSON.stringify({ action: 'order.placed', payload: { order_id: 'o3' }, priority: 1 })}\n`,
        line('o2-again', { deduper: 'd-1' }),
        line('o4'),
      ].join(''),
    );
    s.req.end();
    await s.ended;
    const kinds = s.answers.map((a) => (a['data'] ? (a['duplicate'] ? `dup ${a['data'].id}` : `ok ${a['data'].id}`) : `${a['code']} ${a['error_code']}`));
    expect(kinds).toEqual([
      'ok 1',
      '422 AMEBO_ERR_SCHEMA_INVALID',
      'ok 2',
      '400 AMEBO_ERR_BAD_JSON',
      '404 AMEBO_ERR_UNKNOWN_ACTION',
      '400 AMEBO_ERR_VALIDATION',
      'dup 2',
      'ok 3',
    ]);
    // The repeat returns the original event, payload and all.
    expect(s.answers[6]!['data'].payload).toEqual({ order_id: 'o2' });
    const log = await daemon.request('GET', '/v1/events');
    expect(log.body.data.map((e: { payload: { order_id: string } }) => e.payload.order_id)).toEqual(['o1', 'o2', 'o4']);
  });

  it('stores and answers the payload exactly as sent, and re-serialises one with a repeated key', async () => {
    daemon = await startDaemon({ yaml: yaml({ subscriptions: {} }) });
    const s = await openStream(daemon.url);
    s.req.write('{"action":"order.placed","payload":{ "order_id" : "o1", "n": 1.50, "big": 12345678901234567890 }}\n');
    // JSON.parse keeps the last of repeated keys; the stored text must not hide the first from receivers.
    s.req.write('{"action":"order.placed","payload":{"order_id":"o2","order_id":"o3"}}\n');
    s.req.end();
    await s.ended;
    const raw = (await fetch(`${daemon.url}/v1/events?order=asc`).then((r) => r.text())).replace(/"timestamp":"[^"]+"/g, '');
    expect(raw).toContain('"payload":{ "order_id" : "o1", "n": 1.50, "big": 12345678901234567890 }');
    expect(raw).toContain('"payload":{"order_id":"o3"}');
  });

  it('holds back a client that does not read its answers, then answers everything', async () => {
    daemon = await startDaemon({ yaml: yaml({ subscriptions: {} }) });
    const s = await openStream(daemon.url);
    s.res.pause();
    const total = 60_000;
    let sent = 0;
    let blocked = false;
    // Writes until the socket pushes back, as a client that honours backpressure does.
    const pump = (): void => {
      while (sent < total) {
        const ok = s.req.write(line(`o${sent++}`));
        if (!ok) {
          blocked = true;
          s.req.once('drain', pump);
          return;
        }
      }
      s.req.end();
    };
    pump();
    // The daemon stops reading once its answers are not read: the log stops growing short of the total.
    const stalled = async (): Promise<number> => {
      const a = (await daemon!.core.health()).events;
      await new Promise((r) => setTimeout(r, 400));
      const b = (await daemon!.core.health()).events;
      return a === b && b > 0 ? b : -1;
    };
    let held = -1;
    await eventually(async () => {
      held = await stalled();
      expect(held).toBeGreaterThan(0);
    }, 15_000);
    console.log(`[backpressure] the log held at ${held} of ${total} events while the client did not read`);
    expect(blocked).toBe(true);
    expect(held).toBeLessThan(total);
    expect(s.answers.length).toBe(0);
    // Reading again lets everything through, in order.
    s.res.resume();
    await s.ended;
    expect(s.answers).toHaveLength(total);
    expect(s.answers.every((a, i) => a['data']?.payload.order_id === `o${i}`)).toBe(true);
    expect((await daemon.core.health()).events).toBe(total);
  }, 60_000);

  it('keeps every acknowledged event when the client disconnects mid-stream', async () => {
    daemon = await startDaemon({ yaml: yaml({ subscriptions: {} }) });
    const s = await openStream(daemon.url);
    for (let i = 0; i < 2000; i++) s.req.write(line(`o${i}`));
    await s.until(100);
    s.req.destroy();
    const acknowledged = s.answers.filter((a) => a['data']).map((a) => a['data'].id as number);
    expect(acknowledged.length).toBeGreaterThanOrEqual(100);
    // Whatever was handed to the log commits; nothing answered is missing.
    await new Promise((r) => setTimeout(r, 200));
    for (const id of acknowledged) expect((await daemon.request('GET', `/v1/events/${id}`)).status).toBe(200);
    const stored = (await daemon.core.health()).events;
    expect(stored).toBeGreaterThanOrEqual(acknowledged.length);
    expect(stored).toBeLessThanOrEqual(2000);
    // The daemon goes on serving, streams included.
    const again = await openStream(daemon.url);
    again.req.end(line('after'));
    await again.ended;
    expect(again.answers[0]).toMatchObject({ data: { payload: { order_id: 'after' } } });
  });

  it('authenticates as POST /v1/events does: a header for the stream, or a secret per line', async () => {
    const ADMIN = 'admin-token-0123456789abcdef';
    daemon = await startDaemon({ yaml: yaml({ subscriptions: {} }), env: { AMEBO_ADMIN_TOKEN: ADMIN } });
    // A wrong header is refused before the stream starts, with the usual envelope.
    const bad = await fetch(`${daemon.url}/v1/events/stream`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', authorization: 'Bearer nope' }, body: line('o1') });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error_code: 'AMEBO_ERR_UNAUTHORIZED' });
    const wrongType = await fetch(`${daemon.url}/v1/events/stream`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: line('o1') });
    expect(wrongType.status).toBe(415);

    const s = await openStream(daemon.url);
    s.req.write(line('no-credentials'));
    s.req.write(line('own-secret', { secret: 'shop-secret-123' }));
    s.req.write(line('wrong-secret', { secret: 'not-a-secret' }));
    s.req.end(`${JSON.stringify({ action: 'order.shipped', payload: {}, secret: 'sink-secret-123' })}\n`);
    await s.ended;
    expect(s.answers.map((a) => a['code'] ?? 'ok')).toEqual([401, 'ok', 401, 403]);

    const admin = await openStream(daemon.url, { authorization: `Bearer ${ADMIN}` });
    admin.req.end(line('as-admin'));
    await admin.ended;
    expect(admin.answers[0]).toMatchObject({ data: { payload: { order_id: 'as-admin' } } });
    expect(daemon.logText()).not.toContain('shop-secret-123');
  });

  it('ends open streams cleanly when the server closes, after answering what it read', async () => {
    daemon = await startDaemon({ yaml: yaml({ subscriptions: {} }) });
    const s = await openStream(daemon.url);
    s.req.write(line('o1'));
    await s.until(1);
    const closing = daemon.close();
    await s.ended;
    await closing;
    daemon = undefined;
    expect(s.answers).toHaveLength(1);
  });
});

/**
 * A `/v1/stream` reader that stops reading must not grow the daemon's memory: the daemon drops it once
 * its socket buffer passes a bound, while publishing goes on and a reader that keeps up is unaffected
 * (it is `amebo tail`'s stream client).
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/client/http.js';
import { openStream, type StreamHandle } from '../../src/client/stream.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';
import { cleanupTmp } from '../helpers/tmp.js';

// The longest action name the config allows, so each stream message is large.
const ACTION = `bulk.${'x'.repeat(120)}`;

let daemon: TestDaemon | undefined;
let slow: Socket | undefined;
let fast: StreamHandle | undefined;
let http: HttpClient | undefined;
afterEach(async () => {
  slow?.destroy();
  await fast?.close();
  await http?.close();
  await daemon?.close();
  cleanupTmp();
});

const streamClients = async (d: TestDaemon): Promise<number> => (await d.core.metrics.streamClients.get()).values[0]?.value ?? 0;

/** Opens a raw stream connection, waits for the response head, then stops reading. */
async function stalledReader(url: string): Promise<Socket> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.write(`GET /v1/stream?types=published HTTP/1.1\r\nHost: ${u.host}\r\nAccept: text/event-stream\r\n\r\n`);
    socket.once('data', (chunk: Buffer) => {
      expect(chunk.toString('latin1')).toMatch(/^HTTP\/1\.1 200/);
      resolve();
    });
  });
  socket.pause();
  return socket;
}

describe('a stream client that stops reading', () => {
  it('is dropped by the daemon while publishes keep succeeding and a live reader keeps up', async () => {
    daemon = await startDaemon({
      yaml: `server:\n  durability: commit\napplications:\n  bulk-app:\n    address: http://127.0.0.1:9\n    secret: bulk-secret-123\nactions:\n  ${ACTION}:\n    application: bulk-app\n    schemata: { type: object }\n`,
    });
    const d = daemon;
    http = new HttpClient({ url: d.url });
    let fastSeen = 0;
    fast = openStream(http, { types: ['published'], onMessage: () => void fastSeen++ });
    slow = await stalledReader(d.url);
    let slowClosed = false;
    slow.on('close', () => (slowClosed = true));
    await eventually(async () => expect(await streamClients(d)).toBe(2));

    // Publish in batches until the daemon lets go of the stalled reader: bounded in count and time.
    const batch = { events: Array.from({ length: 2_000 }, (_, i) => ({ action: ACTION, payload: { i } })) };
    let published = 0;
    const deadline = Date.now() + 45_000;
    while ((await streamClients(d)) === 2 && published < 400_000 && Date.now() < deadline) {
      const r = await d.request('POST', '/v1/events/batch', batch);
      expect(r.status).toBe(201);
      published += batch.events.length;
    }
    expect(await streamClients(d)).toBe(1);

    // Publishing still works, and the reader that keeps up still gets everything.
    const r = await d.request('POST', '/v1/events/batch', batch);
    expect(r.status).toBe(201);
    published += batch.events.length;
    await eventually(() => expect(fastSeen).toBe(published), 20_000);

    // The stalled reader's connection was cut: reading what the kernel buffered ends in a close, and
    // holds far less than everything that was published.
    let bytes = 0;
    slow.on('data', (c: Buffer) => (bytes += c.length));
    slow.resume();
    await eventually(() => expect(slowClosed).toBe(true), 10_000);
    const perMessage = `id: 1\nevent: published\ndata: {"type":"published","event_id":1,"action":"${ACTION}","at":"2026-11-24T00:00:00.000Z","gists":0}\n\n`.length;
    expect(bytes).toBeLessThan(published * perMessage);
  });
});

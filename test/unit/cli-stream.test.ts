import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/client/http.js';
import { openStream, type StreamHandle, type StreamMessage, type StreamStatus } from '../../src/client/stream.js';
import { delivery, startSseServer, type SseServer } from './cli-sse-server.js';

let server: SseServer | undefined;
let http: HttpClient | undefined;
let handle: StreamHandle | undefined;
afterEach(async () => {
  await handle?.close();
  await http?.close();
  await server?.close();
  server = http = handle = undefined;
});

const until = async (cond: () => boolean, ms = 5_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('openStream', () => {
  it('delivers typed messages in order with their ids, and sends filters and the token', async () => {
    server = await startSseServer();
    http = new HttpClient({ url: server.url, token: 'tok' });
    const got: StreamMessage[] = [];
    handle = openStream(http, { action: 'user.created', types: ['delivery', 'stats'], failures: true, onMessage: (m) => void got.push(m) });
    await server.waitForClients(1);
    server.send('delivery', delivery({ gist_id: 100 }));
    server.send('stats', { published_per_s: 1, delivered_per_s: 2, failed_per_s: 0, backlog: 5, inflight: 1, at: 'x' });
    server.send('mystery', { ignored: true });
    await until(() => got.length === 2);
    expect(got[0]).toMatchObject({ type: 'delivery', seq: 1, delivery: { gist_id: 100 } });
    expect(got[1]).toMatchObject({ type: 'stats', seq: 2, stats: { backlog: 5 } });
    expect(server.streamRequests[0]?.['authorization']).toBe('Bearer tok');
    expect(server.streamRequests[0]?.['accept']).toBe('text/event-stream');
    expect(handle.lastEventId()).toBe('3');
  });

  it('reconnects after the daemon drops it and resumes with Last-Event-ID, losing and repeating nothing', async () => {
    server = await startSseServer();
    http = new HttpClient({ url: server.url });
    const ids: Array<number | string> = [];
    const states: string[] = [];
    handle = openStream(http, {
      backoffInitialMs: 20,
      onMessage: (m) => void (m.type === 'delivery' && ids.push(m.delivery.gist_id)),
      onStatus: (s) => void states.push(s.state),
    });
    await server.waitForClients(1);
    server.send('delivery', delivery({ gist_id: 1 }));
    server.send('delivery', delivery({ gist_id: 2 }));
    await until(() => ids.length === 2);
    server.dropClients();
    // Sent while no client is connected: must arrive through the resume buffer.
    server.send('delivery', delivery({ gist_id: 3 }));
    await server.waitForClients(1);
    server.send('delivery', delivery({ gist_id: 4 }));
    await until(() => ids.length === 4);
    expect(ids).toEqual([1, 2, 3, 4]);
    expect(server.streamRequests[1]?.['last-event-id']).toBe('2');
    expect(states).toEqual(['connecting', 'open', 'retrying', 'connecting', 'open']);
  });

  it('keeps retrying while the daemon is down, then connects', async () => {
    server = await startSseServer();
    const url = server.url;
    await server.close();
    http = new HttpClient({ url });
    const statuses: StreamStatus[] = [];
    handle = openStream(http, { backoffInitialMs: 10, backoffMaxMs: 40, onMessage: () => {}, onStatus: (s) => void statuses.push(s) });
    await until(() => statuses.filter((s) => s.state === 'retrying').length >= 3);
    const retry = statuses.find((s) => s.state === 'retrying');
    expect(retry).toMatchObject({ error: { code: 'AMEBO_ERR_UNAVAILABLE' } });
    // Backoff grows but stays under the cap.
    const waits = statuses.flatMap((s) => (s.state === 'retrying' ? [s.retryInMs] : []));
    expect(waits.slice(0, 3)).toEqual([10, 20, 40]);
  });

  it('stops for good when refused (401), with the error', async () => {
    server = await startSseServer({ streamStatus: 401 });
    http = new HttpClient({ url: server.url });
    const statuses: StreamStatus[] = [];
    handle = openStream(http, { backoffInitialMs: 10, onMessage: () => {}, onStatus: (s) => void statuses.push(s) });
    await handle.done;
    expect(statuses.at(-1)).toMatchObject({ state: 'closed', error: { code: 'AMEBO_ERR_UNAUTHORIZED' } });
    expect(server.streamRequests).toHaveLength(1);
  });

  it('close() ends an open stream promptly', async () => {
    server = await startSseServer();
    http = new HttpClient({ url: server.url });
    handle = openStream(http, { onMessage: () => {} });
    await server.waitForClients(1);
    const t = Date.now();
    await handle.close();
    await handle.close();
    expect(Date.now() - t).toBeLessThan(1_000);
    await until(() => server?.clients === 0);
  });
});

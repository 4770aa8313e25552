/**
 * The `amebo tail` screen rendered with ink-testing-library, fed by a real SSE stream from a local
 * node:http server: rows appear, keys filter, pause, open attempts and replay.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { AmeboClient } from '../../src/client/api.js';
import { openStream } from '../../src/client/stream.js';
import type { WireGist } from '../../src/client/types.js';
import { TailApp } from '../../src/tui/TailApp.js';
import type { StreamOpener } from '../../src/tui/useTailStream.js';
import { delivery, startSseServer, type Route, type SseServer } from '../unit/cli-sse-server.js';

let server: SseServer | undefined;
let client: AmeboClient | undefined;
let app: ReturnType<typeof render> | undefined;
afterEach(async () => {
  app?.unmount();
  await client?.close();
  await server?.close();
  app = client = server = undefined;
});

const strip = (s: string | undefined): string => (s ?? '').replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

async function frame(predicate: (text: string) => boolean, ms = 4_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const text = strip(app?.lastFrame());
    if (predicate(text)) return text;
    if (Date.now() > end) throw new Error(`no frame matched; last frame:\n${text}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

const gist = (id: number, over: Partial<WireGist> = {}): WireGist => ({
  id,
  event_id: id,
  action: 'order.paid',
  subscription: 'billing',
  state: 'dead',
  attempt_count: 2,
  next_attempt_at: null,
  created_at: '2026-11-03T10:00:00.000Z',
  updated_at: '2026-11-03T10:00:05.000Z',
  replays: 0,
  last_status: 500,
  last_error: 'HTTP 500',
  attempts: [
    { n: 1, at: '2026-11-03T10:00:00.000Z', status: 503, duration_ms: 20, error: 'HTTP 503', response: 'busy', outcome: 'retry', replay: false },
    { n: 2, at: '2026-11-03T10:00:05.000Z', status: 500, duration_ms: 31, error: 'HTTP 500', response: 'boom: database down', outcome: 'dead', replay: false },
  ],
  ...over,
});

async function start(routes: Record<string, Route> = {}, frameMs = 30) {
  server = await startSseServer({ routes });
  client = new AmeboClient({ url: server.url });
  const c = client;
  const opener: StreamOpener = (handlers) => openStream(c.http, { types: ['delivery', 'stats'], backoffInitialMs: 20, ...handlers });
  app = render(<TailApp openStream={opener} client={c} url={server.url} width={110} height={20} frameMs={frameMs} capacity={500} />);
  await server.waitForClients(1);
  return server;
}

describe('amebo tail screen', () => {
  it('shows the header with rates and backlog, and deliveries newest first', async () => {
    const s = await start();
    await frame((t) => t.includes('● live'));
    s.send('stats', { published_per_s: 12, delivered_per_s: 11.5, failed_per_s: 0.5, backlog: 42, inflight: 3, at: 'x' });
    s.send('delivery', delivery({ gist_id: 1, event_id: 501, action: 'user.created', subscription: 'welcome-emails', status: 200, state: 'delivered' }));
    s.send('delivery', delivery({ gist_id: 2, event_id: 502, action: 'order.paid', subscription: 'billing', status: 500, state: 'dead', error: 'HTTP 500' }));
    const t = await frame((x) => x.includes('502') && x.includes('backlog 42'));
    expect(t).toMatch(/publish 12\/s\s+deliver 11\/s|publish 12\/s\s+deliver 12\/s/);
    expect(t).toContain('fail 0.5/s');
    expect(t).toContain('failures seen 1');
    expect(t).toMatch(/TIME\s+EVENT\s+ACTION\s+SUBSCRIPTION\s+#\s+STATUS\s+LATENCY\s+STATE/);
    const lines = t.split('\n');
    const a = lines.findIndex((l) => l.includes('502'));
    const b = lines.findIndex((l) => l.includes('501'));
    expect(a).toBeGreaterThan(-1);
    expect(a).toBeLessThan(b);
    expect(lines[a]).toMatch(/502\s+order\.paid\s+billing\s+1\s+500\s+13ms\s+dead/);
  });

  it('shows open and probing circuits and paused subscriptions in the header, and nothing when all is well', async () => {
    const s = await start();
    await frame((t) => t.includes('● live'));
    const base = { published_per_s: 1, delivered_per_s: 0, failed_per_s: 1, backlog: 7, inflight: 0, at: 'x' };
    const closed = { state: 'closed', failures: 0, opened_at: null, probe_at: null };
    s.send('stats', {
      ...base,
      subscriptions: {
        billing: { paused: false, paused_by: null, circuit: { state: 'open', failures: 10, opened_at: '2026-12-01T12:00:00.000Z', probe_at: '2026-12-01T12:00:30.000Z' } },
        shipping: { paused: false, paused_by: null, circuit: { state: 'half_open', failures: 12, opened_at: '2026-12-01T11:59:00.000Z', probe_at: '2026-12-01T11:59:30.000Z' } },
        emails: { paused: true, paused_by: 'config', circuit: closed },
      },
    });
    const t = await frame((x) => x.includes('circuit open'));
    expect(t).toContain('circuit open: billing (10 failures, probe 12:00:30)');
    expect(t).toContain('circuit half-open: shipping');
    expect(t).toContain('paused: emails (config)');
    s.send('stats', { ...base, subscriptions: {} });
    const after = await frame((x) => !x.includes('circuit open'));
    expect(after).not.toContain('paused: emails');
  });

  it('filters with / and shows failures only with f', async () => {
    const s = await start();
    s.send('delivery', delivery({ gist_id: 11, event_id: 611, action: 'user.created', subscription: 'welcome-emails' }));
    s.send('delivery', delivery({ gist_id: 12, event_id: 612, action: 'order.paid', subscription: 'billing', state: 'failed', status: 503 }));
    s.send('delivery', delivery({ gist_id: 13, event_id: 613, action: 'order.paid', subscription: 'shipping' }));
    await frame((t) => t.includes('613'));
    app?.stdin.write('/');
    // A chunk as tmux or a paste sends it: the CR inside it still ends the filter input.
    app?.stdin.write('orde');
    app?.stdin.write('r\r');
    let t = await frame((x) => x.includes('filter: order') && !x.includes('611') && !x.includes('enter keep'));
    expect(t).toContain('612');
    expect(t).toContain('613');
    app?.stdin.write('f');
    t = await frame((x) => x.includes('failures only') && !x.includes('613'));
    expect(t).toContain('612');
    // esc clears the filter, f again shows everything.
    app?.stdin.write('\u001b');
    // Ink waits 20 ms after a lone ESC for the rest of an escape sequence; a person types slower.
    await frame((x) => !x.includes('filter:'));
    app?.stdin.write('f');
    await frame((x) => x.includes('611') && x.includes('612') && x.includes('613') && !x.includes('filter:'));
  });

  it('pauses with space: the screen holds still while deliveries keep arriving', async () => {
    const s = await start();
    s.send('delivery', delivery({ gist_id: 21, event_id: 721 }));
    await frame((t) => t.includes('721'));
    app?.stdin.write(' ');
    await frame((t) => t.includes('paused'));
    s.send('delivery', delivery({ gist_id: 22, event_id: 722 }));
    s.send('delivery', delivery({ gist_id: 23, event_id: 723 }));
    const t = await frame((x) => x.includes('+2 new'));
    expect(t).not.toContain('722');
    app?.stdin.write(' ');
    await frame((x) => x.includes('722') && x.includes('723') && !x.includes('paused'));
  });

  it('enter shows the selected gist with every attempt; r replays it', async () => {
    let replays = 0;
    const s = await start({
      'GET /v1/gists/31': () => [200, { data: gist(31) }],
      'POST /v1/gists/31/replay': () => {
        replays++;
        return [202, { data: gist(31, { state: 'pending', replays: 1 }) }];
      },
    });
    s.send('delivery', delivery({ gist_id: 31, event_id: 831, action: 'order.paid', subscription: 'billing', state: 'dead', status: 500 }));
    await frame((t) => t.includes('831'));
    app?.stdin.write('\r');
    await frame((t) => t.includes('select a delivery first'));
    app?.stdin.write('\u001b[B');
    await frame((t) => t.includes('›'));
    app?.stdin.write('\r');
    let t = await frame((x) => x.includes('gist 31') && x.includes('boom: database down'));
    expect(t).toMatch(/#\s+TIME\s+STATUS\s+DURATION\s+OUTCOME\s+ERROR\s+RESPONSE/);
    expect(t).toMatch(/1\s+2026-11-03T10:00:00.000Z\s+503\s+20ms\s+retry\s+HTTP 503\s+busy/);
    expect(t).toContain('last error: HTTP 500');
    expect(s.calls).toContain('GET /v1/gists/31');
    app?.stdin.write('r');
    t = await frame((x) => x.includes('gist 31 queued for redelivery'));
    expect(t).toContain('pending');
    expect(replays).toBe(1);
    app?.stdin.write('\u001b');
    await frame((x) => x.includes('831') && x.includes('SUBSCRIPTION'));
    // r on the list replays the selected row too.
    app?.stdin.write('r');
    await frame(() => replays === 2);
  });

  it('shows a failed replay as an error in the footer', async () => {
    const s = await start({
      'POST /v1/gists/41/replay': () => [404, { error: 'gist 41 not found', code: 404, error_code: 'AMEBO_ERR_NOT_FOUND' }],
    });
    s.send('delivery', delivery({ gist_id: 41, event_id: 941 }));
    await frame((t) => t.includes('941'));
    app?.stdin.write('j');
    app?.stdin.write('r');
    await frame((t) => t.includes('replay of gist 41 failed: gist 41 not found'));
  });

  it('says when it lost the daemon and recovers when it is back', async () => {
    const s = await start();
    s.send('delivery', delivery({ gist_id: 51, event_id: 1051 }));
    await frame((t) => t.includes('1051') && t.includes('● live'));
    s.dropClients();
    s.send('delivery', delivery({ gist_id: 52, event_id: 1052 }));
    await frame((t) => t.includes('1052') && t.includes('● live'));
    expect(s.streamRequests.at(-1)?.['last-event-id']).toBe('1');
  });

  it('stays smooth at 2,000 deliveries/s: about 10 frames a second, bounded rows', async () => {
    const s = await start({}, 100);
    await frame((t) => t.includes('● live'));
    const before = app?.frames.length ?? 0;
    const started = Date.now();
    // 2,000 deliveries over one second, in bursts of 20 every 10 ms.
    for (let i = 0; i < 100; i++) {
      for (let j = 0; j < 20; j++) s.send('delivery', delivery({ event_id: 10_000 + i * 20 + j, state: j === 0 ? 'dead' : 'delivered' }));
      await new Promise((r) => setTimeout(r, 10));
    }
    const t = await frame((x) => x.includes('(2,000 deliveries)'));
    const elapsed = Date.now() - started;
    const frames = (app?.frames.length ?? 0) - before;
    // 10 frames/s plus one for the tail of the burst; far below one frame per delivery.
    expect(frames).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 3);
    expect(t).toContain('failures seen 100');
    // The newest delivery is on top; only a screenful of rows is drawn.
    expect(t).toContain('11999');
    expect(t.split('\n').filter((l) => /\d{2}:\d{2}:\d{2}\.\d{3}/.test(l)).length).toBeLessThanOrEqual(15);
  });
});

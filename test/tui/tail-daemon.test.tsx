/**
 * `amebo tail` against a real amebo: the Ink app (ink-testing-library frames) reads the daemon's own
 * `/v1/stream` while events are published and delivered to real receivers; keys filter, pause, open a
 * gist's attempts and replay it through the daemon.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { AmeboClient } from '../../src/client/api.js';
import { openStream } from '../../src/client/stream.js';
import { TailApp } from '../../src/tui/TailApp.js';
import type { StreamOpener } from '../../src/tui/useTailStream.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { yaml } from '../helpers/config.js';
import { eventually } from '../helpers/eventually.js';
import { cleanupTmp } from '../helpers/tmp.js';

let daemon: TestDaemon;
let ok: Receiver;
let failing: Receiver;
let client: AmeboClient;
let app: ReturnType<typeof render> | undefined;

beforeEach(async () => {
  ok = await startReceiver();
  failing = await startReceiver(() => ({ status: 503, body: 'maintenance' }));
  daemon = await startDaemon({
    yaml: yaml({
      subscriptions: {
        'ok-hook': { handler: `${ok.url}/hooks` },
        'bad-hook': { handler: `${failing.url}/hooks`, extra: 'max_retries: 1' },
        'ship-hook': { handler: `${ok.url}/ship`, action: 'order.shipped' },
      },
    }),
  });
  client = new AmeboClient({ url: daemon.url });
});

afterEach(async () => {
  app?.unmount();
  app = undefined;
  await client.close();
  await daemon.close();
  await ok.close();
  await failing.close();
  cleanupTmp();
});

const strip = (s: string | undefined): string => (s ?? '').replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
const screen = (): string => strip(app?.lastFrame());
const rowsOf = (text: string): string[] => text.split('\n').filter((l) => /\d{2}:\d{2}:\d{2}\.\d{3}/.test(l));

function mount(): void {
  const opener: StreamOpener = (handlers) =>
    openStream(client.http, { types: ['delivery', 'stats'], backoffInitialMs: 50, failFast: true, ...handlers });
  app = render(<TailApp openStream={opener} client={client} url={daemon.url} width={120} height={24} frameMs={50} />);
}

async function publish(action: string, orderId: string): Promise<void> {
  const r = await daemon.request('POST', '/v1/events', { action, payload: { order_id: orderId } });
  expect(r.status).toBe(201);
}

describe('amebo tail against a real daemon', () => {
  it('shows live deliveries with state and header stats; filters, failures only, pause', async () => {
    mount();
    await eventually(() => expect(screen()).toContain('● live'));
    await publish('order.placed', 'P1');
    await publish('order.shipped', 'S1');
    // order.placed → ok-hook (delivered) + bad-hook (failed, then dead); order.shipped → ship-hook.
    await eventually(() => {
      const rows = rowsOf(screen());
      expect(rows.some((r) => /order\.placed\s+ok-hook\s+1\s+200\s+\S+\s+delivered/.test(r))).toBe(true);
      expect(rows.some((r) => /order\.placed\s+bad-hook\s+1\s+503\s+\S+\s+failed/.test(r))).toBe(true);
      expect(rows.some((r) => /order\.placed\s+bad-hook\s+2\s+503\s+\S+\s+dead/.test(r))).toBe(true);
      expect(rows.some((r) => /order\.shipped\s+ship-hook\s+1\s+200/.test(r))).toBe(true);
    });
    await eventually(() => expect(screen()).toMatch(/failures seen 2\s+\(4 deliveries\)/));
    // The daemon's stats message reaches the header (once a second).
    await eventually(() => expect(screen()).toMatch(/backlog 0\s+inflight 0/), 5_000);

    app?.stdin.write('/');
    for (const ch of 'ship') app?.stdin.write(ch);
    app?.stdin.write('\r');
    await eventually(() => {
      const rows = rowsOf(screen());
      expect(rows).toHaveLength(1);
      expect(rows[0]).toContain('ship-hook');
    });
    app?.stdin.write('\u001b');
    await eventually(() => expect(rowsOf(screen())).toHaveLength(4));

    app?.stdin.write('f');
    await eventually(() => {
      const rows = rowsOf(screen());
      expect(rows).toHaveLength(2);
      for (const r of rows) expect(r).toMatch(/bad-hook.*(failed|dead)/);
    });
    app?.stdin.write('f');

    app?.stdin.write(' ');
    await eventually(() => expect(screen()).toContain('paused'));
    await publish('order.shipped', 'S2');
    await eventually(() => expect(screen()).toContain('(+1 new)'));
    expect(rowsOf(screen())).toHaveLength(4);
    app?.stdin.write(' ');
    await eventually(() => expect(rowsOf(screen())).toHaveLength(5));
  });

  it("shows the subscriptions that need attention in the header: paused ones, from the daemon's stats", async () => {
    mount();
    await eventually(() => expect(screen()).toContain('● live'));
    expect(screen()).not.toContain('paused: ');
    expect((await daemon.request('POST', '/v1/subscriptions/ship-hook/pause')).status).toBe(200);
    await eventually(() => expect(screen()).toContain('paused: ship-hook (api)'), 5_000);
    expect((await daemon.request('POST', '/v1/subscriptions/ship-hook/resume')).status).toBe(200);
    await eventually(() => expect(screen()).not.toContain('paused: ship-hook'), 5_000);
  });

  it('opens the selected gist with its attempts and replays it through the daemon', async () => {
    mount();
    await eventually(() => expect(screen()).toContain('● live'));
    await publish('order.placed', 'R1');
    await eventually(() => expect(screen()).toMatch(/bad-hook\s+2\s+503\s+\S+\s+dead/));
    // Newest first: the dead attempt is on top unless ok-hook's delivery came later; select it by moving.
    const rows = rowsOf(screen());
    const target = rows.findIndex((r) => /bad-hook\s+2\s+503/.test(r));
    for (let i = 0; i <= target; i++) app?.stdin.write('\u001b[B');
    await eventually(() => expect(screen()).toMatch(/›.*bad-hook\s+2\s+503/));
    const gists = (await daemon.request('GET', '/v1/gists?subscription=bad-hook')).body.data;
    const id = gists[0].id as number;

    app?.stdin.write('\r');
    await eventually(() => {
      const t = screen();
      expect(t).toContain(`gist ${id}`);
      expect(t).toMatch(/dead\s+· 2 attempts · 0 replays/);
      expect(t).toMatch(/1\s+\S+\s+503\s+\S+\s+retry\s+HTTP 503\s+maintenance/);
      // The attempt that used up the retries: the daemon currently records its outcome as retry.
      expect(t).toMatch(/2\s+\S+\s+503\s+\S+\s+(dead|retry)\s+HTTP 503\s+maintenance/);
    });

    const before = failing.requests.length;
    app?.stdin.write('r');
    await eventually(() => expect(screen()).toContain(`gist ${id} queued for redelivery`));
    await eventually(() => expect(failing.requests.length).toBeGreaterThan(before));
    const after = (await daemon.request('GET', `/v1/gists/${id}`)).body.data;
    expect(after.replays).toBe(1);
    // The replayed attempts stream in as rows marked ↻.
    app?.stdin.write('\u001b');
    await eventually(() => expect(screen()).toMatch(/bad-hook\s+\d↻\s+503/));
  });

  it('reconnects after the daemon restarts and keeps showing deliveries', async () => {
    // The client talks to a loopback TCP proxy, so the restarted daemon (on a new port) is reachable
    // at the same URL.
    let target = new URL(daemon.url);
    const sockets = new Set<Socket>();
    const proxy = createServer((inbound) => {
      const outbound = connect(Number(target.port), target.hostname);
      sockets.add(inbound).add(outbound);
      inbound.pipe(outbound).pipe(inbound);
      const end = (): void => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on('error', end).on('close', end);
      outbound.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    await client.close();
    client = new AmeboClient({ url: proxyUrl });
    try {
      mount();
      await eventually(() => expect(screen()).toContain('● live'));
      await publish('order.shipped', 'B1');
      await eventually(() => expect(rowsOf(screen())).toHaveLength(1));

      const { dataDir, dir, configFile } = daemon;
      await daemon.close();
      for (const s of sockets) s.destroy();
      await eventually(() => expect(screen()).toMatch(/reconnecting/));
      daemon = await startDaemon({ dataDir, dir, yaml: readFileSync(configFile as string, 'utf8') });
      target = new URL(daemon.url);
      await eventually(() => expect(screen()).toContain('● live'), 10_000);
      await publish('order.shipped', 'B2');
      await eventually(() => {
        const rows = rowsOf(screen());
        expect(rows).toHaveLength(2);
        // The log continued: the new event got the next id.
        expect(rows[0]).toMatch(/^\s*\S+\s+2\s+order\.shipped\s+ship-hook/);
      });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});

/**
 * The hot reload of each routing and delivery-control key while events flow: the file is saved like an
 * editor saves it, the watcher reloads it, and the events published after the daemon shows the change
 * follow it. Nothing published is lost on the way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { renameSync, writeFileSync } from 'node:fs';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';

let daemon: TestDaemon | undefined;
let receiver: Receiver | undefined;

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  await receiver?.close();
  cleanupTmp();
});

function config(handler: string, keys: string): string {
  return `server:
  durability: commit
delivery:
  timeout: 2s
  backoff: { initial: 50ms, max: 100ms, jitter: 0 }
applications:
  shop: { address: "http://127.0.0.1:9", secret: shop-secret-123 }
  sink: { address: "http://127.0.0.1:9", secret: sink-secret-123 }
actions:
  order.placed: { application: shop, schemata: { type: object, properties: { seq: { type: integer }, kind: { enum: [keep, drop] } } } }
  order.shipped: { application: shop, schemata: { type: object } }
subscriptions:
  s:
    application: sink
    handler: ${handler}
${keys.replace(/^/gm, '    ')}
`;
}

function save(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

interface Sent {
  readonly seq: number;
  readonly id: number;
  readonly action: string;
  readonly kind: string;
}

describe('hot reload of routing and delivery control', () => {
  it('applies each key to the events published after the reload, while events flow, and loses none', async () => {
    const r = (receiver = await startReceiver());
    const handler = `${r.url}/h`;
    daemon = await startDaemon({ watch: true, yaml: config(handler, 'action: order.placed') });
    const file = daemon.configFile!;

    // A publisher that keeps going through every reload: order.placed with kind keep/drop in turn,
    // and an order.shipped every fifth event.
    const sent: Sent[] = [];
    const failures: string[] = [];
    let stop = false;
    const publisher = (async () => {
      for (let seq = 0; !stop; seq++) {
        const action = seq % 5 === 4 ? 'order.shipped' : 'order.placed';
        const kind = seq % 2 === 0 ? 'keep' : 'drop';
        const res = await daemon!.request('POST', '/v1/events', { action, payload: { seq, kind } });
        if (res.status !== 201) failures.push(`${seq}: ${res.status} ${res.text}`);
        else sent.push({ seq, id: res.body.data.id, action, kind });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    const sub = async () => (await daemon!.request('GET', '/v1/subscriptions/s')).body.data;
    /** Saves `keys`, waits until the daemon shows them, and returns the last seq published before. */
    const reload = async (keys: string, shown: (s: Record<string, any>) => void): Promise<number> => {
      save(file, config(handler, keys));
      await eventually(async () => shown(await sub()), 15_000);
      return sent.length === 0 ? -1 : sent[sent.length - 1]!.seq;
    };
    const payloadOf = (x: { json: Record<string, unknown> }) => x.json['payload'] as { seq: number; kind: string };
    /** Waits for `n` deliveries of events published after `mark` that `pick` selects. */
    const deliveredAfter = (mark: number, n: number, pick: (x: (typeof r.requests)[number]) => boolean = () => true) =>
      eventually(() => {
        const got = r.requests.filter((x) => payloadOf(x).seq > mark && pick(x));
        expect(got.length).toBeGreaterThanOrEqual(n);
        return r.requests.filter((x) => payloadOf(x).seq > mark);
      }, 15_000);

    // Before any change: only order.placed, every kind.
    await deliveredAfter(-1, 5);
    expect(r.requests.every((x) => x.json['action'] === 'order.placed')).toBe(true);

    // action: a list takes order.shipped too.
    let mark = await reload('action: [order.placed, order.shipped]', (s) => expect(s.action).toEqual(['order.placed', 'order.shipped']));
    await deliveredAfter(mark, 2, (x) => x.json['action'] === 'order.shipped');

    // action: a pattern.
    mark = await reload('action: "order.*"', (s) => expect(s.action).toBe('order.*'));
    await deliveredAfter(mark, 2, (x) => x.json['action'] === 'order.shipped');

    // filter: events published from now on that it does not match create no gist.
    mark = await reload('action: order.placed\nfilter: { kind: keep }', (s) => expect(s.filter).toEqual({ kind: 'keep' }));
    let after = await deliveredAfter(mark, 5);
    expect(after.every((x) => payloadOf(x).kind === 'keep' && x.json['action'] === 'order.placed')).toBe(true);

    // headers: the webhooks sent from now on carry them.
    mark = await reload('action: order.placed\nfilter: { kind: keep }\nheaders: { X-Step: headers }', (s) => expect(s.headers).toEqual({ 'X-Step': 'headers' }));
    const sinceHeaders = r.requests.length;
    after = await deliveredAfter(mark, 3);
    expect(r.requests.slice(sinceHeaders).filter((x) => payloadOf(x).seq > mark).every((x) => x.headers['x-step'] === 'headers')).toBe(true);

    // paused: gists are made, nothing is sent.
    const base = 'action: order.placed\nfilter: { kind: keep }\nheaders: { X-Step: headers }';
    mark = await reload(`${base}\npaused: true`, (s) => expect(s).toMatchObject({ paused: true, paused_by: 'config' }));
    const held = await eventually(async () => {
      const g = (await daemon!.request('GET', '/v1/gists?subscription=s&state=pending')).body;
      const newer = sent.filter((x) => x.seq > mark && x.kind === 'keep' && x.action === 'order.placed');
      expect(newer.length).toBeGreaterThanOrEqual(3);
      expect(g.meta.total).toBeGreaterThanOrEqual(3);
      return newer;
    }, 15_000);
    const ids = new Set(r.requests.map((x) => x.json['event_id']));
    expect(held.some((x) => ids.has(x.id))).toBe(false);

    // Unpaused: what was held goes out.
    mark = await reload(base, (s) => expect(s.paused).toBe(false));
    await eventually(() => {
      const got = new Set(r.requests.map((x) => x.json['event_id']));
      expect(held.every((x) => got.has(x.id))).toBe(true);
    }, 15_000);

    // ordering, rate_limit and circuit: shown, and deliveries keep flowing under them.
    mark = await reload(`${base}\nordering: { key: /kind }`, (s) => expect(s.ordering).toEqual({ key: '/kind' }));
    await deliveredAfter(mark, 3);
    mark = await reload(`${base}\nordering: strict\nrate_limit: 1000/s`, (s) => expect(s).toMatchObject({ ordering: 'strict', rate_limit: '1000/s' }));
    await deliveredAfter(mark, 3);
    mark = await reload(`${base}\ncircuit: { failures: 5, cooldown: 1m }`, (s) => expect(s.circuit).toMatchObject({ failures_to_open: 5, cooldown: '1m', state: 'closed' }));
    await deliveredAfter(mark, 3);
    mark = await reload(`${base}\ncircuit: false`, (s) => expect(s.circuit.state).toBe('off'));
    await deliveredAfter(mark, 3);

    stop = true;
    await publisher;
    expect(failures).toEqual([]);
    // Nothing lost: every gist made was delivered, and the receiver saw each of them.
    await eventually(async () => {
      const gists: Array<{ state: string; event_id: number }> = [];
      for (let page = 1; ; page++) {
        const { data, meta } = (await daemon!.request('GET', `/v1/gists?subscription=s&per_page=1000&page=${page}`)).body;
        gists.push(...data);
        if (gists.length >= meta.total || data.length === 0) break;
      }
      expect(gists.filter((g) => g.state !== 'delivered')).toEqual([]);
      const got = new Set(r.requests.map((x) => x.json['event_id']));
      expect(gists.filter((g) => !got.has(g.event_id))).toEqual([]);
      expect(gists.length).toBeGreaterThan(20);
    }, 20_000);
    expect((await daemon.request('GET', '/health')).body.data.config.last_reload_error).toBeNull();
  });
});

/**
 * Hot reload against a real daemon and a real file on disk: rename-style saves, bursts, broken then
 * fixed files, schema files, SIGHUP, removed subscriptions, file ownership, breaking schema changes,
 * and publishing without a failure through ten reloads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { spawnDaemon, type ChildDaemon } from '../helpers/child.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';

let daemon: TestDaemon | undefined;
let child: ChildDaemon | undefined;
const receivers: Receiver[] = [];

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  child?.kill('SIGKILL');
  await child?.exited;
  child = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  cleanupTmp();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

interface Cfg {
  subs?: Record<string, string>;
  schema?: string;
  allowBreaking?: boolean;
  extra?: string;
}

function config(c: Cfg): string {
  const subs = Object.entries(c.subs ?? {})
    .map(([name, url]) => `  ${name}:\n    application: sink\n    action: order.placed\n    handler: ${url}\n    backoff: { initial: 50ms, max: 100ms }\n`)
    .join('');
  return `applications:
  shop: { address: "http://127.0.0.1:9", secret: "shop-secret-123" }
  sink: { address: "http://127.0.0.1:9", secret: "sink-secret-123" }
actions:
  order.placed:
    application: shop
    schemata: ${c.schema ?? '{ type: object, properties: { order_id: { type: string } } }'}
${c.allowBreaking ? '    allow_breaking_changes: true\n' : ''}${c.extra ?? ''}subscriptions:
${subs || '  {}\n'}`.replace('subscriptions:\n  {}\n', 'subscriptions: {}\n');
}

/** Saves like an editor: write a temp file, then rename it over the config. */
function save(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

async function health(d: { request: TestDaemon['request'] }) {
  return (await d.request('GET', '/health')).body.data;
}

async function reloadedSince(d: TestDaemon, since: string, timeoutMs = 2000): Promise<void> {
  await eventually(async () => expect((await health(d)).config.loaded_at > since).toBe(true), timeoutMs);
}

describe('hot reload', () => {
  it('applies a rename-style save within 2 s: new subscriptions get events published after it', async () => {
    const a = await receiver();
    daemon = await startDaemon({ yaml: config({}), watch: true });
    const before = (await health(daemon)).config.loaded_at;
    save(daemon.configFile!, config({ subs: { a: a.url } }));
    await reloadedSince(daemon, before, 2000);
    expect((await health(daemon)).config.subscriptions).toBe(1);
    expect((await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: '1' } })).status).toBe(201);
    const [got] = await a.waitFor(1);
    expect(got!.json['subscription']).toBe('a');
  });

  it('settles a burst of writes into the last state', async () => {
    daemon = await startDaemon({ yaml: config({}), watch: true });
    const subs: Record<string, string> = {};
    for (let i = 0; i < 20; i++) {
      subs[`s${i}`] = `http://127.0.0.1:9/h${i}`;
      writeFileSync(daemon.configFile!, config({ subs }));
    }
    await eventually(async () => expect((await health(daemon!)).config.subscriptions).toBe(20), 3000);
    const metrics = (await daemon.request('GET', '/metrics')).text;
    const reloads = Number(/amebo_config_reloads_total\{result="ok"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    // Debounced: far fewer reloads than writes.
    expect(reloads).toBeGreaterThanOrEqual(1);
    expect(reloads).toBeLessThan(10);
  });

  it('rejects a broken file whole, keeps the last good config, and recovers when fixed', async () => {
    daemon = await startDaemon({ yaml: config({ subs: { a: 'http://127.0.0.1:9/a' } }), watch: true });
    save(daemon.configFile!, 'applications:\n  shop: [this is not\n');
    await eventually(async () => expect((await health(daemon!)).config.last_reload_error).not.toBeNull(), 2000);
    const h = await health(daemon);
    expect(h.config.last_reload_error[0]).toMatch(/amebo\.yaml/);
    expect(h.config.last_reload_error_at).not.toBeNull();
    expect(h.config.subscriptions).toBe(1);
    expect((await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: '1' } })).status).toBe(201);
    expect((await daemon.request('GET', '/metrics')).text).toMatch(/amebo_config_reloads_total\{result="rejected"\} [1-9]/);
    expect(daemon.logText()).toMatch(/config reload rejected/);

    // An invalid but well-formed change is rejected too, with `path: message`.
    save(daemon.configFile!, config({ subs: { a: 'ftp://nope' } }));
    await eventually(async () => expect((await health(daemon!)).config.last_reload_error).toEqual(['subscriptions.a.handler: "ftp://nope" must use http or https']), 2000);

    save(daemon.configFile!, config({ subs: { a: 'http://127.0.0.1:9/a', b: 'http://127.0.0.1:9/b' } }));
    await eventually(async () => {
      const fixed = await health(daemon!);
      expect(fixed.config.last_reload_error).toBeNull();
      expect(fixed.config.subscriptions).toBe(2);
    }, 2000);
  });

  it('reloads when only a schema file changes', async () => {
    daemon = await startDaemon({
      yaml: config({ schema: 'order.json', allowBreaking: true }),
      files: { 'order.json': '{"type":"object"}' },
      watch: true,
    });
    expect((await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: {} })).status).toBe(201);
    save(join(daemon.dir, 'order.json'), '{"type":"object","required":["order_id"]}');
    await eventually(async () => expect((await daemon!.request('POST', '/v1/events', { action: 'order.placed', payload: {} })).status).toBe(422), 2000);
  });

  it('reloads on SIGHUP', async () => {
    const dir = tmpDir();
    const file = join(dir, 'amebo.yaml');
    writeFileSync(file, config({}));
    child = await spawnDaemon({ config: file, data: join(dir, 'data') });
    const client = { request: async (m: string, p: string) => ({ body: await (await fetch(`${child!.url}${p}`, { method: m })).json() }) } as unknown as TestDaemon;
    const before = (await health(client)).config.loaded_at;
    child.kill('SIGHUP');
    await eventually(async () => expect((await health(client)).config.loaded_at > before).toBe(true), 2000);
    expect(child.lines.some((l) => l.includes('SIGHUP: reloading the config'))).toBe(true);
  });

  it('keeps the open gists of a removed subscription, marked orphaned, and resumes them when it returns', async () => {
    let up = false;
    const r = await receiver(() => ({ status: up ? 200 : 503 }));
    daemon = await startDaemon({ yaml: config({ subs: { a: r.url } }), watch: true });
    await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: '1' } });
    await r.waitFor(1);
    save(daemon.configFile!, config({}));
    await eventually(async () => {
      const g = (await daemon!.request('GET', '/v1/gists/1')).body.data;
      expect(g.orphaned).toBe(true);
      expect(['pending', 'failed']).toContain(g.state);
    }, 3000);
    const attemptsWhileRemoved = r.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.requests.length).toBe(attemptsWhileRemoved);

    up = true;
    save(daemon.configFile!, config({ subs: { a: r.url } }));
    await eventually(async () => {
      const g = (await daemon!.request('GET', '/v1/gists/1')).body.data;
      expect(g.state).toBe('delivered');
      expect(g.orphaned).toBe(false);
    }, 3000);
  });

  it('refuses API changes to objects the file declares, naming the file', async () => {
    daemon = await startDaemon({ yaml: config({ subs: { a: 'http://127.0.0.1:9/a' } }) });
    for (const [method, path, body] of [
      ['PUT', '/v1/subscriptions/a', { handler: 'http://127.0.0.1:9/b' }],
      ['DELETE', '/v1/subscriptions/a', undefined],
      ['PUT', '/v1/actions/order.placed', { schemata: { type: 'object' } }],
      ['DELETE', '/v1/applications/shop', undefined],
      ['POST', '/v1/applications', { application: 'shop', address: 'http://x.example', secret: 'abcdefgh1' }],
    ] as const) {
      const res = await daemon.request(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(409);
      expect(res.body.error).toContain(daemon.configFile!);
      expect(res.body.error).toMatch(/managed by amebo\.yaml/);
    }
  });

  it('rejects a breaking schema change, and allows it with allow_breaking_changes', async () => {
    daemon = await startDaemon({ yaml: config({}), watch: true });
    const strict = '{ type: object, required: [order_id], properties: { order_id: { type: string } }, additionalProperties: false }';
    save(daemon.configFile!, config({ schema: strict }));
    await eventually(async () => {
      const errors = (await health(daemon!)).config.last_reload_error as string[];
      expect(errors).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^actions\.order\.placed\.schemata: breaking change: \(root\): "order_id" is newly required/),
          expect.stringMatching(/additionalProperties became false/),
        ]),
      );
    }, 2000);
    // The old schema is still in force.
    expect((await daemon.request('POST', '/v1/events', { action: 'order.placed', payload: { other: 1 } })).status).toBe(201);

    save(daemon.configFile!, config({ schema: strict, allowBreaking: true }));
    await eventually(async () => {
      expect((await health(daemon!)).config.last_reload_error).toBeNull();
      expect((await daemon!.request('POST', '/v1/events', { action: 'order.placed', payload: { other: 1 } })).status).toBe(422);
    }, 2000);
  });

  it('publishes without a failure through ten reloads, each event reaching the subscriptions in force', async () => {
    const a = await receiver();
    const b = await receiver();
    daemon = await startDaemon({ yaml: config({ subs: { a: a.url, b: b.url } }), watch: true });
    const d = daemon;
    const published: Array<{ id: number; start: number; end: number }> = [];
    const failures: string[] = [];
    let stop = false;
    const publisher = async (worker: number) => {
      for (let i = 0; !stop; i++) {
        const start = performance.now();
        const res = await d.request('POST', '/v1/events', { action: 'order.placed', payload: { order_id: `${worker}-${i}` } });
        const end = performance.now();
        if (res.status !== 201) failures.push(`${res.status} ${res.text}`);
        else published.push({ id: res.body.data.id, start, end });
      }
    };
    const workers = [0, 1, 2, 3].map(publisher);

    // Windows in which the state of `b` is known for certain: from "reload confirmed" to "next save".
    const windows: Array<{ from: number; to: number; b: boolean }> = [];
    let bPresent = true;
    let confirmed = performance.now();
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const before = (await health(d)).config.loaded_at;
      windows.push({ from: confirmed, to: performance.now(), b: bPresent });
      bPresent = !bPresent;
      save(d.configFile!, config({ subs: bPresent ? { a: a.url, b: b.url } : { a: a.url } }));
      await reloadedSince(d, before, 2000);
      confirmed = performance.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
    windows.push({ from: confirmed, to: performance.now(), b: bPresent });
    stop = true;
    await Promise.all(workers);

    expect(failures).toEqual([]);
    expect(published.length).toBeGreaterThan(50);
    // `a` was always in force: it receives every event.
    await a.waitFor(published.length, 15_000);
    expect(new Set(a.requests.map((r) => r.json['event_id'])).size).toBe(published.length);

    // `b` ends in force, so every gist it ever got, orphaned for a while or not, is delivered.
    const bGists = new Set<number>();
    for (let page = 1; ; page++) {
      const res = await d.request('GET', `/v1/gists?subscription=b&per_page=1000&page=${page}`);
      for (const g of res.body.data) bGists.add(g.event_id);
      if (res.body.data.length < 1000) break;
    }
    await b.waitFor(1, 15_000, () => new Set(b.requests.map((r) => r.json['event_id'] as number)).size === bGists.size);

    // Events published entirely inside a window have a gist for `b` exactly when `b` was in force.
    let checked = 0;
    for (const e of published) {
      const w = windows.find((w) => e.start >= w.from && e.end <= w.to);
      if (!w) continue;
      checked++;
      expect(bGists.has(e.id), `event ${e.id}`).toBe(w.b);
    }
    expect(checked).toBeGreaterThan(published.length / 5);
  });
});

/**
 * Routing and delivery control through amebo.yaml and the API, against real receivers: several actions
 * and patterns, payload filters (and replays that respect them), headers, pause and resume, per-key
 * ordering under retries, amebo's own events, the per-subscription gauges and `amebo check --diff`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver, type ReceiverHandler } from '../helpers/receiver.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';
import { runCli } from '../unit/cli-run.js';

let daemon: TestDaemon | undefined;
const receivers: Receiver[] = [];

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  cleanupTmp();
});

async function receiver(handler?: ReceiverHandler): Promise<Receiver> {
  const r = await startReceiver(handler);
  receivers.push(r);
  return r;
}

const ORDER_SCHEMA = JSON.stringify({
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: { type: 'string' },
    account: { type: 'string' },
    total: { type: 'number' },
    customer: { type: 'object', properties: { tier: { type: 'string' } } },
  },
});

/** A config with actions user.created, user.deleted, order.placed (schema above), order.shipped; `subs` is YAML under `subscriptions:`. */
function config(subs: string, extra = ''): string {
  return `server:
  durability: commit
delivery:
  timeout: 2s
  max_retries: 3
  backoff: { initial: 50ms, max: 200ms, jitter: 0 }
${extra}applications:
  shop: { address: "http://127.0.0.1:9", secret: shop-secret-123 }
  sink: { address: "http://127.0.0.1:9", secret: sink-secret-123 }
actions:
  user.created: { application: shop, schemata: { type: object } }
  user.deleted: { application: shop, schemata: { type: object } }
  order.placed: { application: shop, schemata: ${ORDER_SCHEMA} }
  order.shipped: { application: shop, schemata: { type: object } }
subscriptions:
${subs.replace(/^/gm, '  ')}
`;
}

async function publish(d: TestDaemon, action: string, payload: unknown) {
  const res = await d.request('POST', '/v1/events', { action, payload });
  expect(res.status).toBe(201);
  return res.body.data as { id: number };
}

async function gists(d: TestDaemon, query: string) {
  return (await d.request('GET', `/v1/gists?${query}`)).body as { data: Array<Record<string, any>>; meta: { total: number } };
}

describe('several actions and patterns', () => {
  it('delivers a list of actions and NATS-style patterns to one handler, and the body says which fired (YAML)', async () => {
    const users = await receiver();
    const orders = await receiver();
    daemon = await startDaemon({
      yaml: config(`users:
  application: sink
  action: [user.created, user.deleted]
  handler: ${users.url}/users
orders:
  application: sink
  action: "order.>"
  handler: ${orders.url}/orders
`),
    });
    await publish(daemon, 'user.created', { n: 1 });
    await publish(daemon, 'order.placed', { id: 'o1' });
    await publish(daemon, 'user.deleted', { n: 2 });
    await publish(daemon, 'order.shipped', { id: 'o1' });
    const u = await users.waitFor(2);
    const o = await orders.waitFor(2);
    expect(u.map((r) => r.json['action']).sort()).toEqual(['user.created', 'user.deleted']);
    expect(o.map((r) => r.json['action']).sort()).toEqual(['order.placed', 'order.shipped']);
    // One gist per matching subscription, none for the others.
    expect((await gists(daemon, 'subscription=users')).meta.total).toBe(2);
    expect((await gists(daemon, 'subscription=orders')).meta.total).toBe(2);
    const sub = (await daemon.request('GET', '/v1/subscriptions/users')).body.data;
    expect(sub.action).toEqual(['user.created', 'user.deleted']);
  });

  it('takes a list or a pattern through the API, and refuses an unknown name or a bad pattern with its path', async () => {
    const r = await receiver();
    daemon = await startDaemon({ yaml: config('{}') });
    const made = await daemon.request('POST', '/v1/subscriptions', { application: 'sink', action: 'user.*', handler: `${r.url}/u`, subscription: 'any-user' });
    expect(made.status).toBe(201);
    expect(made.body.data.action).toBe('user.*');
    await publish(daemon, 'user.deleted', {});
    await publish(daemon, 'order.shipped', {});
    expect((await r.waitFor(1))[0]!.json['action']).toBe('user.deleted');

    const unknown = await daemon.request('POST', '/v1/subscriptions', { application: 'sink', action: ['user.created', 'user.renamed'], handler: `${r.url}/u` , subscription: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/no action named user\.renamed/);
    const bad = await daemon.request('POST', '/v1/subscriptions', { application: 'sink', action: 'user.>.x', handler: `${r.url}/u`, subscription: 'y' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/action: "user\.>\.x": ">" may only be the last token/);
    expect(r.requests).toHaveLength(1);
  });
});

describe('payload filters', () => {
  it('creates no gist for an event the filter does not match, and replays respect the filter (YAML)', async () => {
    const r = await receiver();
    daemon = await startDaemon({
      yaml: config(`big-gold:
  application: sink
  action: order.placed
  handler: ${r.url}/h
  filter:
    total: { $gte: 100 }
    customer.tier: gold
all:
  application: sink
  action: order.placed
  handler: ${r.url}/all
`),
    });
    await publish(daemon, 'order.placed', { id: 'small', total: 5, customer: { tier: 'gold' } });
    const match = await publish(daemon, 'order.placed', { id: 'big', total: 500, customer: { tier: 'gold' } });
    await publish(daemon, 'order.placed', { id: 'silver', total: 500, customer: { tier: 'silver' } });
    await r.waitFor(4);
    const filtered = r.requests.filter((x) => x.path === '/h');
    expect(filtered.map((x) => (x.json['payload'] as { id: string }).id)).toEqual(['big']);
    expect((await gists(daemon, 'subscription=big-gold')).meta.total).toBe(1);
    expect((await gists(daemon, 'subscription=all')).meta.total).toBe(3);

    // A replay of all history for the filtered subscription counts and sends only the matching event.
    const dry = await daemon.request('POST', '/v1/replays', { subscription: 'big-gold', dry_run: true });
    expect(dry.body.data.count).toBe(1);
    const replay = await daemon.request('POST', '/v1/replays', { subscription: 'big-gold' });
    expect(replay.status).toBe(202);
    await eventually(async () => expect((await daemon!.request('GET', `/v1/replays/${replay.body.data.replay}`)).body.data.done).toBe(true));
    const again = r.requests.filter((x) => x.path === '/h');
    expect(again.map((x) => x.json['event_id'])).toEqual([match.id, match.id]);
    // A replay of everything sends each subscription only what its filter takes.
    const everything = await daemon.request('POST', '/v1/replays', { dry_run: true });
    expect(everything.body.data.count).toBe(1 + 3);
  });

  it('takes a filter through the API, evaluates $regex, and refuses one the schema rules out with path: message', async () => {
    const r = await receiver();
    daemon = await startDaemon({ yaml: config('{}') });
    const made = await daemon.request('POST', '/v1/subscriptions', {
      application: 'sink',
      action: 'order.placed',
      handler: `${r.url}/h`,
      subscription: 'eu-orders',
      filter: { id: { $regex: '^eu-', $options: 'i' } },
    });
    expect(made.status).toBe(201);
    expect(made.body.data.filter).toEqual({ id: { $regex: '^eu-', $options: 'i' } });
    await publish(daemon, 'order.placed', { id: 'us-1' });
    await publish(daemon, 'order.placed', { id: 'EU-2' });
    await publish(daemon, 'order.placed', { id: 'eu-3' });
    const got = await r.waitFor(2);
    expect(got.map((x) => (x.json['payload'] as { id: string }).id).sort()).toEqual(['EU-2', 'eu-3']);

    const wrongType = await daemon.request('POST', '/v1/subscriptions', { application: 'sink', action: 'order.placed', handler: `${r.url}/h`, subscription: 'w', filter: { id: { $gt: 5 } } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toMatch(/filter\.id\.\$gt: compares with a number, but the field holds strings/);
    const forbidden = await daemon.request('POST', '/v1/subscriptions', { application: 'sink', action: 'order.*', handler: `${r.url}/h`, subscription: 'f', filter: { colour: 'red' } });
    expect(forbidden.status).toBe(400);
    expect(forbidden.body.error).toMatch(/filter\.colour: names "colour", which the schema forbids \(additionalProperties: false\) \(schema of order\.placed\)/);
    const operator = await daemon.request('POST', '/v1/subscriptions', { application: 'sink', action: 'order.placed', handler: `${r.url}/h`, subscription: 'o', filter: { $where: 'true' } });
    expect(operator.status).toBe(400);
    expect(operator.body.error).toMatch(/filter\.\$where: unknown operator/);
    // A PUT that would make the existing filter wrong is refused too.
    const put = await daemon.request('PUT', '/v1/subscriptions/eu-orders', { filter: { total: 'lots' } });
    expect(put.status).toBe(400);
    expect(put.body.error).toMatch(/filter\.total: "lots" is a string, but the field holds numbers/);
    expect((await daemon.request('GET', '/v1/subscriptions/eu-orders')).body.data.filter).toEqual({ id: { $regex: '^eu-', $options: 'i' } });
  });

  it('amebo check refuses a filter the schema rules out, with path: message', async () => {
    const dir = tmpDir();
    const file = join(dir, 'amebo.yaml');
    writeFileSync(file, config(`s:
  application: sink
  action: order.placed
  handler: http://127.0.0.1:9/h
  filter: { total: { $gt: "100" }, colour: red }
`));
    const res = await runCli(['check', '--config', file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^subscriptions\.s\.filter\.total\.\$gt: compares with a string, but the field holds numbers \(schema of order\.placed\)$/m);
    expect(res.stderr).toMatch(/^subscriptions\.s\.filter\.colour: names "colour", which the schema forbids/m);
  });
});

describe('headers', () => {
  it('sends the headers with ${ENV} expanded, never shows a credential value, and refuses amebo\'s own names', async () => {
    const token = 'Bearer receiver-token-0123456789';
    const r = await receiver();
    daemon = await startDaemon({
      env: { RECEIVER_TOKEN: token },
      yaml: config(`s:
  application: sink
  action: order.placed
  handler: ${r.url}/h
  headers:
    Authorization: \${RECEIVER_TOKEN}
    X-Tenant: acme
`),
    });
    await publish(daemon, 'order.placed', { id: 'o1' });
    const [got] = await r.waitFor(1);
    expect(got!.headers['authorization']).toBe(token);
    expect(got!.headers['x-tenant']).toBe('acme');
    expect(got!.headers['webhook-signature']).toMatch(/^v1,/);

    const shown = await daemon.request('GET', '/v1/subscriptions/s');
    expect(shown.body.data.headers).toEqual({ 'X-Tenant': 'acme' });
    expect(shown.body.data.sensitive_headers).toEqual(['Authorization']);
    const exported = await daemon.request('GET', '/v1/config');
    expect(exported.body.data.subscriptions.s.headers).toEqual({ Authorization: '${S_AUTHORIZATION}', 'X-Tenant': 'acme' });
    for (const text of [shown.text, exported.text, (await daemon.request('GET', '/v1/subscriptions')).text, daemon.logText()]) {
      expect(text).not.toContain('receiver-token-0123456789');
    }

    for (const name of ['X-Amebo-Event', 'Webhook-Signature', 'webhook-id', 'Content-Type', 'Host']) {
      const res = await daemon.request('POST', '/v1/subscriptions', { application: 'sink', action: 'order.placed', handler: `${r.url}/h`, subscription: `h-${name}`, headers: { [name]: 'x' } });
      expect(res.status, name).toBe(400);
      expect(res.body.error).toContain(`headers.${name}: amebo sets this header itself (or signs it); a subscription cannot override it`);
    }
    const multiline = await daemon.request('POST', '/v1/subscriptions', { application: 'sink', action: 'order.placed', handler: `${r.url}/h`, subscription: 'ml', headers: { 'X-A': 'a\r\nX-B: b' } });
    expect(multiline.status).toBe(400);
  });
});

describe('pause and resume', () => {
  it('makes gists but sends nothing and uses no retry while paused; resume delivers everything (API and CLI)', async () => {
    const r = await receiver();
    const other = await receiver();
    daemon = await startDaemon({
      yaml: config(`s:
  application: sink
  action: order.placed
  handler: ${r.url}/h
other:
  application: sink
  action: order.placed
  handler: ${other.url}/h
`),
    });
    const paused = await daemon.request('POST', '/v1/subscriptions/s/pause');
    expect(paused.status).toBe(200);
    expect(paused.body.data).toMatchObject({ paused: true, paused_by: 'api' });
    for (let i = 0; i < 3; i++) await publish(daemon, 'order.placed', { id: `o${i}` });
    // The other subscription's deliveries show the dispatcher has run past these events.
    await other.waitFor(3);
    await eventually(async () => expect((await gists(daemon!, 'subscription=other&state=delivered')).meta.total).toBe(3));
    const held = await gists(daemon, 'subscription=s');
    expect(held.meta.total).toBe(3);
    expect(held.data.every((g) => g['state'] === 'pending' && g['attempts'].length === 0)).toBe(true);
    expect(r.requests).toHaveLength(0);

    const health = (await daemon.request('GET', '/health')).body.data;
    expect(health.subscriptions.s).toMatchObject({ paused: true, paused_by: 'api' });
    const metrics = (await daemon.request('GET', '/metrics')).text;
    expect(metrics).toMatch(/^amebo_subscription_paused\{subscription="s"\} 1$/m);
    expect(metrics).toMatch(/^amebo_subscription_backlog\{subscription="s"\} 3$/m);
    expect(metrics).toMatch(/^amebo_subscription_backlog\{subscription="other"\} 0$/m);

    const resumed = await runCli(['resume', 's', '--url', daemon.url]);
    expect(resumed.stderr).toBe('');
    expect(resumed.stdout).toBe('s: delivering\n');
    expect(resumed.code).toBe(0);
    const got = await r.waitFor(3);
    expect(got.map((x) => x.json['delivery_attempt'])).toEqual([1, 1, 1]);
    await eventually(async () => expect((await gists(daemon!, 'subscription=s&state=delivered')).meta.total).toBe(3));

    const again = await runCli(['pause', 's', '--url', daemon.url]);
    expect(again.stdout).toBe('s: paused\n');
    expect((await daemon.request('GET', '/v1/subscriptions/s')).body.data.paused).toBe(true);
    const unknown = await runCli(['pause', 'nope', '--url', daemon.url]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/nope/);
  });

  it('keeps a subscription paused by its config: the API cannot resume it, and says where to change it', async () => {
    const r = await receiver();
    daemon = await startDaemon({
      yaml: config(`s:
  application: sink
  action: order.placed
  handler: ${r.url}/h
  paused: true
`),
    });
    await publish(daemon, 'order.placed', { id: 'o1' });
    const res = await daemon.request('POST', '/v1/subscriptions/s/resume');
    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(/paused by its config \(paused: true in .*amebo\.yaml\); change it there/);
    expect((await daemon.request('GET', '/v1/subscriptions/s')).body.data).toMatchObject({ paused: true, paused_by: 'config' });
    expect((await gists(daemon, 'subscription=s')).meta.total).toBe(1);
    expect(r.requests).toHaveLength(0);
  });
});

describe('pause declared through the API', () => {
  it('resumes a subscription created with paused: true through the API, by clearing the key', async () => {
    const r = await receiver();
    daemon = await startDaemon({ yaml: config('{}') });
    const made = await daemon.request('POST', '/v1/subscriptions', { application: 'sink', action: 'order.placed', handler: `${r.url}/h`, subscription: 'later', paused: true });
    expect(made.body.data).toMatchObject({ paused: true, paused_by: 'api' });
    await publish(daemon, 'order.placed', { id: 'o1' });
    await eventually(async () => expect((await gists(daemon!, 'subscription=later')).meta.total).toBe(1));
    expect(r.requests).toHaveLength(0);
    const resumed = await daemon.request('POST', '/v1/subscriptions/later/resume');
    expect(resumed.status).toBe(200);
    expect(resumed.body.data).toMatchObject({ paused: false, paused_by: null });
    await r.waitFor(1);
    // The key is cleared in the stored object, so it stays resumed after a restart or an export.
    expect((await daemon.request('GET', '/v1/config')).body.data.subscriptions.later.paused).toBeUndefined();
  });
});

describe('ordering', () => {
  it('holds the later events of a key behind a failing first one while other keys flow', async () => {
    // Each request as [event id, status answered], in arrival order.
    const log: Array<[string, number]> = [];
    const r = await receiver((req) => {
      const id = (req.json['payload'] as { id: string }).id;
      // A's first event fails until both of B's events have arrived: B flows while A waits.
      const status = id === 'A1' && log.filter(([x]) => x.startsWith('B')).length < 2 ? 503 : 200;
      log.push([id, status]);
      return { status };
    });
    daemon = await startDaemon({
      yaml: config(`s:
  application: sink
  action: order.placed
  handler: ${r.url}/h
  concurrency: 4
  max_retries: 50
  ordering: { key: /account }
`),
    });
    const events = ['A1', 'A2', 'A3', 'B1', 'B2'].map((id) => ({ action: 'order.placed', payload: { id, account: id[0] } }));
    expect((await daemon.request('POST', '/v1/events/batch', { events })).status).toBe(201);
    await eventually(async () => expect((await gists(daemon!, 'subscription=s&state=delivered')).meta.total).toBe(5), 20_000);

    const ids = log.map(([id]) => id);
    const a1Ok = log.findIndex(([id, status]) => id === 'A1' && status === 200);
    // A1 failed at least once and was retried...
    expect(log.filter(([id, status]) => id === 'A1' && status === 503).length).toBeGreaterThanOrEqual(1);
    // ...B's events went out while it was failing...
    expect(ids.indexOf('B2')).toBeLessThan(a1Ok);
    // ...and A's later events were not sent before it succeeded, then went in order, once each.
    expect(ids.indexOf('A2')).toBeGreaterThan(a1Ok);
    expect(ids.filter((x) => x === 'A2' || x === 'A3')).toEqual(['A2', 'A3']);
    expect(ids.filter((x) => x.startsWith('B'))).toEqual(['B1', 'B2']);
  });

  it('sends one at a time in publish order with ordering: strict, whatever the concurrency', async () => {
    let inflight = 0;
    let most = 0;
    const r = await receiver(async () => {
      most = Math.max(most, ++inflight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inflight--;
      return { status: 200 };
    });
    daemon = await startDaemon({ yaml: config('{}') });
    const made = await daemon.request('POST', '/v1/subscriptions', { application: 'sink', action: 'order.placed', handler: `${r.url}/h`, subscription: 'strict', concurrency: 8, ordering: 'strict' });
    expect(made.status).toBe(201);
    expect(made.body.data.ordering).toBe('strict');
    const events = Array.from({ length: 20 }, (_, i) => ({ action: 'order.placed', payload: { id: `o${i}` } }));
    await daemon.request('POST', '/v1/events/batch', { events });
    const got = await r.waitFor(20, 20_000);
    expect(got.map((x) => (x.json['payload'] as { id: string }).id)).toEqual(events.map((e) => e.payload.id));
    expect(most).toBe(1);
  });
});

describe("amebo's own events", () => {
  it('publishes amebo.gist.dead and amebo.circuit.opened through its log, to a subscription like any other', async () => {
    const broken = await receiver(() => ({ status: 500, body: 'down' }));
    const alerts = await receiver();
    daemon = await startDaemon({
      yaml: config(`flaky:
  application: sink
  action: order.placed
  handler: ${broken.url}/h
  max_retries: 1
  circuit: { failures: 2, cooldown: 1h }
alerts:
  application: sink
  action: "amebo.>"
  handler: ${alerts.url}/alerts
  filter: { subscription: flaky }
`),
    });
    const event = await publish(daemon, 'order.placed', { id: 'o1' });
    const got = await alerts.waitFor(2, 20_000);
    const byAction = Object.fromEntries(got.map((x) => [x.json['action'], x.json['payload'] as Record<string, unknown>]));
    expect(byAction['amebo.gist.dead']).toMatchObject({ subscription: 'flaky', event: event.id, action: 'order.placed', status: 500 });
    expect(byAction['amebo.circuit.opened']).toMatchObject({ subscription: 'flaky', action: 'order.placed', status: 500 });
    expect(typeof byAction['amebo.gist.dead']!['at']).toBe('string');
    // They are events in the log, owned by the built-in application, with their schema.
    const logged = (await daemon.request('GET', '/v1/events?action=amebo.gist.dead')).body;
    expect(logged.meta.total).toBe(1);
    const action = (await daemon.request('GET', '/v1/actions/amebo.gist.dead')).body.data;
    expect(action).toMatchObject({ application: 'amebo', source: 'builtin' });
    expect(action.schemata.required).toEqual(['subscription', 'gist', 'event', 'action', 'status', 'error', 'at']);
    // Nobody else may publish them.
    const forged = await daemon.request('POST', '/v1/events', { action: 'amebo.gist.dead', payload: byAction['amebo.gist.dead'] });
    expect(forged.status).toBe(403);
    expect((await daemon.request('GET', '/v1/subscriptions/flaky')).body.data.circuit).toMatchObject({ state: 'open', failures: 2, failures_to_open: 2, cooldown: '1h' });
  });
});

describe('amebo check --diff', () => {
  it('says what a reload of the file would do to the running daemon, and refuses what the reload would refuse', async () => {
    const r = await receiver();
    const dir = tmpDir();
    const running = config(`keep:
  application: sink
  action: order.placed
  handler: ${r.url}/keep
held:
  application: sink
  action: order.placed
  handler: ${r.url}/held
  paused: true
refilter:
  application: sink
  action: order.placed
  handler: ${r.url}/rf
  filter: { total: { $gt: 10 } }
`);
    daemon = await startDaemon({ dir, yaml: running, env: { TOKEN: 'Bearer t-1' } });
    await publish(daemon, 'order.placed', { id: 'o1', total: 50 });
    await publish(daemon, 'order.placed', { id: 'o2', total: 5 });
    await eventually(async () => expect((await gists(daemon!, 'subscription=held')).meta.total).toBe(2));
    const file = join(dir, 'next.yaml');

    writeFileSync(file, running);
    const same = await runCli(['check', '--diff', '--config', file, '--url', daemon.url]);
    expect(same.stderr).toBe('');
    expect(same.stdout).toMatch(/ok \(2 applications, 4 actions, 3 subscriptions\); no change to the daemon at/);
    expect(same.code).toBe(0);

    writeFileSync(
      file,
      config(`keep:
  application: sink
  action: [order.placed, order.shipped]
  handler: ${r.url}/keep
  rate_limit: 10/s
  headers: { X-Tenant: acme }
refilter:
  application: sink
  action: order.placed
  handler: ${r.url}/rf
  filter: { total: { $gt: 100 } }
  circuit: false
fresh:
  application: sink
  action: order.shipped
  handler: ${r.url}/fresh
`),
    );
    const diff = await runCli(['check', '--diff', '--config', file, '--url', daemon.url]);
    expect(diff.stderr).toBe('');
    expect(diff.code).toBe(0);
    const lines = diff.stdout.split('\n').slice(1).map((l) => l.trim()).filter(Boolean).sort();
    expect(lines).toEqual([
      'adds subscription fresh ("order.shipped" -> ' + `${r.url}/fresh)`,
      'changes the circuit breaker of subscription refilter: 10 failures, 30s -> off',
      'changes the headers of subscription keep: null -> {"X-Tenant":"acme"}',
      'changes the rate limit of subscription keep: null -> 10/s',
      'orphans subscription held with 2 open gists (kept; delivered if it comes back)',
      're-filters subscription refilter: {"total":{"$gt":10}} -> {"total":{"$gt":100}}',
      're-routes subscription keep: action "order.placed" -> ["order.placed","order.shipped"]',
    ]);

    const json = await runCli(['check', '--diff', '--json', '--config', file, '--url', daemon.url]);
    const parsed = JSON.parse(json.stdout) as { refused: string[]; changes: string[] };
    expect(parsed.refused).toEqual([]);
    expect(parsed.changes).toContain('orphans subscription held with 2 open gists (kept; delivered if it comes back)');

    // A breaking schema change: the reload would be refused, so check says so and exits 1.
    writeFileSync(file, running.replace(ORDER_SCHEMA, JSON.stringify({ type: 'object', required: ['id', 'total'], properties: { id: { type: 'string' }, total: { type: 'number' } } })));
    const breaking = await runCli(['check', '--diff', '--config', file, '--url', daemon.url]);
    expect(breaking.code).toBe(1);
    expect(breaking.stderr).toMatch(/^actions\.order\.placed\.schemata: breaking change: .*total.* \(set allow_breaking_changes: true on the action to allow it\)$/m);
    expect(breaking.stderr).toMatch(/would refuse this reload/);

    // The daemon down: a clear error, not a diff.
    const down = await runCli(['check', '--diff', '--config', file, '--url', 'http://127.0.0.1:9']);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/127\.0\.0\.1:9/);
  });
});

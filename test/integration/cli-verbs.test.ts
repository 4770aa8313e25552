/**
 * The client verbs against a real amebo (in-process, port 0, temp LMDB) and real webhook receivers:
 * `run(argv)` is called in-process with captured stdout/stderr, as `bin/amebo` would run it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { yaml } from '../helpers/config.js';
import { eventually } from '../helpers/eventually.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { runCli } from '../unit/cli-run.js';

const SCHEMA = '{ type: object, required: [order_id], properties: { order_id: { type: string }, email: { type: string, format: email } } }';

let daemon: TestDaemon;
let ok: Receiver;
let failing: Receiver;

beforeEach(async () => {
  ok = await startReceiver();
  failing = await startReceiver(() => ({ status: 500, body: 'database down\nat handler.js:12' }));
  daemon = await startDaemon({
    yaml: yaml({
      schema: SCHEMA,
      subscriptions: { 'ok-hook': { handler: `${ok.url}/hooks` }, 'bad-hook': { handler: `${failing.url}/hooks`, extra: 'max_retries: 1' } },
    }),
  });
});

afterEach(async () => {
  await daemon?.close();
  await ok?.close();
  await failing?.close();
  cleanupTmp();
});

const cli = (...argv: string[]) => runCli([...argv, '--url', daemon.url]);

describe('amebo publish', () => {
  it('publishes an inline payload and prints the stored event as a table', async () => {
    const r = await cli('publish', 'order.placed', '{"order_id":"A1"}');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^id\s+1$/m);
    expect(r.stdout).toMatch(/^action\s+order\.placed$/m);
    expect(r.stdout).toMatch(/^payload\s+\{"order_id":"A1"\}$/m);
    const [hook] = await ok.waitFor(1);
    expect(hook?.json).toMatchObject({ event_id: 1, payload: { order_id: 'A1' } });
  });

  it('prints JSON with --json, takes --deduper and --delay (as sleep_until seconds)', async () => {
    const before = Date.now();
    const r = await cli('publish', 'order.placed', '{"order_id":"A2"}', '--deduper', 'order-A2', '--delay', '30s', '--json');
    expect(r.code).toBe(0);
    const event = JSON.parse(r.stdout);
    expect(event).toMatchObject({ id: 1, deduper: 'order-A2', payload: { order_id: 'A2' } });
    const after = Date.parse(event.deliver_after) - before;
    expect(after).toBeGreaterThanOrEqual(29_000);
    expect(after).toBeLessThan(32_000);

    const again = await cli('publish', 'order.placed', '{"order_id":"A2"}', '--deduper', 'order-A2');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^id\s+1$/m);
    expect(again.stderr).toContain('deduper "order-A2" matched event 1: nothing new was published');
  });

  it('reads the payload from @file and from stdin', async () => {
    const dir = tmpDir();
    const file = join(dir, 'order.json');
    writeFileSync(file, '{\n  "order_id": "F1"\n}\n');
    expect((await cli('publish', 'order.placed', `@${file}`, '--json')).stdout).toContain('"F1"');
    const piped = await runCli(['publish', 'order.placed', '-', '--json', '--url', daemon.url], { stdin: '{"order_id": "S1"}\n' });
    expect(JSON.parse(piped.stdout)).toMatchObject({ id: 2, payload: { order_id: 'S1' } });
    const missing = await cli('publish', 'order.placed', `@${join(dir, 'nope.json')}`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.json: no such file/);
  });

  it('prints each schema violation on its own line with its JSON pointer and exits 1', async () => {
    const r = await cli('publish', 'order.placed', '{"order_id": 5, "email": "not-an-email"}');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      'amebo: payload does not match the schema of order.placed',
      '/order_id: must be string',
      '/email: must match format "email"',
      '',
    ]);
  });

  it('fails on an unknown action (1) and on bad usage (2)', async () => {
    const unknown = await cli('publish', 'order.nope', '{}');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^amebo: .*order\.nope/);
    expect((await cli('publish', 'order.placed', '{not json')).code).toBe(2);
    expect((await cli('publish')).code).toBe(2);
    expect((await cli('publish', 'order.placed', '{}', '--delay', 'soon')).code).toBe(2);
  });

  it('publishes NDJSON from stdin in batches, in order, all of them', async () => {
    const lines = Array.from({ length: 1_201 }, (_, i) => JSON.stringify({ order_id: `N${i + 1}` })).join('\n') + '\n';
    const r = await runCli(['publish', 'order.placed', '-', '--url', daemon.url], { stdin: lines });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^published 1,201 events \(ids 1-1201\) in \d+\.\ds\n$/);
    const page = await daemon.request('GET', '/v1/events?per_page=1&page=1201');
    expect(page.body.meta.total).toBe(1_201);
    expect(page.body.data[0]).toMatchObject({ id: 1201, payload: { order_id: 'N1201' } });
  });

  it('reads event objects with --ndjson and prints one stored event per line with --json', async () => {
    const input = [
      { action: 'order.placed', payload: { order_id: 'E1' }, deduper: 'e1' },
      { action: 'order.shipped', payload: { order_id: 'E1' } },
    ]
      .map((e) => JSON.stringify(e))
      .join('\n');
    const r = await runCli(['publish', '--ndjson', '--json', '--url', daemon.url], { stdin: input });
    expect(r.code).toBe(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((e) => [e.id, e.action, e.deduper])).toEqual([
      [1, 'order.placed', 'e1'],
      [2, 'order.shipped', null],
    ]);
  });

  it('stops at the first rejected batch and says exactly which lines were stored', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify(i === 24 ? { order_id: 25 } : { order_id: `B${i + 1}` }));
    const r = await runCli(['publish', 'order.placed', '-', '--batch-size', '10', '--url', daemon.url], { stdin: lines.join('\n') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('line 25: /order_id: must be string');
    expect(r.stderr).not.toContain('line 24');
    expect(r.stderr).toContain('20 events before line 21 were published; lines 21-30 and after were not');
    expect((await daemon.request('GET', '/v1/events')).body.meta.total).toBe(20);
  });

  it('names a line that is not JSON', async () => {
    const r = await runCli(['publish', 'order.placed', '-', '--url', daemon.url], { stdin: '{"order_id":"x"}\n{"order_id":"y"}\nnope\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('line 3: not valid JSON');
  });
});

describe('amebo events', () => {
  it('lists events as an aligned table with filters and pages', async () => {
    await cli('publish', 'order.placed', '{"order_id":"L1"}');
    await cli('publish', 'order.shipped', '{"order_id":"L1"}');
    await cli('publish', 'order.placed', '{"order_id":"L2"}');
    const all = await cli('events');
    expect(all.code).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+ACTION\s+TIMESTAMP\s+DEDUPER\s+DELIVER AFTER\s+PAYLOAD$/);
    expect(lines).toHaveLength(5);
    // Columns line up: every row has its action where the header has ACTION.
    const col = (lines[0] as string).indexOf('ACTION');
    for (const l of lines.slice(1, 4)) expect(l.slice(col)).toMatch(/^order\./);
    expect(lines[4]).toBe('page 1 of 1 (3 shown, 3 in all)');

    const placed = await cli('events', '--action', 'order.placed', '--per-page', '1', '--page', '2');
    expect(placed.stdout).toMatch(/^\s*3\s+order\.placed/m);
    expect(placed.stdout).toContain('page 2 of 2 (1 shown, 2 in all)');

    const json = JSON.parse((await cli('events', '--json', '--from', '1h')).stdout);
    expect(json.meta).toEqual({ total: 3, page: 1, per_page: expect.any(Number) });
    expect(json.data.map((e: { id: number }) => e.id)).toEqual([1, 2, 3]);
    expect((await cli('events', '--to', '2000-01-01')).stdout).toBe('no matches\n');

    const one = await cli('events', 'show', '2');
    expect(one.stdout).toMatch(/^action\s+order\.shipped$/m);
    const none = await cli('events', 'show', '99');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^amebo: no event with id 99/);
  });

  it('rejects bad filters as usage errors (2)', async () => {
    expect((await cli('events', '--page', '0')).code).toBe(2);
    expect((await cli('events', '--from', 'yesterday')).code).toBe(2);
    expect((await cli('gists', '--state', 'lost')).code).toBe(2);
  });
});

describe('amebo gists and replay', () => {
  async function deadGist(): Promise<number> {
    await cli('publish', 'order.placed', '{"order_id":"G1"}');
    return eventually(async () => {
      const g = await daemon.request('GET', '/v1/gists?subscription=bad-hook&state=dead');
      expect(g.body.data).toHaveLength(1);
      return g.body.data[0].id as number;
    });
  }

  it('lists gists by state and subscription and shows every attempt', async () => {
    const id = await deadGist();
    const list = await cli('gists', '--state', 'dead');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+EVENT\s+ACTION\s+SUBSCRIPTION\s+STATE\s+ATTEMPTS\s+LAST/);
    expect(list.stdout).toMatch(new RegExp(`^\\s*${id}\\s+1\\s+order\\.placed\\s+bad-hook\\s+dead\\s+2\\s+500`, 'm'));
    expect(list.stdout).not.toContain('ok-hook');
    await eventually(async () => expect((await cli('gists', '--subscription', 'ok-hook', '--state', 'delivered')).stdout).toContain('ok-hook'));

    const show = await cli('gists', 'show', String(id));
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^state\s+dead$/m);
    const attempts = show.stdout.split('\n').filter((l) => /^\d\s+20\d\d-/.test(l));
    expect(attempts).toHaveLength(2);
    for (const a of attempts) expect(a).toMatch(/\s500\s+\S+\s+\w+\s+.*database down at handler\.js:12/);
    const json = JSON.parse((await cli('gists', 'show', String(id), '--json')).stdout);
    expect(json.attempts).toHaveLength(2);
  });

  it('replays failed deliveries: dry run counts, --follow waits until done', async () => {
    await deadGist();
    const dry = await cli('replay', '--failed', '--subscription', 'bad-hook', '--dry-run');
    expect(dry).toMatchObject({ code: 0, stdout: '1 delivery would be replayed (dry run: nothing was queued)\n' });
    const before = failing.requests.length;
    const r = await cli('replay', '--failed', '--subscription', 'bad-hook', '--follow', '--interval', '50ms');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^queued 1 delivery \(replay r_\w+\)$/m);
    expect(r.stdout).toMatch(/^replay r_\w+: 1\/1 settled \(0 delivered, 1 dead.*\), done\n$/);
    expect(failing.requests.length).toBeGreaterThan(before);

    const json = JSON.parse((await cli('replay', '--event', '1', '--json')).stdout);
    expect(json).toMatchObject({ replay: expect.stringMatching(/^r_/), count: 2 });
  });

  it('replays one gist with --gist and with gists replay', async () => {
    const id = await deadGist();
    const r = await cli('replay', '--gist', String(id));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`replay of gist ${id} queued`);
    await eventually(async () => expect(failing.requests.length).toBeGreaterThanOrEqual(3));
    const again = await cli('gists', 'replay', String(id), '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ id, replays: 2 });
    const missing = await cli('gists', 'replay', '999');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('amebo: no gist with id 999\n');
    expect((await cli('replay', '--gist', '1', '--failed')).code).toBe(2);
  });

  it('reports an unknown subscription filter', async () => {
    const r = await cli('replay', '--subscription', 'nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('amebo: no subscription named nope\n');
  });
});

describe('amebo tail --json', () => {
  it('prints one NDJSON line per delivery and stops after --count', async () => {
    const tail = runCli(['tail', '--json', '--count', '2', '--subscription', 'ok-hook', '--url', daemon.url]);
    await eventually(async () => expect(await daemon.core.metrics.streamClients.get()).toMatchObject({ values: [{ value: 1 }] }));
    await cli('publish', 'order.placed', '{"order_id":"T1"}');
    await cli('publish', 'order.placed', '{"order_id":"T2"}');
    const r = await tail;
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toMatchObject({ action: 'order.placed', subscription: 'ok-hook', attempt: 1, status: 200, state: 'delivered' });
      expect(Object.keys(l).sort()).toEqual(['action', 'at', 'attempt', 'error', 'event_id', 'gist_id', 'latency_ms', 'replay', 'state', 'status', 'subscription']);
    }
    expect(lines.map((l) => l.event_id)).toEqual([1, 2]);
  });

  it('stops cleanly when interrupted', async () => {
    const controller = new AbortController();
    const tail = runCli(['tail', '--url', daemon.url], { signal: controller.signal });
    await eventually(async () => expect(await daemon.core.metrics.streamClients.get()).toMatchObject({ values: [{ value: 1 }] }));
    controller.abort();
    expect(await tail).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

describe('talking to the daemon', () => {
  it('says clearly when nothing listens at --url', async () => {
    const url = daemon.url;
    await daemon.close();
    for (const argv of [['events'], ['gists'], ['publish', 'order.placed', '{}'], ['replay', '--failed'], ['tail', '--json']]) {
      const r = await runCli([...argv, '--url', url]);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stderr, argv.join(' ')).toBe(`amebo: cannot reach amebo at ${url}: connection refused (is \`amebo serve\` running?)\n`);
    }
  });
});

describe('auth', () => {
  it('sends --token (or AMEBO_TOKEN) as a bearer token', async () => {
    await daemon.close();
    daemon = await startDaemon({
      yaml: yaml({ schema: SCHEMA, auth: '  admin_token: admin-secret-123', subscriptions: { 'ok-hook': { handler: `${ok.url}/hooks` } } }),
    });
    const denied = await cli('events');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^amebo: .*(credentials|token)/i);
    expect((await cli('events', '--token', 'admin-secret-123')).code).toBe(0);
    process.env['AMEBO_TOKEN'] = 'shop-secret-123';
    try {
      // An application's secret may publish its own actions.
      expect((await cli('publish', 'order.placed', '{"order_id":"Z"}')).code).toBe(0);
    } finally {
      delete process.env['AMEBO_TOKEN'];
    }
    const tail = await cli('tail', '--json');
    expect(tail.code).toBe(1);
    expect(tail.stderr).toMatch(/^amebo: /);
  });

  it('takes --url and --token before or after the verb (issue 13)', async () => {
    await daemon.close();
    daemon = await startDaemon({
      yaml: yaml({ schema: SCHEMA, auth: '  admin_token: admin-secret-123', subscriptions: { 'ok-hook': { handler: `${ok.url}/hooks` } } }),
    });
    const url = daemon.url;
    const orders: string[][] = [
      ['--url', url, '--token', 'admin-secret-123', 'gists', '--json'],
      ['gists', '--json', '--url', url, '--token', 'admin-secret-123'],
      ['--url', url, 'gists', '--json', '--token', 'admin-secret-123'],
      ['--token', 'admin-secret-123', 'events', 'show', '1', '--url', url, '--json'],
      ['--url', url, '--token', 'admin-secret-123', 'config', 'export'],
    ];
    expect((await runCli(['publish', 'order.placed', '{"order_id":"U"}', '--url', url, '--token', 'admin-secret-123'])).code).toBe(0);
    for (const argv of orders) {
      const r = await runCli(argv);
      expect(r.stderr, argv.join(' ')).toBe('');
      expect(r.code, argv.join(' ')).toBe(0);
    }
    // The token really is what authenticates, wherever it is written.
    const wrong = await runCli(['--token', 'not-the-token', 'gists', '--url', url]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/not the admin token/);
    // The value typed on the command line wins over the environment, before the verb as after it.
    process.env['AMEBO_URL'] = 'http://127.0.0.1:1';
    try {
      expect((await runCli(['--url', url, '--token', 'admin-secret-123', 'events'])).code).toBe(0);
    } finally {
      delete process.env['AMEBO_URL'];
    }
  });
});

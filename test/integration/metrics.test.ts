/**
 * /metrics follows Prometheus conventions (issue 13): `promtool check metrics` finds nothing to say
 * about a real daemon's answer, amebo's own series are amebo_*, and the process and Node.js series keep
 * their standard names so existing dashboards find them.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { eventually } from '../helpers/eventually.js';

let d: TestDaemon | undefined;
let hook: Receiver | undefined;
afterEach(async () => {
  await d?.close();
  await hook?.close();
  d = hook = undefined;
});

function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is not installed (Debian package prometheus; .ci/run installs it): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('/metrics', () => {
  it('passes promtool check metrics with every series populated, and keeps the standard process names', async () => {
    hook = await startReceiver();
    d = await startDaemon({
      yaml: `
applications:
  shop: { address: "${hook.url}", secret: shop-secret-metrics }
actions:
  order.placed: { application: shop, schemata: { type: object, required: [id] } }
subscriptions:
  audit: { application: shop, action: order.placed, handler: /hook }
`,
    });
    expect((await d.request('POST', '/v1/events', { action: 'order.placed', payload: { id: 1 } })).status).toBe(201);
    expect((await d.request('POST', '/v1/events', { action: 'order.placed', payload: {} })).status).toBe(422);
    await eventually(async () => expect((await d!.request('GET', '/v1/gists?state=delivered')).body.meta.total).toBe(1));
    const text = (await d.request('GET', '/metrics')).text;

    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(text).toMatch(new RegExp(`^${name} `, 'm'));
    }
    expect(text).not.toMatch(/amebo_process_/);
    expect(text).toMatch(/^amebo_events_published_total\{action="order.placed"\} 1$/m);
    expect(text).toMatch(/^amebo_delivery_duration_seconds_count\{subscription="audit"\} 1$/m);
    // Every series that is not a process or Node.js one is amebo's own.
    const names = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!));
    for (const name of names) expect(name, name).toMatch(/^(amebo_|process_|nodejs_)/);

    const check = promtool(text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('is checked by a promtool that does report problems (positive control)', () => {
    const check = promtool('# HELP amebo_things Things.\n# TYPE amebo_things counter\namebo_things 1\n');
    expect(check.output).toMatch(/counter metrics should have "_total" suffix/);
  });
});

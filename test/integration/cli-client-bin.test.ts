/**
 * The client verbs through the real launcher (`bin/amebo`, built by `npm test`'s pretest): `--help`
 * with examples on every verb, env defaults, exit codes, and stdin/stdout pipes as a shell gives them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/child.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { yaml } from '../helpers/config.js';
import { cleanupTmp } from '../helpers/tmp.js';

let daemon: TestDaemon | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await daemon?.close();
  await receiver?.close();
  daemon = receiver = undefined;
  cleanupTmp();
});

/** Runs bin/amebo asynchronously (the in-process daemon must keep serving meanwhile). */
function amebo(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(BIN, args, { env: { ...process.env, AMEBO_URL: undefined, AMEBO_TOKEN: undefined, ...options.env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.end(options.input ?? '');
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('client verbs from bin/amebo', () => {
  it('--help on every client verb shows options and examples, and exits 0', () => {
    const verbs = [['publish'], ['replay'], ['events'], ['events', 'show'], ['gists'], ['gists', 'show'], ['gists', 'replay'], ['tail']];
    for (const verb of verbs) {
      const r = spawnSync(BIN, [...verb, '--help'], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status, verb.join(' ')).toBe(0);
      expect(r.stdout, verb.join(' ')).toMatch(/^Usage: amebo /);
      expect(r.stdout, verb.join(' ')).toContain('--url <url>');
      expect(r.stdout, verb.join(' ')).toMatch(/\nExamples:\n {2}amebo /);
    }
  });

  it('publishes from a stdin pipe with AMEBO_URL, lists, and pipes tail as NDJSON', async () => {
    receiver = await startReceiver();
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { hook: { handler: `${receiver.url}/h` } } }) });
    const env = { AMEBO_URL: daemon.url };
    const tail = amebo(['tail', '--count', '3'], { env });
    // stdout is a pipe, so tail prints NDJSON; wait until it is connected.
    for (let i = 0; i < 200 && (await daemon.core.metrics.streamClients.get()).values[0]?.value !== 1; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const input = ['{"order_id":"a"}', '{"order_id":"b"}', '{"order_id":"c"}'].join('\n');
    const pub = await amebo(['publish', 'order.placed', '-'], { env, input });
    expect(pub).toMatchObject({ code: 0, stderr: '' });
    expect(pub.stdout).toMatch(/^published 3 events \(ids 1-3\)/);
    const t = await tail;
    expect(t.code).toBe(0);
    expect(t.stdout.trim().split('\n').map((l) => JSON.parse(l).event_id)).toEqual([1, 2, 3]);

    const list = await amebo(['events', '--json'], { env });
    expect(JSON.parse(list.stdout).meta.total).toBe(3);
    const bad = await amebo(['publish', 'order.placed', '{"order_id": 1}'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('amebo: payload does not match the schema of order.placed\n/order_id: must be string\n');
  });

  it('exits 1 with a clear message when the daemon is not there, and 2 on bad usage', async () => {
    const r = await amebo(['events', '--url', 'http://127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('amebo: cannot reach amebo at http://127.0.0.1:9: connection refused (is `amebo serve` running?)\n');
    expect((await amebo(['events', '--per-page', 'many'])).code).toBe(2);
    expect((await amebo(['replay', '--from', 'last tuesday'])).code).toBe(2);
    expect((await amebo(['events', '--url', 'localhost:3310'])).code).toBe(2);
  });
});

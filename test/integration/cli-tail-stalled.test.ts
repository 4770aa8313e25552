/**
 * `amebo tail --json` into a pipe that stops draining (a stuck `| jq`): the tail stops reading its
 * stream instead of buffering, the daemon drops it, and once the pipe drains again the tail resumes
 * with Last-Event-ID, without repeating deliveries.
 */
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/program.js';
import { withIO, type OutStream } from '../../src/format/io.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { eventually } from '../helpers/eventually.js';
import { cleanupTmp } from '../helpers/tmp.js';

const ACTION = `bulk.${'y'.repeat(120)}`;

/** A pipe whose reader can stall: writes are kept, but report "full" and drain only on release. */
class StallingPipe extends EventEmitter implements OutStream {
  text = '';
  stalled = false;
  write(chunk: string): boolean {
    this.text += chunk;
    return !this.stalled;
  }
  release(): void {
    this.stalled = false;
    this.emit('drain');
  }
}

class Sink extends EventEmitter implements OutStream {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

let daemon: TestDaemon | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await daemon?.close();
  await receiver?.close();
  cleanupTmp();
});

const clients = async (d: TestDaemon): Promise<number> => (await d.core.metrics.streamClients.get()).values[0]?.value ?? 0;

describe('amebo tail --json into a stalled pipe', () => {
  it('stops reading, gets dropped, then resumes without duplicates', async () => {
    receiver = await startReceiver();
    daemon = await startDaemon({
      yaml:
        `server:\n  durability: commit\napplications:\n  app:\n    address: ${receiver.url}\n    secret: app-secret-123\n` +
        `actions:\n  ${ACTION}:\n    application: app\n    schemata: { type: object }\n` +
        `subscriptions:\n  sub-${'z'.repeat(100)}:\n    application: app\n    action: ${ACTION}\n    handler: /hook\n    concurrency: 64\n`,
    });
    const d = daemon;
    const stdout = new StallingPipe();
    const stderr = new Sink();
    const controller = new AbortController();
    const tail = withIO({ stdout, stderr, stdin: Readable.from([]), signal: controller.signal }, () =>
      run(['node', 'amebo', 'tail', '--json', '--url', d.url]),
    );
    await eventually(async () => expect(await clients(d)).toBe(1));

    const publish = async (n: number): Promise<void> => {
      const r = await d.request('POST', '/v1/events/batch', { events: Array.from({ length: n }, (_, i) => ({ action: ACTION, payload: { i } })) });
      expect(r.status).toBe(201);
    };
    await publish(1);
    await eventually(() => expect(stdout.text).toContain('"event_id":1,'));

    // The pipe stops draining; deliveries go on until the daemon lets go of the tail.
    stdout.stalled = true;
    const deadline = Date.now() + 60_000;
    let published = 1;
    while ((await clients(d)) === 1 && Date.now() < deadline) {
      await publish(2_000);
      published += 2_000;
      await eventually(async () => expect((await d.request('GET', '/v1/gists?state=pending&per_page=1')).body.meta.total).toBe(0), 30_000);
    }
    expect(await clients(d)).toBe(0);
    const linesWhileStalled = stdout.text.split('\n').length;

    // The pipe drains: the tail reads on, reconnects with Last-Event-ID and sees new deliveries.
    stdout.release();
    await eventually(async () => expect(await clients(d)).toBe(1), 20_000);
    await publish(1);
    published += 1;
    await eventually(() => expect(stdout.text).toContain(`"event_id":${published},`), 20_000);
    controller.abort();
    expect(await tail).toBe(0);

    // Every delivery succeeds at its first attempt, so a gist seen twice would be a repeat.
    const gists = stdout.text.trim().split('\n').map((l) => (JSON.parse(l) as { gist_id: number }).gist_id);
    expect(new Set(gists).size).toBe(gists.length);
    // While stalled the tail wrote one line and waited, instead of buffering everything.
    expect(linesWhileStalled).toBeLessThan(10);
    expect(stderr.text).toMatch(/reconnecting/);
  });
});

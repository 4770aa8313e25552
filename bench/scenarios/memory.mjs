// (13) Memory after ingestion: a fresh daemon takes `ctx.memoryEvents` events (1,000,000; 100,000
// quick) through its fastest way in, POST /v1/events/stream from the native publisher with 50 in
// flight; then the load stops and the daemon's anonymous memory (RssAnon: heap, stacks, malloc;
// LMDB's mapped file pages are page cache and do not count) is read at once, and again after it has
// been idle for a while, as an operator would see it.
import { setTimeout as sleep } from 'node:timers/promises';
import { memory, round } from '../lib/proc.mjs';
import { nativePublisher } from '../lib/native.mjs';
import { eventBody, expectAccepted, freshAmebo } from './common.mjs';

const MB = 1024 * 1024;
/** How long the daemon sits idle after the load before the figure is read. */
const IDLE_MS = 5_000;

export async function memoryAfterLoad(ctx) {
  const line = eventBody('bench.publish');
  const a = await freshAmebo(ctx, 'memory');
  try {
    await expectAccepted(a.url, '/v1/events', line);
    await sleep(1000);
    const idle = memory(a.pid);
    ctx.log(`memory: publishing ${ctx.memoryEvents.toLocaleString('en-US')} events through POST /v1/events/stream`);
    const t0 = performance.now();
    const r = await nativePublisher('amebo-stream', { port: Number(new URL(a.url).port), inflight: ctx.connections, warmup: 0, duration: 3600, body: line, maxEvents: ctx.memoryEvents });
    const seconds = (performance.now() - t0) / 1000;
    const atStop = memory(a.pid);
    await sleep(IDLE_MS);
    const after = memory(a.pid);
    return {
      events: r.ok + r.errors,
      errors: r.errors,
      seconds: round(seconds, 1),
      eventsPerSec: round(r.ok / seconds),
      idleAnonMB: round(idle.anon / MB, 1),
      anonAtStopMB: round(atStop.anon / MB, 1),
      anonAfterMB: round(after.anon / MB, 1),
      rssAfterMB: round(after.rss / MB, 1),
      fileAfterMB: round(after.file / MB, 1),
      idleSeconds: IDLE_MS / 1000,
    };
  } finally {
    await a.stop();
  }
}

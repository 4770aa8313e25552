// (6) Replay and (7) resources, on one daemon whose log is filled with `ctx.fill` events (through
// the batch endpoint, to an action with no subscription) plus `ctx.replayEvents` events of an
// action with one subscription. Measured: RSS idle and full, disk bytes per event, the dry-run
// log scan, re-delivery of the replayed events, and publish throughput on the full log.
import { setTimeout as sleep } from 'node:timers/promises';
import { dirBytes, postJson } from '../lib/amebo.mjs';
import { CpuMeter, memory, round, runJob } from '../lib/proc.mjs';
import { medianOf } from '../lib/stats.mjs';
import { batchBody, closedLoop, eventBody, expectAccepted, freshAmebo, otherCores, quietRun } from './common.mjs';
import { waitForDeliveries } from './fanout.mjs';

const POST = new URL('../workers/post.mjs', import.meta.url).pathname;
const MB = 1024 * 1024;

async function fillLog(ctx, url, action, events) {
  const r = await runJob(POST, {
    origin: url,
    requests: [{ path: '/v1/events/batch', body: batchBody(action, ctx.batchSize), headers: { 'content-type': 'application/json' } }],
    total: Math.ceil(events / ctx.batchSize),
    connections: 4,
  });
  if (r.ok * ctx.batchSize < events) throw new Error(`filling the log: ${JSON.stringify(r.statuses)} ${r.firstError ?? ''}`);
  return { events: r.ok * ctx.batchSize, seconds: round(r.seconds, 2), eventsPerSec: Math.round((r.ok * ctx.batchSize) / r.seconds) };
}

export async function replay(ctx) {
  const out = {};
  const publishBody = eventBody('bench.publish');
  const a = await freshAmebo(ctx, 'replay');
  try {
    await sleep(2000);
    const idle = memory(a.pid);
    out.rssIdleMB = round(idle.rss / MB, 1);
    out.rssIdleAnonMB = round(idle.anon / MB, 1);
    const emptyBytes = dirBytes(a.dataDir);

    ctx.log(`replay: filling the log with ${ctx.fill} events (batch endpoint)`);
    out.fill = await fillLog(ctx, a.url, 'bench.fill', ctx.fill);
    ctx.log(`replay: filled at ${out.fill.eventsPerSec} ev/s; ${ctx.replayEvents} more events with one subscription`);
    await ctx.receiver.call({ type: 'reset' });
    await fillLog(ctx, a.url, 'bench.replay', ctx.replayEvents);
    const first = await waitForDeliveries(ctx, ctx.replayEvents);
    out.firstDelivery = { delivered: first.count, perSec: round(first.perSec) };
    await sleep(2000);
    const events = ctx.fill + ctx.replayEvents;
    out.logEvents = events;
    const full = memory(a.pid);
    out.rssFullMB = round(full.rss / MB, 1);
    out.rssFullAnonMB = round(full.anon / MB, 1);
    out.rssFullFileMB = round(full.file / MB, 1);
    out.logBytes = dirBytes(a.dataDir);
    out.bytesPerEvent = round((out.logBytes - emptyBytes) / events, 1);

    const scans = [];
    for (let i = 0; i < ctx.runs; i++) {
      ctx.log(`replay run ${i + 1}/${ctx.runs}: dry-run scan of the whole log`);
      const scan = await quietRun(ctx, 'scan', async () => {
        const meter = new CpuMeter({ server: a.pid }).start();
        const t0 = performance.now();
        const res = await postJson(`${a.url}/v1/replays`, { dry_run: true });
        const seconds = (performance.now() - t0) / 1000;
        const cores = meter.stop();
        if (res.status !== 202 && res.status !== 200) throw new Error(`dry-run replay answered ${res.status}: ${JSON.stringify(res.body)}`);
        return { seconds: round(seconds, 3), count: res.body?.data?.count, eventsPerSec: Math.round(events / seconds), serverCores: cores.server, otherCores: otherCores(cores) };
      });
      scans.push(scan);
    }
    out.scan = medianOf(scans);

    const redeliveries = [];
    for (let i = 0; i < ctx.runs; i++) {
      ctx.log(`replay run ${i + 1}/${ctx.runs}: re-deliver ${ctx.replayEvents} events (action filter) out of ${events}`);
      const run = await quietRun(ctx, 'replay', async () => {
        await ctx.receiver.call({ type: 'reset' });
        const meter = new CpuMeter({ server: a.pid, receiver: ctx.receiver.pid }).start();
        const t0 = performance.now();
        const res = await postJson(`${a.url}/v1/replays`, { action: 'bench.replay' });
        const accepted = (performance.now() - t0) / 1000;
        if (res.status !== 202 && res.status !== 200) throw new Error(`replay answered ${res.status}: ${JSON.stringify(res.body)}`);
        const count = res.body?.data?.count ?? ctx.replayEvents;
        const got = await waitForDeliveries(ctx, count);
        const seconds = (performance.now() - t0) / 1000;
        const cores = meter.stop();
        await sleep(500);
        return {
          count,
          delivered: got.count,
          acceptSeconds: round(accepted, 3),
          seconds: round(seconds, 2),
          eventsPerSec: Math.round(got.count / seconds),
          deliveryPerSec: round(got.perSec),
          serverCores: cores.server,
          otherCores: otherCores(cores),
        };
      });
      redeliveries.push(run);
    }
    out.redeliver = medianOf(redeliveries);

    // Full log against an empty one, run by run, so that both see the same machine.
    const onFull = [];
    const onEmpty = [];
    for (let i = 0; i < ctx.runs; i++) {
      ctx.log(`resources run ${i + 1}/${ctx.runs}: publish with ${events} events in the log, then on an empty log`);
      onFull.push(await quietRun(ctx, 'full log', () => closedLoop(ctx, { url: `${a.url}/v1/events`, body: publishBody, pid: a.pid })));
      const once = async () => {
        const b = await freshAmebo(ctx, 'empty');
        try {
          await expectAccepted(b.url, '/v1/events', publishBody);
          return await closedLoop(ctx, { url: `${b.url}/v1/events`, body: publishBody, pid: b.pid });
        } finally {
          await b.stop();
        }
      };
      onEmpty.push(await quietRun(ctx, 'empty log', once));
    }
    out.publishFull = medianOf(onFull);
    out.publishEmpty = medianOf(onEmpty);
    out.fullVsEmpty = out.publishFull.rps / out.publishEmpty.rps;
    const after = memory(a.pid);
    out.rssAfterMB = round(after.rss / MB, 1);
    out.rssAfterAnonMB = round(after.anon / MB, 1);
    out.runs = { scans, redeliveries, onFull, onEmpty };
  } finally {
    await a.stop();
  }

  return out;
}

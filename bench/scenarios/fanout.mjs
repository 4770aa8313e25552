// (4) Fan-out delivery throughput: events published (through the batch endpoint) to an action with
// 1, 4 or 16 subscriptions, all pointing at one loopback receiver that answers 200 at once.
// Deliveries per second are counted at the receiver, first to last delivery. The ceiling is undici
// posting the same bodies and headers straight to the same receiver with as many connections as
// amebo opened to it, counted the same way.
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { FANOUTS, PAYLOAD } from '../lib/amebo.mjs';
import { CpuMeter, round, runJob } from '../lib/proc.mjs';
import { medianOf } from '../lib/stats.mjs';
import { batchBody, freshAmebo, otherCores, quietRun } from './common.mjs';

const POST = new URL('../workers/post.mjs', import.meta.url).pathname;

/** Waits until the receiver has `expected` deliveries, or until they stop coming for `stallMs`. */
export async function waitForDeliveries(ctx, expected, { stallMs = 10_000, capMs = 300_000 } = {}) {
  const t0 = performance.now();
  let s;
  for (;;) {
    s = await ctx.receiver.call({ type: 'stats' });
    if (s.count >= expected) break;
    const idle = s.count === 0 ? performance.now() - t0 : s.sinceLastMs;
    if (idle > stallMs || performance.now() - t0 > capMs) {
      ctx.log(`  only ${s.count}/${expected} deliveries arrived (stalled or over time)`);
      break;
    }
    await sleep(50);
  }
  return { count: s.count, seconds: s.spanMs / 1000, perSec: s.count > 1 ? (s.count / s.spanMs) * 1000 : 0, sockets: s.sockets, maxOpenSockets: s.maxOpenSockets, usedSockets: s.usedSockets };
}

function webhookRequests(k) {
  const requests = [];
  const secret = Buffer.from('bench-receiver-secret-key');
  for (let e = 0; e < 64; e++) {
    for (let i = 0; i < k; i++) {
      const id = 1_000_000 + e;
      const sub = `fanout-${k}-${i}`;
      const body = JSON.stringify({
        event_id: id,
        action: `bench.fanout.${k}`,
        payload: PAYLOAD,
        timestamp: new Date().toISOString(),
        delivery_attempt: 1,
        subscription: sub,
      });
      const ts = Math.floor(Date.now() / 1000);
      const webhookId = `msg_bench_${id * k + i}`;
      requests.push({
        path: `/fanout/${k}/${i}`,
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'amebo/0.1.0',
          'x-amebo-event': `bench.fanout.${k}`,
          'x-amebo-delivery': `${id * k + i}_1`,
          'x-amebo-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
          'webhook-id': webhookId,
          'webhook-timestamp': String(ts),
          'webhook-signature': `v1,${createHmac('sha256', secret).update(`${webhookId}.${ts}.${body}`).digest('base64')}`,
        },
      });
    }
  }
  return requests;
}

export async function fanout(ctx) {
  const out = {};
  const a = await freshAmebo(ctx, 'fanout');
  try {
    for (const k of FANOUTS) {
      const events = Math.ceil(ctx.fanoutDeliveries / k / ctx.batchSize) * ctx.batchSize;
      const deliveries = events * k;
      const body = batchBody(`bench.fanout.${k}`, ctx.batchSize);
      const amebo = [];
      const undici = [];
      // Warm-up, not measured: the first deliveries after start run on cold (unoptimised) code.
      ctx.log(`fanout ${k}: warm-up, ${Math.round(events / 4 / ctx.batchSize) * ctx.batchSize * k} deliveries`);
      await ctx.receiver.call({ type: 'reset' });
      const warm = Math.max(1, Math.round(events / 4 / ctx.batchSize));
      await runJob(POST, { origin: a.url, requests: [{ path: '/v1/events/batch', body, headers: { 'content-type': 'application/json' } }], total: warm, connections: 2 });
      await waitForDeliveries(ctx, warm * ctx.batchSize * k);
      await runJob(POST, { origin: ctx.receiver.url, requests: webhookRequests(k), total: warm * ctx.batchSize * k, connections: 16 * k });
      await sleep(300);
      for (let i = 0; i < ctx.runs; i++) {
        ctx.log(`fanout ${k} run ${i + 1}/${ctx.runs}: amebo, ${events} events -> ${deliveries} deliveries`);
        const run = await quietRun(ctx, 'amebo', async () => {
          await ctx.receiver.call({ type: 'reset' });
          const meter = new CpuMeter({ server: a.pid, receiver: ctx.receiver.pid }).start();
          const t0 = performance.now();
          const pub = runJob(POST, {
            origin: a.url,
            requests: [{ path: '/v1/events/batch', body, headers: { 'content-type': 'application/json' } }],
            total: events / ctx.batchSize,
            connections: 2,
          });
          const got = await waitForDeliveries(ctx, deliveries);
          const cores = meter.stop();
          const wall = (performance.now() - t0) / 1000;
          const p = await pub;
          if (p.ok * ctx.batchSize !== events) ctx.log(`  publish: ${JSON.stringify(p.statuses)} ${p.firstError ?? ''}`);
          // Let the daemon finish recording outcomes before the next run shares the CPU with it.
          await sleep(500);
          return {
            deliveriesPerSec: round(got.perSec),
            delivered: got.count,
            expected: deliveries,
            seconds: got.seconds,
            connections: got.usedSockets,
            serverCores: cores.server,
            receiverCores: cores.receiver,
            machineCores: cores.machine,
            publisherCores: round(p.cpuSeconds / wall, 2),
            otherCores: otherCores(cores, p.cpuSeconds / wall),
          };
        });
        amebo.push(run);

        const connections = Math.max(1, run.connections);
        ctx.log(`fanout ${k} run ${i + 1}/${ctx.runs}: undici ceiling, ${deliveries} posts on ${connections} connections`);
        const ceiling = await quietRun(ctx, 'undici', async () => {
          await ctx.receiver.call({ type: 'reset' });
          const m2 = new CpuMeter({ receiver: ctx.receiver.pid }).start();
          // As many requests in flight as amebo allows itself: 16 per subscription (its default
          // `concurrency`), at most 512 in all (`delivery.max_inflight`).
          const inflight = Math.min(16 * k, 512);
          const u = await runJob(POST, { origin: ctx.receiver.url, requests: webhookRequests(k), total: deliveries, connections, inflight });
          const s = await waitForDeliveries(ctx, deliveries);
          const c2 = m2.stop();
          return {
            deliveriesPerSec: round(s.perSec),
            delivered: s.count,
            seconds: s.seconds,
            connections,
            inflight,
            clientCores: round(u.loadgenCores, 2),
            receiverCores: c2.receiver,
            machineCores: c2.machine,
            otherCores: otherCores(c2, u.loadgenCores),
          };
        });
        undici.push(ceiling);
      }
      const r = { subscriptions: k, events, deliveries, amebo: medianOf(amebo), undici: medianOf(undici) };
      r.ratio = r.amebo.deliveriesPerSec / r.undici.deliveriesPerSec;
      r.runs = { amebo, undici };
      out[k] = r;
    }
  } finally {
    await a.stop();
  }
  return out;
}

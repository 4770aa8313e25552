// (12) What routing and delivery control cost.
// - Filters on the publish path: an action with 4 subscriptions, each with a 3-condition filter
//   ($in, a nested equality, a $regex on RE2) that every event matches, against the same action with 4
//   unfiltered subscriptions. Both make 4 gists per event, so the difference is the filters' evaluation.
//   Closed loop, the two loads alternating which goes first, one fresh daemon per run.
//   bench/micro/filters.mjs times one evaluation (0.65 µs for this filter, 0.05 µs for one equality).
// - Ordering on the delivery path: one subscription (concurrency 16) without ordering, with
//   `ordering: {key: /user_id}` over 64 keys, and with `ordering: strict` (one attempt at a time, so
//   bound by the round trip). Events are published in batches; deliveries per second are counted at
//   the receiver, first to last.
import { setTimeout as sleep } from 'node:timers/promises';
import { PAYLOAD } from '../lib/amebo.mjs';
import { CpuMeter, round, runJob } from '../lib/proc.mjs';
import { medianOf } from '../lib/stats.mjs';
import { closedLoop, eventBody, expectAccepted, freshAmebo, otherCores, quietRun } from './common.mjs';
import { waitForDeliveries } from './fanout.mjs';

const POST = new URL('../workers/post.mjs', import.meta.url).pathname;
const KEYS = 64;

async function filters(ctx) {
  const plain = [];
  const filtered = [];
  for (let i = 0; i < ctx.runs; i++) {
    const order = i % 2 === 0 ? [['bench.route.filtered', filtered], ['bench.route.plain', plain]] : [['bench.route.plain', plain], ['bench.route.filtered', filtered]];
    for (const [action, out] of order) {
      ctx.log(`routing run ${i + 1}/${ctx.runs}: publish to ${action}`);
      out.push(
        await quietRun(ctx, action, async () => {
          const amebo = await freshAmebo(ctx, `routing-${action}`, { routing: true });
          try {
            const body = eventBody(action);
            await expectAccepted(amebo.url, '/v1/events', body);
            const r = await closedLoop(ctx, { url: `${amebo.url}/v1/events`, body, pid: amebo.pid });
            // The filters matched every event: each subscription has one gist per event either way.
            const total = async (path) => (await (await fetch(`${amebo.url}${path}`)).json()).meta.total;
            const kind = action.split('.').pop();
            r.gistsPerEvent = round((await total(`/v1/gists?subscription=route-${kind}-0&per_page=1`)) / Math.max(1, await total(`/v1/events?action=${action}&per_page=1`)), 2);
            return r;
          } finally {
            await amebo.stop();
          }
        }),
      );
    }
  }
  const r = { filtered: medianOf(filtered), plain: medianOf(plain), runs: { filtered, plain } };
  r.ratio = r.filtered.rps / r.plain.rps;
  // CPU per request on the server, µs: what a filter adds to one publish of 4 gists.
  const cpuUs = (x) => (x.rps > 0 ? (x.serverCores / x.rps) * 1e6 : NaN);
  r.cpuUsPerPublish = { filtered: round(cpuUs(r.filtered), 1), plain: round(cpuUs(r.plain), 1) };
  return r;
}

function orderedBatch(action, n, offset) {
  return JSON.stringify({ events: Array.from({ length: n }, (_, i) => ({ action, payload: { ...PAYLOAD, user_id: 1 + ((offset + i) % KEYS) } })) });
}

async function ordering(ctx) {
  const out = {};
  const a = await freshAmebo(ctx, 'ordering', { routing: true });
  try {
    for (const kind of ['none', 'key', 'strict']) {
      const action = `bench.order.${kind}`;
      // Strict ordering is one attempt at a time: fewer events keep its run as long as the others.
      const events = kind === 'strict' ? Math.max(ctx.batchSize, Math.round(ctx.fanoutDeliveries / 4 / ctx.batchSize) * ctx.batchSize) : ctx.fanoutDeliveries;
      const batches = Array.from({ length: 16 }, (_, i) => ({ path: '/v1/events/batch', body: orderedBatch(action, ctx.batchSize, i * ctx.batchSize), headers: { 'content-type': 'application/json' } }));
      ctx.log(`ordering ${kind}: warm-up`);
      await ctx.receiver.call({ type: 'reset' });
      const warm = Math.max(1, Math.round(events / 4 / ctx.batchSize));
      await runJob(POST, { origin: a.url, requests: batches, total: warm, connections: 2 });
      await waitForDeliveries(ctx, warm * ctx.batchSize);
      await sleep(300);
      const runs = [];
      for (let i = 0; i < ctx.runs; i++) {
        ctx.log(`ordering ${kind} run ${i + 1}/${ctx.runs}: ${events} events`);
        runs.push(
          await quietRun(ctx, `ordering ${kind}`, async () => {
            await ctx.receiver.call({ type: 'reset' });
            const meter = new CpuMeter({ server: a.pid, receiver: ctx.receiver.pid }).start();
            const t0 = performance.now();
            const pub = runJob(POST, { origin: a.url, requests: batches, total: events / ctx.batchSize, connections: 2 });
            const got = await waitForDeliveries(ctx, events);
            const cores = meter.stop();
            const wall = (performance.now() - t0) / 1000;
            const p = await pub;
            await sleep(500);
            return {
              deliveriesPerSec: round(got.perSec),
              delivered: got.count,
              expected: events,
              serverCores: cores.server,
              cpuUsPerDelivery: got.count > 0 ? round(((cores.server * wall) / got.count) * 1e6, 1) : null,
              otherCores: otherCores(cores, p.cpuSeconds / wall),
            };
          }),
        );
      }
      out[kind] = { ...medianOf(runs, 'deliveriesPerSec'), runs };
    }
  } finally {
    await a.stop();
  }
  out.keyRatio = out.key.deliveriesPerSec / out.none.deliveriesPerSec;
  out.strictRatio = out.strict.deliveriesPerSec / out.none.deliveriesPerSec;
  return out;
}

export async function routing(ctx) {
  return { filters: await filters(ctx), ordering: await ordering(ctx) };
}

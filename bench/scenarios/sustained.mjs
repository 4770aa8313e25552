// (11) The highest publish rate amebo sustains: events with two subscriptions each, published open
// loop (batches of 10 at a fixed rate) to a loopback receiver that answers at once, for a window of
// `ctx.sustainSeconds`. A rate is sustained when the backlog stays flat over the window (its slope
// under 1% of the rate). The ceiling is undici posting the webhooks straight to the same receiver with
// as many in flight as amebo allows itself (16 per subscription), counted in events (deliveries / 2).
// A binary search over fractions of that ceiling, a fresh daemon per step.
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { PAYLOAD } from '../lib/amebo.mjs';
import { round, runJob } from '../lib/proc.mjs';
import { freshAmebo } from './common.mjs';
import { waitForDeliveries } from './fanout.mjs';

const POST = new URL('../workers/post.mjs', import.meta.url).pathname;
const BATCH = 10;
const SUBS = 2;

function webhooks() {
  const body = JSON.stringify({ event_id: 1, action: 'bench.sustained', payload: PAYLOAD, timestamp: new Date().toISOString(), delivery_attempt: 1, subscription: 'sustained-0' });
  return [0, 1].map((i) => ({ path: `/sustained/${i}`, body, headers: { 'content-type': 'application/json', 'webhook-id': `msg_x_${i}` } }));
}

/** Least-squares slope of (t, y) samples, per second. */
function slope(samples) {
  const n = samples.length;
  const mt = samples.reduce((s, p) => s + p.t, 0) / n;
  const my = samples.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of samples) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function backlogOf(url) {
  const res = await request(`${url}/health`);
  return (await res.body.json()).data.backlog;
}

/** One step: a fresh daemon, `rate` events/s for the window; resolves {rate, slope, sustained}. */
async function step(ctx, rate) {
  const a = await freshAmebo(ctx, 'sustained');
  try {
    const body = JSON.stringify({ events: Array.from({ length: BATCH }, () => ({ action: 'bench.sustained', payload: PAYLOAD })) });
    const samples = [];
    const t0 = performance.now();
    let done = false;
    const sampler = (async () => {
      while (!done) {
        await sleep(1000);
        // The first seconds fill the pipeline; the window is judged on the rest.
        if (performance.now() - t0 > 5000) samples.push({ t: (performance.now() - t0) / 1000, y: await backlogOf(a.url) });
      }
    })();
    const r = await ctx.paced.call({ type: 'run', job: { url: `${a.url}/v1/events/batch`, body, rate: rate / BATCH, duration: ctx.sustainSeconds + 5, connections: 16 } });
    done = true;
    await sampler;
    const s = slope(samples);
    const last = samples.at(-1)?.y ?? 0;
    return { rate, slopePerSec: round(s, 1), backlogAtEnd: last, failed: r.failed, p99: round(r.p99, 2), sustained: r.failed === 0 && s < rate * 0.01 };
  } finally {
    await a.stop();
  }
}

export async function sustained(ctx) {
  ctx.log('sustained: the undici ceiling for 2 subscriptions');
  await ctx.receiver.call({ type: 'reset' });
  const posts = ctx.quick ? 20_000 : 60_000;
  await runJob(POST, { origin: ctx.receiver.url, requests: webhooks(), total: posts / 4, connections: 16 * SUBS, inflight: 16 * SUBS });
  await ctx.receiver.call({ type: 'reset' });
  await runJob(POST, { origin: ctx.receiver.url, requests: webhooks(), total: posts, connections: 16 * SUBS, inflight: 16 * SUBS });
  const got = await waitForDeliveries(ctx, posts);
  const ceiling = round(got.perSec / SUBS);
  const steps = [];
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < (ctx.quick ? 2 : 4); i++) {
    const f = (lo + hi) / 2;
    const rate = Math.round((ceiling * f) / BATCH) * BATCH;
    ctx.log(`sustained step ${i + 1}: ${rate} events/s (${f.toFixed(3)} of the ceiling) for ${ctx.sustainSeconds} s`);
    const s = await step(ctx, rate);
    steps.push(s);
    ctx.log(`  backlog slope ${s.slopePerSec}/s, ${s.backlogAtEnd} at the end: ${s.sustained ? 'sustained' : 'not sustained'}`);
    if (s.sustained) lo = f;
    else hi = f;
  }
  const best = steps.filter((s) => s.sustained).reduce((m, s) => Math.max(m, s.rate), 0);
  return { ceilingEventsPerSec: ceiling, ceilingDeliveriesPerSec: round(got.perSec), sustainedEventsPerSec: best, ratio: best / ceiling, windowSeconds: ctx.sustainSeconds, steps };
}

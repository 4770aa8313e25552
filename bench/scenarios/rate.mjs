// (2) Latency under moderate load: an open-loop generator at a fixed rate (about half of what
// amebo sustained in (1)), against amebo and the bare node:http ceiling at the same rate.
import { CpuMeter, round } from '../lib/proc.mjs';
import { medianOf } from '../lib/stats.mjs';
import { closedLoop, eventBody, expectAccepted, freshAmebo, quietRun, summarize } from './common.mjs';

// As in (1): up to 50 requests in flight; the pool opens connections only as it needs them.
export const RATE_CONNECTIONS = 50;

async function paced(ctx, url, body, pid, rate) {
  // Metered over warm-up and run alike: both go at the same rate.
  const meter = new CpuMeter({ server: pid }).start();
  const r = await ctx.paced.call({
    type: 'run',
    job: { url, body, rate, duration: ctx.duration, warmup: ctx.warmup, connections: RATE_CONNECTIONS },
  });
  const s = summarize(r, meter.stop());
  s.service = { p50: round(r.service.p50, 3), p99: round(r.service.p99, 3) };
  return s;
}

export async function rate(ctx, results) {
  const body = eventBody('bench.publish');
  let target = results.publish?.amebo?.rps;
  if (!Number.isFinite(target)) {
    ctx.log('rate: no publish figure in this run; calibrating with one closed-loop run');
    const a = await freshAmebo(ctx, 'rate-calibrate');
    try {
      target = (await closedLoop(ctx, { url: `${a.url}/v1/events`, body, pid: a.pid })).rps;
    } finally {
      await a.stop();
    }
  }
  const perSecond = Math.max(100, Math.round((target * 0.5) / 100) * 100);
  const bare = [];
  const amebo = [];
  for (let i = 0; i < ctx.runs; i++) {
    ctx.log(`rate run ${i + 1}/${ctx.runs}: ${perSecond}/s, bare node:http`);
    bare.push(await quietRun(ctx, 'bare', () => paced(ctx, `${ctx.bare.url}/v1/events`, body, ctx.bare.pid, perSecond)));
    ctx.log(`rate run ${i + 1}/${ctx.runs}: ${perSecond}/s, amebo`);
    const once = async () => {
      const a = await freshAmebo(ctx, 'rate');
      try {
        await expectAccepted(a.url, '/v1/events', body);
        return await paced(ctx, `${a.url}/v1/events`, body, a.pid, perSecond);
      } finally {
        await a.stop();
      }
    };
    amebo.push(await quietRun(ctx, 'amebo', once));
  }
  return { rate: perSecond, connections: RATE_CONNECTIONS, bare: medianOf(bare), amebo: medianOf(amebo), runs: { bare, amebo } };
}

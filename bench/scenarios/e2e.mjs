// (5) End-to-end latency: events published at a fixed 1,000/s (open loop) to an action with one
// subscription; the publisher records the send time of each event id (from the 201), the webhook
// receiver (same process, same clock) the receipt time of each `event_id`.
import { CpuMeter, round } from '../lib/proc.mjs';
import { medianOf } from '../lib/stats.mjs';
import { eventBody, expectAccepted, freshAmebo, otherCores, quietRun } from './common.mjs';

export async function e2e(ctx) {
  const body = eventBody('bench.e2e');
  const runs = [];
  for (let i = 0; i < ctx.runs; i++) {
    ctx.log(`e2e run ${i + 1}/${ctx.runs}: ${ctx.e2eRate}/s`);
    const once = async () => {
      const a = await freshAmebo(ctx, 'e2e');
      try {
        await expectAccepted(a.url, '/v1/events', body);
        const meter = new CpuMeter({ server: a.pid, publisher: ctx.paced.pid }).start();
        const r = await ctx.paced.call({
          type: 'run',
          job: { url: `${a.url}/v1/events`, body, rate: ctx.e2eRate, duration: ctx.duration, warmup: ctx.warmup, connections: 10, e2e: true },
        });
        const cores = meter.stop();
        return {
          p50: round(r.e2e.p50, 3),
          p99: round(r.e2e.p99, 3),
          p999: round(r.e2e.p999, 3),
          events: r.e2e.n,
          missing: r.e2e.missing,
          publishP50: round(r.p50, 3),
          publishP99: round(r.p99, 3),
          serverCores: cores.server,
          publisherCores: cores.publisher,
          machineCores: cores.machine,
          otherCores: otherCores(cores),
        };
      } finally {
        await a.stop();
      }
    };
    runs.push(await quietRun(ctx, 'e2e', once));
  }
  return { rate: ctx.e2eRate, ...medianOf(runs), runs };
}

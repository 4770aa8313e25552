// (3) Batch publish: POST /v1/events/batch with 100 events per request, closed loop, against the
// bare node:http server parsing the same body (the ceiling). Figures are events per second.
import { medianOf } from '../lib/stats.mjs';
import { batchBody, closedLoop, expectAccepted, freshAmebo, quietRun } from './common.mjs';

export async function batch(ctx) {
  const body = batchBody('bench.batch', ctx.batchSize);
  const bare = [];
  const amebo = [];
  const perEvent = (r) => ({ ...r, eventsPerSec: Math.round(r.rps * ctx.batchSize) });
  for (let i = 0; i < ctx.runs; i++) {
    ctx.log(`batch run ${i + 1}/${ctx.runs}: bare node:http`);
    bare.push(
      perEvent(
        await quietRun(ctx, 'bare', () =>
          closedLoop(ctx, { url: `${ctx.bare.url}/v1/events/batch`, body, pid: ctx.bare.pid, connections: ctx.batchConnections }),
        ),
      ),
    );
    ctx.log(`batch run ${i + 1}/${ctx.runs}: amebo`);
    const once = async () => {
      const a = await freshAmebo(ctx, 'batch');
      try {
        await expectAccepted(a.url, '/v1/events/batch', body);
        return await closedLoop(ctx, { url: `${a.url}/v1/events/batch`, body, pid: a.pid, connections: ctx.batchConnections });
      } finally {
        await a.stop();
      }
    };
    amebo.push(perEvent(await quietRun(ctx, 'amebo', once)));
  }
  const r = { batchSize: ctx.batchSize, connections: ctx.batchConnections, bare: medianOf(bare), amebo: medianOf(amebo) };
  r.ratio = r.amebo.eventsPerSec / r.bare.eventsPerSec;
  r.runs = { bare, amebo };
  return r;
}

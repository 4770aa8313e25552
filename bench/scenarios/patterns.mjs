// (9) What patterns cost on the publish path: the bench schema (three patterns, one a nested
// quantifier, all on RE2) against the same schema with every pattern removed. One fresh daemon per
// run serves both actions; the two loads alternate which goes first.
import { medianOf } from '../lib/stats.mjs';
import { closedLoop, eventBody, expectAccepted, freshAmebo, quietRun } from './common.mjs';

export async function patterns(ctx) {
  const withPatterns = [];
  const without = [];
  for (let i = 0; i < ctx.runs; i++) {
    const order = i % 2 === 0 ? [['bench.publish', withPatterns], ['bench.nopatterns', without]] : [['bench.nopatterns', without], ['bench.publish', withPatterns]];
    for (const [action, out] of order) {
      ctx.log(`patterns run ${i + 1}/${ctx.runs}: ${action}`);
      out.push(
        await quietRun(ctx, action, async () => {
          const amebo = await freshAmebo(ctx, `patterns-${action}`);
          try {
            const body = eventBody(action);
            await expectAccepted(amebo.url, '/v1/events', body);
            return await closedLoop(ctx, { url: `${amebo.url}/v1/events`, body, pid: amebo.pid });
          } finally {
            await amebo.stop();
          }
        }),
      );
    }
  }
  const r = { with: medianOf(withPatterns), without: medianOf(without), runs: { with: withPatterns, without } };
  r.ratio = r.with.rps / r.without.rps;
  return r;
}

// (1) Publish throughput and latency at a fixed concurrency, against the bare node:http ceiling,
// and what `server.durability: fsync` costs. Each run uses a fresh daemon (empty log); runs of
// the three targets are interleaved so that drift in the machine hits all of them alike.
import { medianOf } from '../lib/stats.mjs';
import { closedLoop, eventBody, expectAccepted, freshAmebo, quietRun } from './common.mjs';

export async function publish(ctx) {
  const body = eventBody('bench.publish');
  const bare = [];
  const commit = [];
  const fsync = [];
  for (let i = 0; i < ctx.runs; i++) {
    ctx.log(`publish run ${i + 1}/${ctx.runs}: bare node:http`);
    bare.push(await quietRun(ctx, 'bare', () => closedLoop(ctx, { url: `${ctx.bare.url}/v1/events`, body, pid: ctx.bare.pid })));
    for (const [mode, out] of [['commit', commit], ['fsync', fsync]]) {
      ctx.log(`publish run ${i + 1}/${ctx.runs}: amebo durability=${mode}`);
      out.push(
        await quietRun(ctx, `amebo ${mode}`, async () => {
          const amebo = await freshAmebo(ctx, `publish-${mode}`, { durability: mode });
          try {
            await expectAccepted(amebo.url, '/v1/events', body);
            return await closedLoop(ctx, { url: `${amebo.url}/v1/events`, body, pid: amebo.pid });
          } finally {
            await amebo.stop();
          }
        }),
      );
    }
  }
  const r = { payloadBytes: Buffer.byteLength(JSON.stringify(JSON.parse(body).payload)), connections: ctx.connections };
  r.bare = medianOf(bare);
  r.amebo = medianOf(commit);
  r.fsync = medianOf(fsync);
  r.ratio = r.amebo.rps / r.bare.rps;
  r.fsyncRatio = r.fsync.rps / r.amebo.rps;
  r.runs = { bare, amebo: commit, fsync };
  return r;
}

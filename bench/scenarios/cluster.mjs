// (14) amebo on NATS JetStream (server.log: nats://...), in the same run as amebo on LMDB:
// - publish req/s at c=50 on LMDB, on one nats-server (R1) and on a local 3-node cluster (R3), and
//   the raw v3 JetStream client publishing the same payload to the same servers: ratios;
// - fan-out: deliveries/s to 4 subscriptions, LMDB vs R1 vs R3;
// - two amebo instances on the R3 cluster against one, the load split between them;
// - idle CPU of amebo and the three servers with 100 subscriptions (100 durable R3 consumers).
// Runs of the targets are interleaved, so drift in the machine hits all of them alike. Everything
// shares the machine's cores: the servers, the instances, the load generators.
import { setTimeout as sleep } from 'node:timers/promises';
import { PAYLOAD, benchConfig, startAmebo } from '../lib/amebo.mjs';
import { CpuMeter, round, runJob } from '../lib/proc.mjs';
import { medianOf } from '../lib/stats.mjs';
import { ensureCommand } from '../lib/install.mjs';
import { batchBody, closedLoop, eventBody, expectAccepted, freshAmebo, quietRun, summarize } from './common.mjs';
import { waitForDeliveries } from './fanout.mjs';
import { runLoad } from '../lib/loadgen.mjs';
// The tests' helper: real nats-server processes in temp dirs (Node 24 runs the .ts as is).
import { startNatsServers } from '../../test/helpers/nats-servers.ts';

const RAW = new URL('../workers/jetstream-v3.mjs', import.meta.url).pathname;
const POST = new URL('../workers/post.mjs', import.meta.url).pathname;
let prefixes = 0;

function natsAmebo(ctx, servers, name, extra = {}) {
  const config = benchConfig({ receiverPort: ctx.receiver.port, e2ePort: ctx.paced.port });
  config.server = { log: servers.urls, nats: { prefix: `bench${++prefixes}${Date.now() % 100000}` } };
  Object.assign(config, extra);
  return startAmebo({ dir: ctx.tmp, name: `${name}-${Date.now()}`, config });
}

const pidsOf = (servers) => (servers ? Object.fromEntries(servers.nodes.map((n) => [n.name, n.pid])) : {});

async function publishRun(ctx, a, servers) {
  const body = eventBody('bench.publish');
  await expectAccepted(a.url, '/v1/events', body);
  const r = await closedLoop(ctx, { url: `${a.url}/v1/events`, body, pid: a.pid, also: pidsOf(servers) });
  return r;
}

async function rawRun(ctx, servers, replicas) {
  const meter = new CpuMeter(pidsOf(servers)).start();
  const r = await runJob(RAW, { servers: servers.urls.split(','), replicas, payload: JSON.stringify(PAYLOAD), concurrency: ctx.connections, duration: ctx.duration, warmup: ctx.warmup });
  return summarize(r, { ...meter.stop(), server: 0 });
}

async function fanoutRun(ctx, a, k = 4) {
  const events = Math.ceil(ctx.fanoutDeliveries / 2 / k / ctx.batchSize) * ctx.batchSize;
  const body = batchBody(`bench.fanout.${k}`, ctx.batchSize);
  await ctx.receiver.call({ type: 'reset' });
  const t0 = performance.now();
  const pub = runJob(POST, { origin: a.url, requests: [{ path: '/v1/events/batch', body, headers: { 'content-type': 'application/json' } }], total: events / ctx.batchSize, connections: 2 });
  const got = await waitForDeliveries(ctx, events * k, { stallMs: 15_000 });
  await pub;
  await sleep(300);
  return { deliveriesPerSec: round(got.perSec), delivered: got.count, expected: events * k, seconds: round((performance.now() - t0) / 1000, 1), otherCores: 0 };
}

/** Two instances at once, each at half the connections: total req/s. */
async function twoInstances(ctx, a, b) {
  const body = eventBody('bench.publish');
  const half = Math.max(1, Math.round(ctx.connections / 2));
  await Promise.all([a, b].map((d) => runLoad({ tool: ctx.tool, url: `${d.url}/v1/events`, body, connections: half, duration: ctx.warmup })));
  const meter = new CpuMeter({ a: a.pid, b: b.pid }).start();
  const [ra, rb] = await Promise.all([a, b].map((d) => runLoad({ tool: ctx.tool, url: `${d.url}/v1/events`, body, connections: half, duration: ctx.duration })));
  const cores = meter.stop();
  return { rps: round(ra.rps + rb.rps), a: round(ra.rps), b: round(rb.rps), p99: round(Math.max(ra.p99, rb.p99), 3), cores: { a: cores.a, b: cores.b, machine: cores.machine }, otherCores: 0 };
}

/** Idle CPU (cores) of amebo and the servers with 100 subscriptions, each with its consumer made. */
async function idle100(ctx, servers) {
  const subscriptions = {};
  const actions = {};
  for (let i = 0; i < 100; i++) {
    actions[`idle.${i}`] = { application: 'bench-publisher', schemata: { type: 'object' } };
    subscriptions[`idle-${i}`] = { application: 'bench-receiver', action: `idle.${i}`, handler: `/idle/${i}` };
  }
  const base = benchConfig({ receiverPort: ctx.receiver.port, e2ePort: ctx.paced.port });
  const a = await natsAmebo(ctx, servers, 'idle100', { actions: { ...base.actions, ...actions }, subscriptions: { ...base.subscriptions, ...subscriptions } });
  try {
    // One event per action makes each subscription's consumer (they are made at the first publish).
    await Promise.all(Object.keys(actions).map((action) => expectAccepted(a.url, '/v1/events', JSON.stringify({ action, payload: {} }))));
    await sleep(3_000);
    const pids = { amebo: a.pid, ...Object.fromEntries(servers.nodes.map((n) => [n.name, n.pid])) };
    const meter = new CpuMeter(pids).start();
    await sleep(ctx.quick ? 5_000 : 15_000);
    const c = meter.stop();
    const serversCores = servers.nodes.reduce((s, n) => s + (c[n.name] ?? 0), 0);
    return { amebo: c.amebo, servers: round(serversCores, 3), perServer: servers.nodes.map((n) => c[n.name]), machine: c.machine };
  } finally {
    await a.stop();
  }
}

export async function cluster(ctx) {
  if (!ensureCommand(ctx, 'nats-server', 'nats-server')) return { skipped: 'nats-server is not on PATH and could not be installed' };
  const one = await startNatsServers(1);
  const three = await startNatsServers(3);
  const out = { runs: { lmdb: [], r1: [], r3: [], raw1: [], raw3: [], fanLmdb: [], fanR1: [], fanR3: [], two: [], single: [] } };
  try {
    for (let i = 0; i < ctx.runs; i++) {
      ctx.log(`cluster run ${i + 1}/${ctx.runs}: publish on LMDB, R1, R3, raw client R1, R3`);
      out.runs.lmdb.push(await quietRun(ctx, 'lmdb', async () => { const a = await freshAmebo(ctx, 'c-lmdb'); try { return await publishRun(ctx, a); } finally { await a.stop(); } }));
      out.runs.r1.push(await quietRun(ctx, 'nats R1', async () => { const a = await natsAmebo(ctx, one, 'c-r1'); try { return await publishRun(ctx, a, one); } finally { await a.stop(); } }));
      out.runs.r3.push(await quietRun(ctx, 'nats R3', async () => { const a = await natsAmebo(ctx, three, 'c-r3'); try { return await publishRun(ctx, a, three); } finally { await a.stop(); } }));
      out.runs.raw1.push(await rawRun(ctx, one, 1));
      out.runs.raw3.push(await rawRun(ctx, three, 3));
      ctx.log(`cluster run ${i + 1}/${ctx.runs}: fan-out to 4 subscriptions on LMDB, R1, R3`);
      for (const [key, make] of [['fanLmdb', () => freshAmebo(ctx, 'c-fan-lmdb')], ['fanR1', () => natsAmebo(ctx, one, 'c-fan-r1')], ['fanR3', () => natsAmebo(ctx, three, 'c-fan-r3')]]) {
        const a = await make();
        try {
          await fanoutRun(ctx, a); // warm-up (makes the consumers)
          out.runs[key].push(await fanoutRun(ctx, a));
        } finally {
          await a.stop();
        }
      }
      ctx.log(`cluster run ${i + 1}/${ctx.runs}: two instances on R3 against one`);
      const a = await natsAmebo(ctx, three, 'c-two-a');
      try {
        out.runs.single.push(await publishRun(ctx, a, three));
        const b = await startAmebo({ dir: ctx.tmp, name: `c-two-b-${Date.now()}`, config: JSON.parse(JSON.stringify(await readConfig(a))) });
        try {
          out.runs.two.push(await twoInstances(ctx, a, b));
        } finally {
          await b.stop();
        }
      } finally {
        await a.stop();
      }
    }
    ctx.log('cluster: idle CPU with 100 subscriptions on R3');
    out.idle100 = await idle100(ctx, three);
  } finally {
    await one.close();
    await three.close();
  }
  const m = (k) => medianOf(out.runs[k]);
  Object.assign(out, { lmdb: m('lmdb'), r1: m('r1'), r3: m('r3'), raw1: m('raw1'), raw3: m('raw3'), fanLmdb: m('fanLmdb'), fanR1: m('fanR1'), fanR3: m('fanR3'), single: m('single'), two: m('two') });
  out.ratios = {
    r3VsLmdb: out.r3.rps / out.lmdb.rps,
    r1VsLmdb: out.r1.rps / out.lmdb.rps,
    r3VsRaw3: out.r3.rps / out.raw3.rps,
    r1VsRaw1: out.r1.rps / out.raw1.rps,
    fanR3VsLmdb: out.fanR3.deliveriesPerSec / out.fanLmdb.deliveriesPerSec,
    fanR1VsLmdb: out.fanR1.deliveriesPerSec / out.fanLmdb.deliveriesPerSec,
    twoVsOne: out.two.rps / out.single.rps,
  };
  return out;
}

/** The config a daemon was started with (startAmebo writes it next to its log). */
async function readConfig(a) {
  const { readFileSync } = await import('node:fs');
  const { parse } = await import('yaml');
  return parse(readFileSync(a.logFile.replace(/\.log$/, '.yaml'), 'utf8'));
}

// Pieces the scenarios share: request bodies, a sanity publish, one closed-loop measurement.
import { PAYLOAD, benchConfig, postJson, startAmebo } from '../lib/amebo.mjs';
import { runLoad } from '../lib/loadgen.mjs';
import { CpuMeter, round } from '../lib/proc.mjs';

export const eventBody = (action) => JSON.stringify({ action, payload: PAYLOAD });
export const batchBody = (action, n) => JSON.stringify({ events: Array.from({ length: n }, () => ({ action, payload: PAYLOAD })) });

/** Fails early, with amebo's answer, when a request the load depends on is not accepted. */
export async function expectAccepted(url, path, body) {
  const res = await postJson(`${url}${path}`, JSON.parse(body));
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
  }
  return res.body;
}

/**
 * Warm-up run, then one measured closed-loop run; adds the server's CPU use (cores). `also`: more
 * processes that belong to the system under test (nats-servers), metered so they are not "other load".
 */
export async function closedLoop(ctx, { url, body, pid, connections = ctx.connections, also = {} }) {
  await runLoad({ tool: ctx.tool, url, body, connections, duration: ctx.warmup });
  const meter = new CpuMeter({ server: pid, ...also }).start();
  const r = await runLoad({ tool: ctx.tool, url, body, connections, duration: ctx.duration });
  return summarize(r, meter.stop());
}

/** Other load above this many cores during a run marks the run as disturbed: it is repeated. */
export const OTHER_MAX = 0.35;

/**
 * Cores the rest of the machine used during a run: all busy cores less the processes measured
 * (a CpuMeter result) less `extra` (a load generator that measured itself). Kernel work for
 * loopback traffic shows up here too, about 0.1 core in a clean run.
 */
export function otherCores(cores, extra = 0) {
  let mine = extra;
  for (const [k, v] of Object.entries(cores)) if (k !== 'machine') mine += v;
  return round(Math.max(0, cores.machine - mine), 2);
}

/**
 * Runs `once()` until the machine stayed quiet during it (its `otherCores` at most OTHER_MAX), at most
 * three times and within the bench's retry budget; keeps the quietest attempt.
 */
export async function quietRun(ctx, label, once) {
  let best;
  for (let attempt = 1; ; attempt++) {
    const t0 = performance.now();
    const r = await once();
    if (!best || r.otherCores < best.otherCores) best = r;
    if (r.otherCores <= OTHER_MAX || attempt === 3 || ctx.retryBudgetMs <= 0) break;
    ctx.retryBudgetMs -= performance.now() - t0;
    ctx.retried++;
    ctx.log(`  ${label}: other processes took ${r.otherCores} cores during the run; repeating it`);
  }
  if (best.otherCores > OTHER_MAX) {
    best.disturbed = true;
    ctx.disturbed++;
  }
  return best;
}

/** The figures of one load run, with CPU use: `cores` is a CpuMeter result with a `server` entry. */
export function summarize(r, cores) {
  return {
    rps: round(r.rps),
    p50: round(r.p50, 3),
    p99: round(r.p99, 3),
    p999: round(r.p999, 3),
    ok: r.ok,
    non2xx: r.non2xx ?? r.failed ?? 0,
    errors: r.errors ?? 0,
    serverCores: cores.server,
    loadgenCores: round(r.loadgenCores, 2),
    // Busy cores of the whole machine, and what of it was neither the server nor the load generator.
    machineCores: cores.machine,
    otherCores: otherCores(cores, 'loadgen' in cores ? 0 : r.loadgenCores),
    tool: r.tool,
  };
}

/** A fresh daemon (empty data dir) with the bench config. */
export function freshAmebo(ctx, name, { durability, routing } = {}) {
  return startAmebo({
    dir: ctx.tmp,
    name: `${name}-${Date.now()}`,
    config: benchConfig({ receiverPort: ctx.receiver.port, e2ePort: ctx.paced.port, durability, routing }),
    // One folder per kind of daemon; node names each profile CPU.<date>.<time>.<pid>...cpuprofile.
    nodeOptions: ctx.profile ? `--cpu-prof --cpu-prof-dir=${ctx.profileDir}/${name}` : undefined,
  });
}

// (10) A backlog that does not grow memory: a receiver is down (its port refuses connections) while
// `ctx.backlogEvents` events with two subscriptions each are published, so the daemon holds twice as
// many undelivered gists and keeps retrying them. Measured: anonymous memory (RssAnon: heap and
// stacks; LMDB's mapped pages are page cache) with the backlog, how soon a freshly published event
// and a replay of one event get their first attempt behind it, and the time a restart takes to a
// healthy /health with the backlog on disk. The subscriptions have no circuit breaker: (10) measures
// the queue, and an open circuit would hold every attempt back for its cooldown by design (the default
// opens after 10 failures and sends one probe every 30 s).
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { freePort, startAmebo } from '../lib/amebo.mjs';
import { memory, round, runJob } from '../lib/proc.mjs';
import { PAYLOAD, SCHEMA } from '../lib/amebo.mjs';

const POST = new URL('../workers/post.mjs', import.meta.url).pathname;
const MB = 1024 * 1024;
const BATCH = 1000;

function config(deadPort) {
  const sub = (name) => ({ application: 'bench-receiver', action: 'bench.backlog', handler: `http://127.0.0.1:${deadPort}/${name}`, max_retries: 1000, timeout: '2s', backoff: { initial: '1s', max: '10m' }, circuit: false });
  return {
    server: { durability: 'commit' },
    applications: {
      'bench-publisher': { address: 'http://127.0.0.1:9', secret: 'bench-publisher-secret' },
      'bench-receiver': { address: `http://127.0.0.1:${deadPort}`, secret: 'bench-receiver-secret' },
    },
    actions: { 'bench.backlog': { application: 'bench-publisher', schemata: SCHEMA } },
    subscriptions: { 'backlog-a': sub('a'), 'backlog-b': sub('b') },
  };
}

async function getJson(url) {
  const res = await request(url);
  return res.body.json();
}

/** Peak RssAnon over `ms` (sampled every 250 ms). */
async function peakAnon(pid, ms) {
  let peak = 0;
  for (const until = performance.now() + ms; performance.now() < until; ) {
    peak = Math.max(peak, memory(pid).anon);
    await sleep(250);
  }
  return peak;
}

/** Milliseconds from now until every gist of `eventId` has at least `attempts` attempts. */
async function untilAttempted(url, eventId, attempts, capMs = 60_000) {
  const t0 = performance.now();
  for (;;) {
    const gists = (await getJson(`${url}/v1/gists?event=${eventId}`)).data;
    if (gists.length > 0 && gists.every((g) => g.attempt_count >= attempts)) return round(performance.now() - t0);
    if (performance.now() - t0 > capMs) return null;
    await sleep(20);
  }
}

export async function backlog(ctx) {
  const deadPort = await freePort();
  const name = `backlog-${Date.now()}`;
  const cfg = config(deadPort);
  const out = { events: ctx.backlogEvents, gists: ctx.backlogEvents * 2 };
  let a = await startAmebo({ dir: ctx.tmp, name, config: cfg });
  try {
    await sleep(1000);
    out.idleAnonMB = round(memory(a.pid).anon / MB, 1);
    ctx.log(`backlog: publishing ${ctx.backlogEvents} events to 2 subscriptions whose receiver is down`);
    const body = JSON.stringify({ events: Array.from({ length: BATCH }, () => ({ action: 'bench.backlog', payload: PAYLOAD })) });
    const fill = await runJob(POST, {
      origin: a.url,
      requests: [{ path: '/v1/events/batch', body, headers: { 'content-type': 'application/json' } }],
      total: Math.ceil(ctx.backlogEvents / BATCH),
      connections: 2,
    });
    out.fillEventsPerSec = Math.round((fill.ok * BATCH) / fill.seconds);
    const health = await getJson(`${a.url}/health`);
    out.backlog = health.data.backlog;
    ctx.log(`backlog: ${out.backlog} undelivered gists; sampling memory for 10 s while retries run`);
    out.anonWithBacklogMB = round((await peakAnon(a.pid, 10_000)) / MB, 1);
    out.rssWithBacklogMB = round(memory(a.pid).rss / MB, 1);

    // A new event behind the backlog: its first attempt (a refused connection, recorded) must come at once.
    const fresh = await request(`${a.url}/v1/events`, { method: 'POST', body: JSON.stringify({ action: 'bench.backlog', payload: PAYLOAD }), headers: { 'content-type': 'application/json' } });
    const freshId = (await fresh.body.json()).data.id;
    out.newEventFirstAttemptMs = await untilAttempted(a.url, freshId, 1);
    // A replay of one old event: its next attempt comes at once too.
    const before = (await getJson(`${a.url}/v1/gists?event=1`)).data;
    const attempts = Math.min(...before.map((g) => g.attempt_count));
    await request(`${a.url}/v1/replays`, { method: 'POST', body: JSON.stringify({ event: 1 }), headers: { 'content-type': 'application/json' } }).then((r) => r.body.dump());
    out.replayFirstAttemptMs = await untilAttempted(a.url, 1, attempts + 1);

    ctx.log('backlog: restarting the daemon on the full log');
    await a.stop();
    const t0 = performance.now();
    a = await startAmebo({ dir: ctx.tmp, name, config: cfg });
    out.restartToHealthyMs = round(performance.now() - t0);
    out.backlogAfterRestart = (await getJson(`${a.url}/health`)).data.backlog;
    out.anonAfterRestartMB = round((await peakAnon(a.pid, 5_000)) / MB, 1);
  } finally {
    await a.stop();
  }
  return out;
}

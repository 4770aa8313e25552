// Open-loop, fixed-rate publisher (undici). Request i is due at t0 + i/rate whether or not
// earlier ones have come back, and its latency is measured from that due time, so a stall
// in the server shows up in the percentiles instead of slowing the generator down
// (no coordinated omission). autocannon's `overallRate` is not used for this: it gives each
// connection a quota per wall-clock second, which it sends back to back, so a run at 50% of
// capacity is really a closed loop at full speed for half of every second.
//
// For end-to-end latency the same process is the webhook receiver (one clock for both ends):
// it records the send time of each event id from the 201 response, and the receipt time of
// each webhook's `event_id`.
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { latencySummary, Samples } from '../lib/stats.mjs';

const sentAt = new Map(); // event id -> send time (ms, performance.now)
const receivedAt = new Map(); // event id -> first receipt time
let webhooks = 0;

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = performance.now();
    webhooks++;
    try {
      const id = JSON.parse(Buffer.concat(chunks).toString('utf8')).event_id;
      if (!receivedAt.has(id)) receivedAt.set(id, now);
    } catch {
      // Not JSON: counted, not timed.
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
server.keepAliveTimeout = 60_000;

async function run(job) {
  const url = new URL(job.url);
  const pool = new Pool(url.origin, { connections: job.connections, pipelining: 1 });
  // Warm-up at the same rate on the same connections (sockets opened, both sides JIT-compiled).
  if (job.warmup) await phase(pool, url, job, job.warmup, false);
  sentAt.clear();
  receivedAt.clear();
  webhooks = 0;
  const cpu0 = process.cpuUsage();
  const m = await phase(pool, url, job, job.duration, true);
  let e2e;
  if (job.e2e) {
    // Wait for the last webhooks (bounded), then join send and receipt times by event id.
    const deadline = performance.now() + (job.drainMs ?? 15000);
    while (receivedAt.size < sentAt.size && performance.now() < deadline) await sleep(20);
    const lat = new Samples();
    for (const [id, t] of sentAt) {
      const r = receivedAt.get(id);
      if (r !== undefined) lat.push(r - t);
    }
    e2e = { ...latencySummary(lat.values()), missing: sentAt.size - lat.length, webhooks };
  }
  const cpu = process.cpuUsage(cpu0);
  await pool.close();
  const r = latencySummary(m.response.values());
  const s = latencySummary(m.service.values());
  return {
    tool: 'undici open-loop',
    rate: job.rate,
    ok: m.response.length,
    failed: m.failed,
    rps: m.response.length / m.seconds,
    p50: r.p50,
    p99: r.p99,
    p999: r.p999,
    service: { p50: s.p50, p99: s.p99 },
    e2e,
    loadgenCores: (cpu.user + cpu.system) / 1e6 / m.seconds,
  };
}

/** Sends `rate * duration` requests on schedule and waits for all of them. */
async function phase(pool, url, job, duration, record) {
  const response = new Samples(); // due time -> response, ms
  const service = new Samples(); // actual send -> response, ms
  const total = Math.round(job.rate * duration);
  let sent = 0;
  let done = 0;
  let failed = 0;
  const t0 = performance.now() + 5;
  let allDone;
  const finished = new Promise((resolve) => (allDone = resolve));
  const headers = { 'content-type': 'application/json' };

  const fire = (due) => {
    const start = performance.now();
    pool
      .request({ method: 'POST', path: url.pathname, body: job.body, headers })
      .then(async (res) => {
        const text = job.e2e && record ? await res.body.text() : (await res.body.dump(), '');
        const end = performance.now();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          if (!record) return;
          response.push(end - due);
          service.push(end - start);
          if (job.e2e) sentAt.set(JSON.parse(text).data.id, start);
        } else failed++;
      })
      .catch(() => failed++)
      .finally(() => {
        if (++done === total) allDone();
      });
  };

  while (sent < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - t0) / 1000) * job.rate) + 1);
    while (sent < due) fire(t0 + (sent++ * 1000) / job.rate);
    await sleep(1);
  }
  await finished;
  return { response, service, failed, seconds: (performance.now() - t0) / 1000 };
}

process.on('message', async (msg) => {
  if (msg.type !== 'run') return;
  try {
    process.send({ id: msg.id, ...(await run(msg.job)) });
  } catch (err) {
    process.send({ id: msg.id, error: String(err?.stack ?? err) });
  }
});
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
process.on('disconnect', () => process.exit(0));

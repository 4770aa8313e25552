// Closed-loop POST job with undici: `total` requests cycling through `requests`, `inflight` at a
// time over a Pool of `connections` sockets. Used as the fan-out ceiling (the same webhook bodies
// posted straight to the receiver) and to fill amebo's log through the batch endpoint.
import { Pool } from 'undici';

process.on('message', async (msg) => {
  if (msg.type !== 'job') return;
  const job = msg.job;
  try {
    const pool = new Pool(job.origin, { connections: job.connections, pipelining: 1, keepAliveTimeout: 60_000 });
    const statuses = {};
    let next = 0;
    let errors = 0;
    let firstError;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const lane = async () => {
      while (next < job.total) {
        const r = job.requests[next++ % job.requests.length];
        try {
          const res = await pool.request({ method: 'POST', path: r.path, body: r.body, headers: r.headers });
          const text = await res.body.text();
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          if ((res.statusCode < 200 || res.statusCode >= 300) && !firstError) firstError = `${res.statusCode} ${text.slice(0, 300)}`;
        } catch (err) {
          errors++;
          firstError ??= String(err);
        }
      }
    };
    await Promise.all(Array.from({ length: job.inflight ?? job.connections }, lane));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await pool.close();
    const ok = Object.entries(statuses).reduce((n, [s, c]) => (Number(s) < 300 ? n + c : n), 0);
    const total = process.cpuUsage();
    process.send({
      type: 'result',
      ok,
      statuses,
      errors,
      firstError,
      seconds,
      rps: ok / seconds,
      loadgenCores: (cpu.user + cpu.system) / 1e6 / seconds,
      // All the CPU this process used, start-up included, for callers that meter a longer window.
      cpuSeconds: (total.user + total.system) / 1e6,
    });
  } catch (err) {
    process.send({ type: 'result', error: String(err?.stack ?? err) });
  }
  process.disconnect();
});
process.send({ type: 'ready' });

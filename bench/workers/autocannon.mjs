// Load generator job: runs autocannon (programmatic API) once and reports throughput,
// latency percentiles at microsecond resolution (autocannon's own histogram keeps whole
// milliseconds) and the CPU this process used while it ran.
import autocannon from 'autocannon';
import { latencySummary, Samples } from '../lib/stats.mjs';

process.on('message', async (msg) => {
  if (msg.type !== 'job') return;
  const job = msg.job;
  try {
    const samples = new Samples();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const instance = autocannon({
      url: job.url,
      method: job.method ?? 'POST',
      body: job.body,
      headers: job.headers ?? { 'content-type': 'application/json' },
      connections: job.connections,
      pipelining: 1,
      duration: job.duration,
      amount: job.amount,
      timeout: 30,
    });
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) samples.push(responseTime);
    });
    const result = await instance;
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const lat = latencySummary(samples.values());
    process.send({
      type: 'result',
      tool: 'autocannon',
      ok: result['2xx'],
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      seconds: result.duration,
      rps: result['2xx'] / result.duration,
      p50: lat.p50,
      p99: lat.p99,
      p999: lat.p999,
      loadgenCores: (cpu.user + cpu.system) / 1e6 / wall,
      statusCodes: result.statusCodeStats,
    });
  } catch (err) {
    process.send({ type: 'result', error: String(err?.stack ?? err) });
  }
  process.disconnect();
});
process.send({ type: 'ready' });

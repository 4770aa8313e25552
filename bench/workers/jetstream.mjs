// Peer load job: JetStream publish with ack (file storage) through the `nats` client, `concurrency`
// publishes in flight on one connection, for `duration` seconds after a warm-up.
import { connect, StorageType } from 'nats';
import { latencySummary, Samples } from '../lib/stats.mjs';

async function phase(js, subject, data, concurrency, seconds, samples) {
  const end = performance.now() + seconds * 1000;
  let ok = 0;
  let errors = 0;
  const lane = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        await js.publish(subject, data);
        samples?.push(performance.now() - t);
        ok++;
      } catch {
        errors++;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { ok, errors, seconds: (performance.now() - t0) / 1000 };
}

process.on('message', async (msg) => {
  if (msg.type !== 'job') return;
  const job = msg.job;
  try {
    const nc = await connect({ servers: `127.0.0.1:${job.port}` });
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], storage: StorageType.File });
    } catch {
      // Already there from an earlier run against the same server.
    }
    const js = nc.jetstream();
    const data = Buffer.from(job.payload);
    if (job.warmup) await phase(js, 'bench.publish', data, job.concurrency, job.warmup);
    const samples = new Samples();
    const cpu0 = process.cpuUsage();
    const r = await phase(js, 'bench.publish', data, job.concurrency, job.duration, samples);
    const cpu = process.cpuUsage(cpu0);
    await nc.drain();
    const lat = latencySummary(samples.values());
    process.send({
      type: 'result',
      tool: 'nats.js',
      ok: r.ok,
      errors: r.errors,
      seconds: r.seconds,
      rps: r.ok / r.seconds,
      p50: lat.p50,
      p99: lat.p99,
      p999: lat.p999,
      loadgenCores: (cpu.user + cpu.system) / 1e6 / r.seconds,
    });
  } catch (err) {
    process.send({ type: 'result', error: String(err?.stack ?? err) });
  }
  process.disconnect();
});
process.send({ type: 'ready' });

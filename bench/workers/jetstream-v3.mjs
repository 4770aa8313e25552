// Peer load job for figure (11): JetStream publish with ack through the v3 client amebo itself uses
// (@nats-io/jetstream), `concurrency` publishes in flight on one connection, on a stream with
// `replicas` copies, for `duration` seconds after a warm-up. The raw client's ceiling next to amebo.
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
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
    const nc = await connect({ servers: job.servers });
    const jsm = await jetstreamManager(nc);
    const name = `RAW_${job.replicas}_${Date.now()}`;
    await jsm.streams.add({ name, subjects: [`raw${job.replicas}.${Date.now()}.>`], num_replicas: job.replicas });
    const subject = (await jsm.streams.info(name)).config.subjects[0].replace('>', 'publish');
    const js = jetstream(nc);
    const data = Buffer.from(job.payload);
    if (job.warmup) await phase(js, subject, data, job.concurrency, job.warmup);
    const samples = new Samples();
    const cpu0 = process.cpuUsage();
    const r = await phase(js, subject, data, job.concurrency, job.duration, samples);
    const cpu = process.cpuUsage(cpu0);
    await jsm.streams.delete(name).catch(() => undefined);
    await nc.drain();
    const lat = latencySummary(samples.values());
    process.send({ type: 'result', tool: '@nats-io/jetstream', ok: r.ok, errors: r.errors, seconds: r.seconds, rps: r.ok / r.seconds, p50: lat.p50, p99: lat.p99, p999: lat.p999, loadgenCores: (cpu.user + cpu.system) / 1e6 / r.seconds });
  } catch (err) {
    process.send({ type: 'result', error: String(err?.stack ?? err) });
  }
  process.disconnect();
});
process.send({ type: 'ready' });

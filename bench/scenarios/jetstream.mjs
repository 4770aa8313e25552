// (8) Peer: NATS JetStream publish with ack, file storage, same payload size and concurrency as
// (1), through the `nats` npm client. nats-server comes from Debian; when it is missing the bench
// installs it with apt-get if it runs as root (BENCH_NO_INSTALL=1 stops that), else skips.
import { execFileSync, spawn } from 'node:child_process';
import { ensureCommand } from '../lib/install.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PAYLOAD, freePort } from '../lib/amebo.mjs';
import { CpuMeter, runJob, stopChild } from '../lib/proc.mjs';
import { medianOf } from '../lib/stats.mjs';
import { closedLoop, eventBody, expectAccepted, freshAmebo, quietRun, summarize } from './common.mjs';

const JOB = new URL('../workers/jetstream.mjs', import.meta.url).pathname;

async function waitPort(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = tcpConnect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nats-server did not listen on ${port}`);
}

export async function jetstream(ctx) {
  if (!ensureCommand(ctx, 'nats-server', 'nats-server')) {
    const reason = 'nats-server is not on PATH and could not be installed (apt-get install nats-server); skipped';
    ctx.log(`jetstream: ${reason}`);
    return { skipped: reason };
  }
  const version = execFileSync('nats-server', ['--version']).toString().trim();
  const runs = [];
  const amebo = [];
  const body = eventBody('bench.publish');
  for (let i = 0; i < ctx.runs; i++) {
    // amebo's side of the ratio is measured run by run too, so both see the same machine.
    ctx.log(`jetstream run ${i + 1}/${ctx.runs}: amebo publish`);
    const once = async () => {
      const a = await freshAmebo(ctx, 'peer');
      try {
        await expectAccepted(a.url, '/v1/events', body);
        return await closedLoop(ctx, { url: `${a.url}/v1/events`, body, pid: a.pid });
      } finally {
        await a.stop();
      }
    };
    amebo.push(await quietRun(ctx, 'amebo', once));
    ctx.log(`jetstream run ${i + 1}/${ctx.runs}: ${version}, file storage, ${ctx.connections} publishes in flight`);
    const peer = async () => {
      const dir = mkdtempSync(join(ctx.tmp, 'nats-'));
      const port = await freePort();
      const server = spawn('nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      try {
        await waitPort(port);
        const meter = new CpuMeter({ server: server.pid });
        const job = runJob(JOB, { port, payload: JSON.stringify(PAYLOAD), concurrency: ctx.connections, duration: ctx.duration, warmup: ctx.warmup });
        // Meter the server over the measured part only, roughly: skip the warm-up.
        await sleep(ctx.warmup * 1000 + 300);
        meter.start();
        const r = await job;
        return summarize(r, meter.stop());
      } finally {
        await stopChild(server);
        rmSync(dir, { recursive: true, force: true });
      }
    };
    runs.push(await quietRun(ctx, 'jetstream', peer));
  }
  const r = { version, concurrency: ctx.connections, payloadBytes: Buffer.byteLength(JSON.stringify(PAYLOAD)), jetstream: medianOf(runs), amebo: medianOf(amebo) };
  r.ratio = r.amebo.rps / r.jetstream.rps;
  r.runs = { jetstream: runs, amebo };
  return r;
}

// (8) Peer: NATS JetStream publish with ack (file storage, R1: its ack means "in the page cache",
// as amebo's `durability: commit` does), against amebo's fastest way in, POST /v1/events/stream,
// with the same payload and the same events in flight (50), both driven by the native pipelined
// publisher in C (bench/native/pub.c), so that the ratio compares the servers and not their clients.
// The `nats` npm client's figure and amebo's one-event-per-request figure are kept for continuity.
// nats-server comes from Debian; when it is missing the bench installs it with apt-get if it runs as
// root (BENCH_NO_INSTALL=1 stops that), else skips.
import { execFileSync, spawn } from 'node:child_process';
import { ensureCommand } from '../lib/install.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PAYLOAD, freePort } from '../lib/amebo.mjs';
import { nativePublisher } from '../lib/native.mjs';
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

/** A fresh nats-server with JetStream on a temp dir, for one measurement. */
async function withNats(ctx, fn) {
  const dir = mkdtempSync(join(ctx.tmp, 'nats-'));
  const port = await freePort();
  const server = spawn('nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  try {
    await waitPort(port);
    return await fn(port, server.pid);
  } finally {
    await stopChild(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A native closed loop (warm-up, then measured), with the server's CPU metered over the measured part. */
async function native(ctx, mode, port, pid, body) {
  const run = nativePublisher(mode, { port, inflight: ctx.connections, warmup: ctx.warmup, duration: ctx.duration, body });
  await sleep(ctx.warmup * 1000 + 100);
  const meter = new CpuMeter({ server: pid }).start();
  const r = await run;
  return summarize(r, meter.stop());
}

export async function jetstream(ctx) {
  if (!ensureCommand(ctx, 'nats-server', 'nats-server')) {
    const reason = 'nats-server is not on PATH and could not be installed (apt-get install nats-server); skipped';
    ctx.log(`jetstream: ${reason}`);
    return { skipped: reason };
  }
  const version = execFileSync('nats-server', ['--version']).toString().trim();
  const payload = JSON.stringify(PAYLOAD);
  const line = eventBody('bench.publish');
  const runs = { jetstream: [], stream: [], nodeClient: [], amebo: [] };
  for (let i = 0; i < ctx.runs; i++) {
    // Interleaved, so both sides of each ratio see the same machine.
    ctx.log(`jetstream run ${i + 1}/${ctx.runs}: ${version}, file storage, native publisher, ${ctx.connections} in flight`);
    runs.jetstream.push(await quietRun(ctx, 'jetstream native', () => withNats(ctx, (port, pid) => native(ctx, 'jetstream', port, pid, payload))));
    ctx.log(`jetstream run ${i + 1}/${ctx.runs}: amebo POST /v1/events/stream, native publisher, ${ctx.connections} in flight`);
    runs.stream.push(
      await quietRun(ctx, 'amebo stream', async () => {
        const a = await freshAmebo(ctx, 'peer-stream');
        try {
          await expectAccepted(a.url, '/v1/events', line);
          return await native(ctx, 'amebo-stream', Number(new URL(a.url).port), a.pid, line);
        } finally {
          await a.stop();
        }
      }),
    );
    ctx.log(`jetstream run ${i + 1}/${ctx.runs}: JetStream through the nats npm client (continuity)`);
    runs.nodeClient.push(
      await quietRun(ctx, 'jetstream nats.js', () =>
        withNats(ctx, async (port, pid) => {
          const job = runJob(JOB, { port, payload, concurrency: ctx.connections, duration: ctx.duration, warmup: ctx.warmup });
          await sleep(ctx.warmup * 1000 + 300);
          const meter = new CpuMeter({ server: pid }).start();
          const r = await job;
          return summarize(r, meter.stop());
        }),
      ),
    );
    ctx.log(`jetstream run ${i + 1}/${ctx.runs}: amebo POST /v1/events, wrk (continuity)`);
    runs.amebo.push(
      await quietRun(ctx, 'amebo', async () => {
        const a = await freshAmebo(ctx, 'peer');
        try {
          await expectAccepted(a.url, '/v1/events', line);
          return await closedLoop(ctx, { url: `${a.url}/v1/events`, body: line, pid: a.pid });
        } finally {
          await a.stop();
        }
      }),
    );
  }
  const r = { version, concurrency: ctx.connections, payloadBytes: Buffer.byteLength(payload) };
  for (const [k, v] of Object.entries(runs)) r[k] = medianOf(v);
  // Ratios run by run (each pair measured side by side), then their median.
  const ratios = (a, b) => runs[a].map((x, j) => x.rps / runs[b][j].rps).sort((x, y) => x - y);
  const med = (xs) => xs[Math.floor(xs.length / 2)];
  r.streamRatio = med(ratios('stream', 'jetstream'));
  r.nodeClientRatio = med(ratios('amebo', 'nodeClient'));
  r.ratio = r.streamRatio;
  r.runs = runs;
  return r;
}

// Which HTTP transport carries one event cheapest, with 50 events in flight: one POST per event over
// HTTP/1.1 (50 connections, or 5 connections pipelining 10 each), over HTTP/2 (h2c: one connection
// with 50 streams), or one NDJSON stream (one request, 50 lines in flight). Each server is bare: it
// parses the JSON and answers an event-shaped body, no validation, no log, so the figures are the
// transports' own ceilings; then amebo itself, pipelined POST /v1/events against its stream.
// Needs wrk and h2load (Debian: wrk, nghttp2-client). Run (after npm run build):
//   node bench/micro/transport.mjs [--duration 5]
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createServer as createH2 } from 'node:http2';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PAYLOAD, benchConfig, freePort, snapshotBuild, startAmebo } from '../lib/amebo.mjs';
import { nativePublisher } from '../lib/native.mjs';
import { cpuSeconds } from '../lib/proc.mjs';

const SELF = new URL(import.meta.url).pathname;
const BODY = JSON.stringify({ action: 'bench.publish', payload: PAYLOAD });
let nextId = 1;
const answer = (e) => `{"data":{"id":${nextId++},"action":${JSON.stringify(e.action)},"payload":${JSON.stringify(e.payload)},"timestamp":"${new Date().toISOString()}"}}`;

// --- the bare servers (child processes) ---
if (process.argv[2] === '--serve') {
  const kind = process.argv[3];
  const port = Number(process.argv[4]);
  const onRequest = (req, res) => {
    const chunks = [];
    if (kind === 'stream') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      let rest = '';
      req.on('data', (c) => {
        const lines = (rest + c.toString('utf8')).split('\n');
        rest = lines.pop();
        let out = '';
        for (const l of lines) if (l) out += `${answer(JSON.parse(l))}\n`;
        if (out) setImmediate(() => res.write(out));
      });
      req.on('end', () => res.end());
      return;
    }
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = answer(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  };
  const server = kind === 'h2' ? createH2(onRequest) : createServer({ keepAliveTimeout: 60_000 }, onRequest);
  server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
  process.on('SIGTERM', () => process.exit(0));
} else {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '5' } } });
  const duration = Number(values.duration);
  const work = mkdtempSync(join(tmpdir(), 'amebo-transport-'));

  const serve = async (kind) => {
    const port = await freePort();
    const child = spawn(process.execPath, [SELF, '--serve', kind, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    return { port, pid: child.pid, stop: () => child.kill('SIGTERM') };
  };
  const run = (cmd, args) =>
    new Promise((resolve, reject) => {
      const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out}`))));
    });
  const bodyFile = join(work, 'body.json');
  writeFileSync(bodyFile, BODY);
  const wrkScript = (depth) => {
    const f = join(work, `post-${depth}.lua`);
    const esc = BODY.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    writeFileSync(
      f,
      `wrk.method = "POST"\nwrk.body = "${esc}"\nwrk.headers["Content-Type"] = "application/json"\n` +
        `init = function(args)\n  local r = {}\n  for i = 1, ${depth} do r[i] = wrk.format() end\n  req = table.concat(r)\nend\n` +
        `request = function() return req end\n`,
    );
    return f;
  };
  const wrk = async (url, connections, depth) => {
    const out = await run('wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '-s', wrkScript(depth), url]);
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  };
  const h2load = async (port, connections, streams) => {
    const out = await run('h2load', ['-c', String(connections), '-m', String(streams), '-D', String(duration), '-d', bodyFile, '-H', 'content-type: application/json', `http://127.0.0.1:${port}/v1/events`]);
    return Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1]);
  };
  /** events/s and the server's CPU µs per event. */
  const measure = async (label, pid, fn) => {
    const c0 = cpuSeconds(pid);
    const t0 = performance.now();
    const rps = await fn();
    const cpu = cpuSeconds(pid) - c0;
    const secs = (performance.now() - t0) / 1000;
    const perEvent = (cpu / (rps * secs)) * 1e6;
    console.log(`${label.padEnd(72)} ${Math.round(rps).toLocaleString('en-US').padStart(9)} events/s  ${perEvent.toFixed(1).padStart(5)} µs server CPU per event`);
  };

  try {
    console.log(`bare servers (no validation, no log), 50 events in flight, ${duration} s each:`);
    let s = await serve('http');
    await measure('HTTP/1.1, one POST per event, 50 connections (wrk)', s.pid, () => wrk(`http://127.0.0.1:${s.port}/v1/events`, 50, 1));
    await measure('HTTP/1.1, one POST per event, 5 connections x 10 pipelined (wrk)', s.pid, () => wrk(`http://127.0.0.1:${s.port}/v1/events`, 5, 10));
    s.stop();
    s = await serve('h2');
    await measure('HTTP/2 (h2c), one POST per event, 1 connection x 50 streams (h2load)', s.pid, () => h2load(s.port, 1, 50));
    await measure('HTTP/2 (h2c), one POST per event, 5 connections x 10 streams (h2load)', s.pid, () => h2load(s.port, 5, 10));
    s.stop();
    s = await serve('stream');
    await measure('HTTP/1.1, one NDJSON stream, 50 lines in flight (native C)', s.pid, async () => (await nativePublisher('amebo-stream', { port: s.port, inflight: 50, warmup: 1, duration, body: BODY })).rps);
    s.stop();

    console.log('\namebo (validation, group commit, durability: commit):');
    snapshotBuild(work);
    for (const [label, fn] of [
      ['POST /v1/events, 50 connections (wrk)', (a) => wrk(`${a.url}/v1/events`, 50, 1)],
      ['POST /v1/events, 5 connections x 10 pipelined (wrk)', (a) => wrk(`${a.url}/v1/events`, 5, 10)],
      ['POST /v1/events/stream, 50 lines in flight (native C)', async (a) => (await nativePublisher('amebo-stream', { port: Number(new URL(a.url).port), inflight: 50, warmup: 1, duration, body: BODY })).rps],
    ]) {
      const a = await startAmebo({ dir: work, name: `transport-${nextId++}`, config: benchConfig({ receiverPort: 9, e2ePort: 9 }) });
      try {
        await measure(label, a.pid, () => fn(a));
      } finally {
        await a.stop();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// The closed-loop HTTP load generator: wrk (a C program: less CPU per request, which matters on a
// 2-core machine where the generator shares the CPU with the server), otherwise autocannon's
// programmatic API in a child process. Fixed-rate runs use workers/paced.mjs instead.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCommand } from './install.mjs';
import { cpuSeconds, runJob } from './proc.mjs';

const AUTOCANNON = new URL('../workers/autocannon.mjs', import.meta.url).pathname;

/**
 * Which closed-loop generator to use: `BENCH_LOADGEN=wrk|autocannon`. By default wrk, installed from
 * Debian when missing and possible (see install.mjs), else autocannon.
 */
export function pickLoadgen(log) {
  const wanted = process.env.BENCH_LOADGEN ?? 'auto';
  if (wanted === 'autocannon') return 'autocannon';
  const hasWrk = ensureCommand({ log }, 'wrk', 'wrk');
  if (wanted === 'wrk' && !hasWrk) throw new Error('BENCH_LOADGEN=wrk but wrk is not on PATH and could not be installed');
  return hasWrk ? 'wrk' : 'autocannon';
}

/**
 * One closed-loop run. `opts`: {tool, url, body, connections, duration (s), headers?}.
 * Returns {tool, rps, p50, p99, p999 (ms), ok, non2xx, errors, loadgenCores}.
 */
export async function runLoad(opts) {
  if (opts.tool === 'autocannon') {
    const r = await runJob(AUTOCANNON, {
      url: opts.url,
      body: opts.body,
      headers: opts.headers,
      connections: opts.connections,
      duration: opts.duration,
    });
    delete r.type;
    return r;
  }
  return runWrk(opts);
}

function luaString(s) {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

async function runWrk(opts) {
  const dir = mkdtempSync(join(tmpdir(), 'amebo-bench-wrk-'));
  const script = join(dir, 'post.lua');
  const headers = opts.headers ?? { 'Content-Type': 'application/json' };
  writeFileSync(
    script,
    [
      'wrk.method = "POST"',
      `wrk.body = ${luaString(opts.body)}`,
      ...Object.entries(headers).map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`),
      'done = function(summary, latency, requests)',
      '  local e = summary.errors',
      '  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"p999\\":%d,\\"status\\":%d,\\"errors\\":%d}\\n",',
      '    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),',
      '    e.status, e.connect + e.read + e.write + e.timeout))',
      'end',
      '',
    ].join('\n'),
  );
  const threads = String(opts.threads ?? 1);
  const child = spawn(
    'wrk',
    ['-t', threads, '-c', String(opts.connections), '-d', `${opts.duration}s`, '--timeout', '30s', '-s', script, opts.url],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const t0 = performance.now();
  let cpu = 0;
  // Sample CPU until just before exit: /proc/<pid> disappears once the child is reaped.
  const sampler = setInterval(() => {
    const c = cpuSeconds(child.pid);
    if (Number.isFinite(c)) cpu = c;
  }, 100);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  clearInterval(sampler);
  const wall = (performance.now() - t0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (code !== 0 || !line) throw new Error(`wrk exited with ${code}: ${out}`);
  const r = JSON.parse(line.slice(8));
  const seconds = r.duration_us / 1e6;
  const ok = r.requests - r.status;
  return {
    tool: `wrk -t${threads}`,
    ok,
    non2xx: r.status,
    errors: r.errors,
    seconds,
    rps: ok / seconds,
    p50: r.p50 / 1000,
    p99: r.p99 / 1000,
    p999: r.p999 / 1000,
    loadgenCores: cpu / wall,
  };
}

// Process plumbing for the bench: child processes with an IPC channel, CPU and RSS
// read from /proc, waiting for a port to answer.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat counts in these ticks.

/** CPU seconds (user + system) that a process has used so far, threads included. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; fields start after the closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in bytes (VmRSS). */
export function rssBytes(pid) {
  return memory(pid).rss;
}

/**
 * VmRSS split as the kernel counts it: `anon` (heap, stacks: the process's own memory) and `file`
 * (mapped files, here mostly LMDB's pages: page cache the kernel can drop and re-read).
 */
export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => {
    const m = new RegExp(`${key}:\\s+(\\d+)\\s+kB`).exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** CPU seconds the whole machine has spent busy (all cores; everything but idle and iowait). */
export function machineBusySeconds() {
  // cpu  user nice system idle iowait irq softirq steal ...
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).map(Number);
  return (f[1] + f[2] + f[3] + f[6] + f[7] + f[8]) / CLK_TCK;
}

/**
 * Measures how many cores a set of processes use over an interval, and the whole machine too
 * (`machine`), so that load from other processes on the box shows up next to the figures.
 * `start()` then `stop()` returns `{name: cores, machine: cores}` (CPU seconds / wall seconds).
 */
export class CpuMeter {
  constructor(pids) {
    this.pids = pids; // {name: pid}
  }

  start() {
    this.t0 = performance.now();
    this.m0 = machineBusySeconds();
    this.c0 = Object.fromEntries(Object.entries(this.pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    return this;
  }

  stop() {
    const wall = (performance.now() - this.t0) / 1000;
    const out = {};
    for (const [k, pid] of Object.entries(this.pids)) out[k] = round((cpuSeconds(pid) - this.c0[k]) / wall, 2);
    out.machine = round((machineBusySeconds() - this.m0) / wall, 2);
    return out;
  }
}

/** Cores the machine keeps busy over `ms` while the bench itself does nothing. */
export async function backgroundCores(ms = 1000) {
  const m0 = machineBusySeconds();
  await sleep(ms);
  return round((machineBusySeconds() - m0) / (ms / 1000), 2);
}

export function round(x, digits = 0) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Starts `node script` with an IPC channel. Resolves once the child sends `{type: 'ready', ...}`
 * and returns the child and that message.
 */
export async function startWorker(script, args = [], { env, timeoutMs = 15000 } = {}) {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script}: not ready after ${timeoutMs} ms`)), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
    child.on('message', function onMessage(msg) {
      if (msg && msg.type === 'ready') {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(msg);
      }
    });
  });
  child.removeAllListeners('exit');
  return { child, ready, call: (msg) => call(child, msg) };
}

let nextCallId = 1;
/** Sends `{...msg, id}` to a worker and resolves with its reply `{id, ...}`. */
export function call(child, msg) {
  const id = nextCallId++;
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`worker exited with ${code} during ${msg.type}`));
    child.once('exit', onExit);
    child.on('message', function onMessage(reply) {
      if (reply && reply.id === id) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (reply.error) reject(new Error(reply.error));
        else resolve(reply);
      }
    });
    child.send({ ...msg, id });
  });
}

/** Runs a worker that does one job: sends `{type:'result', ...}` and exits. */
export function runJob(script, job, { env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...env },
    });
    let result;
    child.on('message', (msg) => {
      if (msg && msg.type === 'ready') child.send({ type: 'job', job });
      else if (msg && msg.type === 'result') result = msg;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (result && !result.error) resolve(result);
      else reject(new Error(`${script}: ${result?.error ?? `exited with ${code} and no result`}`));
    });
  });
}

/** Stops a child with SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child, graceMs = 10000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Polls `url` until it answers 200, or throws after `timeoutMs`. */
export async function waitHttp(url, timeoutMs = 30000, isAlive = () => true) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`process behind ${url} exited`);
    try {
      const res = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 });
      await res.body.dump();
      if (res.statusCode === 200) return;
      lastErr = new Error(`status ${res.statusCode}`);
    } catch (err) {
      lastErr = err;
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms: ${lastErr?.message}`);
}

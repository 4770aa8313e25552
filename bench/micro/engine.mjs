// What the LMDB engine costs per gist, in-process, with nothing else running: the append (an event
// with its gists, batches of 100), and the delivery cycle (lease up to 4 at a time with 16 in flight
// per subscription, record each as delivered). The baseline for the queue-on-disk work of the storage
// issue: figures (4) and (6) spend about a quarter more CPU per delivery than the in-memory scheduler.
// Run: node bench/micro/engine.mjs [EVENTS] [SUBSCRIPTIONS] (on the pinned Node: PATH=node_modules/.bin:$PATH)
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const out = new URL('./.lmdb-engine.mjs', import.meta.url).pathname;
await build({ entryPoints: [new URL('../../src/log/lmdb/index.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: out, logLevel: 'warning' });
const { LmdbEngine } = await import(out);
rmSync(out);

const N = Number(process.argv[2] ?? 20_000);
const SUBS = Number(process.argv[3] ?? 1);
const clock = { now: () => Date.now(), setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };
const dir = mkdtempSync(join(tmpdir(), 'amebo-engine-bench-'));
const engine = new LmdbEngine({ dataDir: dir, durability: 'commit', mapSizeBytes: 2 ** 30, clock });
await engine.start();
const subs = Array.from({ length: SUBS }, (_, i) => `s${i}`);
const payload = JSON.stringify({ user_id: 1, email: 'ada@example.com', name: 'Ada', plan: 'pro', tags: ['a', 'b'], address: { city: 'London', country: 'GB' } });

let t = performance.now();
for (let i = 0; i < N; i += 100) await engine.events.append(Array.from({ length: 100 }, () => ({ action: 'a', payload_json: payload, subscriptions: subs })));
const appendUs = ((performance.now() - t) * 1000) / (N * SUBS);

let done = 0;
let leaseMs = 0;
let leaseCalls = 0;
const LEASE = { lease_ms: 30_000, wait_ms: 0 };
async function worker(sub) {
  const inflight = new Set();
  for (;;) {
    const free = 16 - inflight.size;
    const t0 = performance.now();
    const leases = free > 0 ? await engine.delivery.lease(sub, Math.min(free, 4), LEASE) : [];
    leaseMs += performance.now() - t0;
    leaseCalls++;
    if (leases.length === 0 && inflight.size === 0) return;
    for (const l of leases) {
      const p = (async () => {
        await new Promise((r) => setImmediate(r));
        await engine.gists.record(l, { at: Date.now(), status: 200, duration_ms: 1, error: null, response: 'ok', replay: false }, { state: 'delivered' });
        done++;
      })().finally(() => inflight.delete(p));
      inflight.add(p);
    }
    if (leases.length === 0 || inflight.size >= 16) await Promise.race(inflight);
  }
}
t = performance.now();
await Promise.all(subs.map(worker));
const cycleUs = ((performance.now() - t) * 1000) / done;
await engine.close();
rmSync(dir, { recursive: true, force: true });
console.log(`${N} events x ${SUBS} subscriptions: append ${appendUs.toFixed(1)} µs per gist; lease + record ${cycleUs.toFixed(1)} µs per gist (lease calls, wall time: ${((leaseMs * 1000) / done).toFixed(1)} per gist over ${leaseCalls} calls)`);

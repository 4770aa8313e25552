// Micro-benchmark behind a profile finding: what an append costs in lmdb-js depends on how many
// appends share a commit. One async `env.transaction()` per event (what amebo does) against appends
// of one event-loop turn coalesced into one `env.transactionSync()`; two puts per event as in
// amebo's log (the event, and its by-action index entry). Run: node bench/micro/lmdb-commit.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';

const dir = mkdtempSync(join(tmpdir(), 'amebo-micro-'));
const env = open({ path: join(dir, 'x.mdb'), maxDbs: 4, overlappingSync: true });
const events = env.openDB({ name: 'events', sharedStructuresKey: Symbol.for('s') });
const byAction = env.openDB({ name: 'by_action' });
const payload = JSON.stringify({ a: 'x'.repeat(300) });
let next = 1;
const put = () => {
  const id = next++;
  events.putSync(id, { id, action: 'bench.publish', ts: Date.now(), payload });
  byAction.putSync(['bench.publish', id], null);
};

let pending = [];
function coalesced() {
  return new Promise((resolve) => {
    if (pending.length === 0) {
      setImmediate(() => {
        const batch = pending;
        pending = [];
        env.transactionSync(() => batch.forEach(put));
        for (const done of batch) done();
      });
    }
    pending.push(resolve);
  });
}

async function measure(name, inflight, append) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + 2000;
  const lat = [];
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await append();
        lat.push(performance.now() - t);
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(2);
  console.log(
    `${name.padEnd(44)} ${String(Math.round(lat.length / s)).padStart(7)} ev/s  ${((c.user + c.system) / lat.length).toFixed(1).padStart(5)} us CPU/event  p50 ${q(0.5)} ms  p99 ${q(0.99)} ms`,
  );
}

for (const n of [4, 16, 64]) {
  await measure(`transaction() per event, ${n} in flight`, n, () => env.transaction(put));
  await measure(`coalesced transactionSync(), ${n} in flight`, n, coalesced);
}
await env.close();
rmSync(dir, { recursive: true, force: true });

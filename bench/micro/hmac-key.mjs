// Micro-benchmark behind a profile finding: in Node 24, createHmac() with a Buffer key takes a slow
// path (node:internal/crypto/keys getKeyObjectSlots/getSlots) that a KeyObject avoids.
// Run: node bench/micro/hmac-key.mjs
import { createHmac, createSecretKey } from 'node:crypto';

const buf = Buffer.from('bench-receiver-secret-key');
const keyObject = createSecretKey(buf);
const body = 'x'.repeat(450); // about one webhook body
for (const [name, key] of [['Buffer key', buf], ['KeyObject', keyObject], ['Buffer key', buf], ['KeyObject', keyObject]]) {
  const n = 100_000;
  const t = performance.now();
  for (let i = 0; i < n; i++) createHmac('sha256', key).update(body).digest('hex');
  console.log(`${name.padEnd(10)} ${(((performance.now() - t) * 1000) / n).toFixed(2)} us per HMAC`);
}

// What one payload filter costs: the bench filter of figure (12) ($in, a nested equality, a $regex on
// RE2) and simpler ones, evaluated by amebo's compiled filter (sift with amebo's operators), on the
// bench payload. Also the per-key ordering key (a JSON pointer). Run: node bench/micro/filters.mjs
// (on the pinned Node: PATH=node_modules/.bin:$PATH)
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { PAYLOAD, ROUTE_FILTER } from '../lib/amebo.mjs';

const out = new URL('./.routing.mjs', import.meta.url).pathname;
const entry = new URL('./.routing-entry.ts', import.meta.url).pathname;
const { writeFileSync } = await import('node:fs');
writeFileSync(entry, "export { compileFilter } from '../../src/routing/filter.js';\nexport { orderingKey } from '../../src/routing/keys.js';\n");
await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: out, logLevel: 'warning' });
const { compileFilter, orderingKey } = await import(out);
rmSync(out);
rmSync(entry);

const time = (fn, N = 500_000) => {
  for (let i = 0; i < N / 10; i++) fn();
  const t = performance.now();
  for (let i = 0; i < N; i++) fn();
  return ((performance.now() - t) / N) * 1000;
};
const CASES = [
  ['one equality', { plan: 'pro' }],
  ['nested equality', { 'address.country': 'GB' }],
  ['$in', { plan: { $in: ['pro', 'enterprise'] } }],
  ['$gte', { user_id: { $gte: 100 } }],
  ['$regex (RE2)', { handle: { $regex: '^[a-z]+\\.[a-z]+$' } }],
  ['figure (12): all three', ROUTE_FILTER],
  ['no match, first condition', { plan: 'free', 'address.country': 'GB' }],
];
console.log('filter'.padEnd(30), 'matches', 'µs per event');
for (const [name, filter] of CASES) {
  const test = compileFilter(filter);
  console.log(name.padEnd(30), String(test(PAYLOAD)).padEnd(7), time(() => test(PAYLOAD)).toFixed(3).padStart(12));
}
console.log('ordering key /user_id'.padEnd(38), time(() => orderingKey({ key: '/user_id' }, PAYLOAD)).toFixed(3).padStart(12));
console.log('ordering key /address/country'.padEnd(38), time(() => orderingKey({ key: '/address/country' }, PAYLOAD)).toFixed(3).padStart(12));

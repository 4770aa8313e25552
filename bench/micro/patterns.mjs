// What one pattern match costs on each engine: RE2 through re2js, with amebo's rewrite of the
// ECMAScript syntax (what amebo runs: linear time), and V8's backtracking RegExp (ajv's default).
// Run: node bench/micro/patterns.mjs (on the pinned Node: PATH=node_modules/.bin:$PATH)
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

// The engine is TypeScript source: bundle it next to this file, so its imports resolve in node_modules.
const out = new URL('./.linear-regexp.mjs', import.meta.url).pathname;
await build({ entryPoints: [new URL('../../src/schema/linear-regexp.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: out, logLevel: 'warning' });
const { linearPattern } = await import(out);
rmSync(out);

const CASES = [
  ['^[a-z]+(\\.[a-z]+)*$', 'ada.lovelace'],
  ['^[A-Z]{2}$', 'GB'],
  ['^https?://', 'https://example.com/landing?utm_source=newsletter&utm_campaign=winter'],
  ['^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', '123e4567-e89b-12d3-a456-426614174000'],
];
const time = (fn, N = 200_000) => {
  for (let i = 0; i < N / 20; i++) fn();
  const t = performance.now();
  for (let i = 0; i < N; i++) fn();
  return ((performance.now() - t) / N) * 1000;
};
console.log('pattern'.padEnd(44), 're2js µs', 'V8 µs');
for (const [pattern, input] of CASES) {
  const re2 = linearPattern(pattern);
  const v8 = new RegExp(pattern, 'u');
  console.log(pattern.slice(0, 42).padEnd(44), time(() => re2.test(input)).toFixed(3).padStart(8), time(() => v8.test(input)).toFixed(3).padStart(6));
}
const evil = `${'a.'.repeat(5_000)}!`;
const hostile = linearPattern('^(a|a\\.)+$');
console.log(`hostile input (${evil.length} chars) on ^(a|a\\.)+$: re2js ${time(() => hostile.test(evil), 200).toFixed(0)} µs (V8: exponential, not run)`);

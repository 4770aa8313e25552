// What validating the bench payload costs, and which part of it is formats and patterns: the
// payload schema compiled by amebo's SchemaCompiler (RE2 patterns, formats asserted), and the same
// schema without its patterns, without its formats, and without either.
// Run: node bench/micro/validate.mjs (on the pinned Node: PATH=node_modules/.bin:$PATH)
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { PAYLOAD, SCHEMA } from '../lib/amebo.mjs';

const out = new URL('./.compile.mjs', import.meta.url).pathname;
await build({ entryPoints: [new URL('../../src/schema/compile.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: out, logLevel: 'warning' });
const { SchemaCompiler } = await import(out);
rmSync(out);

const strip = (key) => JSON.parse(JSON.stringify(SCHEMA, (k, v) => (k === key ? undefined : v)));
const variants = [
  ['bench schema (3 patterns, 3 formats)', SCHEMA],
  ['without patterns', strip('pattern')],
  ['without formats', strip('format')],
  ['without patterns or formats', JSON.parse(JSON.stringify(strip('pattern'), (k, v) => (k === 'format' ? undefined : v)))],
];
const time = (fn, N = 300_000) => {
  for (let i = 0; i < N / 10; i++) fn();
  const t = performance.now();
  for (let i = 0; i < N; i++) fn();
  return ((performance.now() - t) / N) * 1000;
};
const compiler = new SchemaCompiler();
for (const [name, schema] of variants) {
  const v = compiler.compile(schema);
  if (v.validate(PAYLOAD) !== null) throw new Error(`${name}: the bench payload does not validate`);
  // Median of 5 timings: the machine is shared.
  const runs = Array.from({ length: 5 }, () => time(() => v.validate(PAYLOAD))).sort((a, b) => a - b);
  console.log(`${name.padEnd(40)} ${runs[2].toFixed(3)} µs`);
}

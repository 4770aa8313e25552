// Summarises V8 .cpuprofile files (from `npm run bench -- --profile` or node --cpu-prof):
// self time by function and by where the code lives (amebo's bundle, each package, node internals,
// GC, idle). Usage: node bench/profile-summary.mjs FILE_OR_DIR... [--top N]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const top = Number(values.top);

const files = positionals.flatMap(function expand(p) {
  return statSync(p).isDirectory() ? readdirSync(p).flatMap((f) => expand(join(p, f))) : p.endsWith('.cpuprofile') ? [p] : [];
});
if (files.length === 0) {
  process.stderr.write('usage: node bench/profile-summary.mjs FILE_OR_DIR... [--top N]\n');
  process.exit(2);
}

function where(url, name) {
  if (!url) return name === '(garbage collector)' ? 'GC' : name === '(idle)' ? 'idle' : name === '(program)' ? 'program (native, unattributed)' : `native: ${name || '(anonymous)'}`;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return `pkg: ${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/').slice(0, 2).join('/')}`;
  if (/\/dist\/.*\.mjs$/.test(url)) return 'amebo';
  return url;
}

for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
  let total = 0;
  let idle = 0;
  const fn = new Map();
  const area = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const { functionName, url, lineNumber } = n.callFrame;
    total += us;
    if (functionName === '(idle)') idle += us;
    const key = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules\/|dist\/)/, '$1')}:${lineNumber + 1}` : ''}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + us);
    const a = where(url, functionName);
    area.set(a, (area.get(a) ?? 0) + us);
  }
  const busy = total - idle;
  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules\/|dist\/)/, '$1')}:${n.callFrame.lineNumber + 1}`;
  const incl = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const seen = new Set();
    for (let id = prof.samples[i]; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id);
      if (!n.callFrame.url) continue;
      const k = keyOf(n);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + (dt[i] ?? 0));
    }
  }
  const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  process.stdout.write(`\n${file}\n  ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages are of busy time)\n\n  by area:\n`);
  for (const [k, us] of [...area].filter(([k]) => k !== 'idle').sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${k}\n`);
  process.stdout.write('\n  by function (self time):\n');
  for (const [k, us] of [...fn].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${k}\n`);
  process.stdout.write('\n  amebo functions, inclusive time (self + callees):\n');
  for (const [k, us] of [...incl].filter(([k]) => /^\S+ dist\/\S*\.mjs:/.test(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${k}\n`);
}

// CPU microseconds per event, by stage of a publish (HTTP, parse, validate, serialise, append,
// respond, GC, other), measured under load: the daemon runs under `node --cpu-prof`, a native
// generator loads one ingestion path, and only the samples taken while the measured load ran are
// counted, divided by the events the log gained meanwhile. The table in bench/README.md comes from
// here. Usage (on the pinned Node, after `npm run build`):
//   node bench/profile-stages.mjs [--path single,batch,stream,bare] [--duration 5] [--inflight 50] [--keep FILE] [--why STAGE]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { benchConfig, snapshotBuild, startAmebo } from './lib/amebo.mjs';
import { startWorker, stopChild } from './lib/proc.mjs';
import { runLoad } from './lib/loadgen.mjs';
import { nativePublisher } from './lib/native.mjs';
import { batchBody, eventBody } from './scenarios/common.mjs';

const { values } = parseArgs({
  options: { path: { type: 'string', default: 'single,batch,stream' }, why: { type: 'string' }, inflight: { type: 'string', default: '50' }, duration: { type: 'string', default: '5' }, keep: { type: 'string' } },
});
const duration = Number(values.duration);
const paths = values.path.split(',');
const work = mkdtempSync(join(tmpdir(), 'amebo-stages-'));
snapshotBuild(work);

/** Which stage a sample belongs to: the first frame from the leaf up that a rule claims. */
const LEAF_RESPOND = new Set(['writeUtf8String', 'writev', 'writeBuffer', 'writeLatin1String', 'writeGeneric', 'writevGeneric']);
const RULES = [
  // Answering: the envelope, ServerResponse, and the stream's answer lines.
  ['respond', (f, u) => ['send', 'eventJson', 'outcomeJson', 'outcomeLine', 'errorLine', '#write', 'resOnFinish', 'writeHead', '_writeRaw', '_send', 'onFinish'].includes(f) || u.includes('_http_outgoing')],
  // Reading and parsing the JSON of requests or lines.
  ['parse', (f, u) => ['readJson', 'maxDepth', 'parse', 'decode', 'decodeUTF8', '#parse', '#lines', 'scanEvent', 'closingQuote', 'memberCount', 'keptPayloadText'].includes(f) || u.includes('internal/encoding')],
  // Request shape (OpenAPI) and payload schema (ajv, formats, RE2 patterns).
  ['validate', (f, u) => f === 'checkBody' || f === 'validate' || /^validate\d+$/.test(f) || f.startsWith('RegExp:') || u.includes('/re2js/') || u.includes('/ajv-formats/') || u.includes('/ajv/') || u.includes('/fast-uri/')],
  // Re-encoding: the payload's JSON text, and the row's msgpack for LMDB.
  ['serialise', (f, u) => ['stringify', 'prepare', 'payloadText', 'pack', 'encode'].includes(f) || u.includes('/msgpackr/')],
  // The log: group commit, puts, the transaction.
  ['append', (f, u) => ['append', '#appendOne', '#flush', 'commit', 'addBacklog', 'nextEvent', 'transactionSync'].includes(f) || u.includes('/lmdb/') || u.includes('/ordered-binary/')],
  // node:http and sockets: parser, request objects, routing, auth, timers of sockets.
  ['HTTP', (f, u) => ['handle', 'match', 'authenticate', 'parserOnHeadersComplete', 'parserOnBody', 'parserOnMessageComplete', 'onStreamRead'].includes(f) || /node:(_http_|net|internal\/streams|internal\/stream_base|internal\/url|events|internal\/timers)/.test(u) || f === 'URL'],
];
const STAGES = ['HTTP', 'parse', 'validate', 'serialise', 'append', 'respond', 'GC', 'other'];

function classify(prof, fromUs, toUs) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cache = new Map();
  const stageOf = (id) => {
    let s = cache.get(id);
    if (s) return s;
    const leaf = byId.get(id).callFrame;
    if (leaf.functionName === '(garbage collector)') s = 'GC';
    else if (leaf.functionName === '(idle)') s = 'idle';
    else if (LEAF_RESPOND.has(leaf.functionName)) s = 'respond';
    else {
      for (let at = id; at !== undefined && !s; at = parent.get(at)) {
        const { functionName, url } = byId.get(at).callFrame;
        for (const [stage, test] of RULES) {
          if (test(functionName, url ?? '')) {
            s = stage;
            break;
          }
        }
      }
      s ??= 'other';
    }
    cache.set(id, s);
    return s;
  };
  const us = Object.fromEntries([...STAGES, 'idle'].map((s) => [s, 0]));
  // --why STAGE: the functions (self time) that a stage is made of, to check the rules.
  const why = new Map();
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromUs || t > toUs) continue;
    const stage = stageOf(prof.samples[i]);
    us[stage] += dt;
    if (stage === values.why) {
      const { functionName, url, lineNumber } = byId.get(prof.samples[i]).callFrame;
      const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules\/|dist\/)/, '$1')}:${lineNumber + 1}`;
      why.set(key, (why.get(key) ?? 0) + dt);
    }
  }
  if (values.why) for (const [k, v] of [...why].sort((a, b) => b[1] - a[1]).slice(0, 20)) process.stderr.write(`  ${values.why}: ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}\n`);
  return us;
}

const monoUs = () => Number(process.hrtime.bigint() / 1000n);
const events = async (url) => {
  const res = await request(`${url}/health`);
  const body = await res.body.json();
  return (body.data ?? body).events;
};

/**
 * The bare node:http ceiling of figure (1) under the same profiler: what one request costs with no
 * schema, no log and no auth. Its stages are mostly HTTP and respond; the total is what counts.
 */
async function measureBare() {
  const profDir = join(work, 'prof-bare');
  const w = await startWorker(new URL('./workers/bare-http.mjs', import.meta.url).pathname, [], { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` } });
  const url = `http://127.0.0.1:${w.ready.port}/v1/events`;
  const run = (seconds) => runLoad({ tool: 'wrk', url, body: eventBody('bench.publish'), connections: 50, duration: seconds });
  await run(2);
  const from = monoUs();
  const load = await run(duration);
  const to = monoUs();
  await stopChild(w.child);
  const file = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f))[0];
  const us = classify(JSON.parse(readFileSync(file, 'utf8')), from, to);
  return { path: 'bare', events: load.ok, seconds: (to - from) / 1e6, us, file };
}

async function measure(path) {
  if (path === 'bare') return measureBare();
  const profDir = join(work, `prof-${path}`);
  const amebo = await startAmebo({
    dir: work,
    name: `stages-${path}`,
    config: benchConfig({ receiverPort: 9, e2ePort: 9 }),
    nodeOptions: `--cpu-prof --cpu-prof-dir=${profDir}`,
  });
  let load;
  try {
    const run = (seconds) => {
      if (path === 'single') return runLoad({ tool: 'wrk', url: `${amebo.url}/v1/events`, body: eventBody('bench.publish'), connections: 50, duration: seconds });
      if (path === 'batch') return runLoad({ tool: 'wrk', url: `${amebo.url}/v1/events/batch`, body: batchBody('bench.batch', 100), connections: 8, duration: seconds });
      return nativePublisher('amebo-stream', { port: Number(new URL(amebo.url).port), inflight: Number(values.inflight), warmup: 0, duration: seconds, body: eventBody('bench.publish') });
    };
    await run(2);
    const before = await events(amebo.url);
    const from = monoUs();
    load = await run(duration);
    const to = monoUs();
    load.events = (await events(amebo.url)) - before;
    load.window = [from, to];
  } finally {
    await amebo.stop();
  }
  const file = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f)).sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0];
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const us = classify(prof, load.window[0], load.window[1]);
  return { path, events: load.events, seconds: (load.window[1] - load.window[0]) / 1e6, us, file };
}

const results = [];
for (const path of paths) {
  process.stderr.write(`profiling ${path} for ${duration} s...\n`);
  results.push(await measure(path));
}
const pad = (s, n) => String(s).padStart(n);
process.stdout.write(`\nCPU µs per event on the daemon's main thread, by stage (${duration} s of load each)\n\n`);
process.stdout.write(`| stage | ${results.map((r) => r.path).join(' | ')} |\n|---|${results.map(() => '---:').join('|')}|\n`);
for (const s of STAGES) process.stdout.write(`| ${s} | ${results.map((r) => pad((r.us[s] / r.events).toFixed(2), 6)).join(' | ')} |\n`);
const busy = (r) => STAGES.reduce((a, s) => a + r.us[s], 0);
process.stdout.write(`| **total busy** | ${results.map((r) => pad((busy(r) / r.events).toFixed(2), 6)).join(' | ')} |\n`);
process.stdout.write(`| events/s | ${results.map((r) => pad(Math.round(r.events / r.seconds).toLocaleString('en-US'), 6)).join(' | ')} |\n`);
process.stdout.write(`| main thread busy | ${results.map((r) => `${((100 * busy(r)) / (busy(r) + r.us.idle)).toFixed(0)}%`).join(' | ')} |\n`);
if (values.keep) writeFileSync(values.keep, `${JSON.stringify(results, null, 2)}\n`);
rmSync(work, { recursive: true, force: true });

// Driving amebo exactly as a user would: a YAML config in a temp dir, `bin/amebo serve` as a child
// process, GET /health before any load, SIGTERM to stop.
import { spawn } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { request } from 'undici';
import { stopChild, waitHttp } from './proc.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
// BENCH_BUILD=/path/to/another/checkout (built; BENCH_APP is the same setting) benchmarks that build
// instead, with this checkout's harness: the way to compare before and after on the same machine and day.
const OTHER = process.env.BENCH_BUILD ?? process.env.BENCH_APP;
const SOURCE = OTHER ? new URL(`file://${OTHER.replace(/\/?$/, '/')}`).pathname : ROOT;
let appRoot = SOURCE;

/**
 * Copies the built launcher and bundle (bin/amebo, dist/amebo.mjs, dist/chunks) into `dir` and runs
 * every daemon from there, with node_modules linked back: a rebuild of dist/ in the checkout while
 * the bench runs (its chunk names change) cannot break or change the daemons under test.
 * `BENCH_BUILD=DIR` runs another build instead (a checkout of an earlier commit, built), so the
 * before and after of a change are measured by the same harness.
 */
export function snapshotBuild(dir, from = SOURCE) {
  const app = join(dir, 'app');
  mkdirSync(join(app, 'dist'), { recursive: true });
  cpSync(join(from, 'bin'), join(app, 'bin'), { recursive: true });
  for (const entry of readdirSync(join(from, 'dist'))) {
    if (entry === 'amebo.mjs' || entry === 'amebo.mjs.map' || entry === 'chunks') {
      cpSync(join(from, 'dist', entry), join(app, 'dist', entry), { recursive: true });
    }
  }
  cpSync(join(from, 'package.json'), join(app, 'package.json'));
  // Another build runs on its own dependencies when it has them (they may differ from this checkout's).
  symlinkSync(existsSync(join(from, 'node_modules')) ? join(from, 'node_modules') : join(ROOT, 'node_modules'), join(app, 'node_modules'));
  appRoot = app;
  return app;
}

// Daemons still running when the bench exits (an error, Ctrl-C) are killed with it.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The publish payload (about 300 bytes) and the schema it is validated against. */
export const PAYLOAD = {
  user_id: 4815162342,
  email: 'ada.lovelace@example.com',
  name: 'Ada Lovelace',
  handle: 'ada.lovelace',
  plan: 'pro',
  tags: ['beta', 'newsletter'],
  address: { street: '12 St James Square', city: 'London', country: 'GB' },
  created_at: '2026-11-24T01:42:00.000Z',
  referrer: 'https://example.com/landing?utm_source=newsletter&utm_campaign=winter',
};

export const SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: ['user_id', 'email', 'name', 'plan', 'created_at'],
  additionalProperties: false,
  properties: {
    user_id: { type: 'integer', minimum: 1 },
    email: { type: 'string', format: 'email' },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    // A nested quantifier: exponential on a backtracking engine, linear on RE2. Builds before the schema
    // issue refused it, so BENCH_LEGACY_SCHEMA=1 leaves it out to compare them (with BENCH_APP).
    handle: process.env.BENCH_LEGACY_SCHEMA === '1' ? { type: 'string' } : { type: 'string', pattern: '^[a-z]+(\\.[a-z]+)*$' },
    plan: { enum: ['free', 'pro', 'enterprise'] },
    tags: { type: 'array', items: { type: 'string', maxLength: 50 }, maxItems: 20 },
    address: {
      type: 'object',
      required: ['city', 'country'],
      properties: {
        street: { type: 'string' },
        city: { type: 'string' },
        country: { type: 'string', pattern: '^[A-Z]{2}$' },
      },
    },
    created_at: { type: 'string', format: 'date-time' },
    // (Two patterns in one schema: builds before the schema issue checked this one with the other's regex.)
    referrer: process.env.BENCH_LEGACY_SCHEMA === '1' ? { type: 'string', format: 'uri' } : { type: 'string', format: 'uri', pattern: '^https?://' },
  },
};

/** SCHEMA with every `pattern` removed: what the patterns cost is the difference (figure 9). */
export const SCHEMA_NO_PATTERNS = JSON.parse(JSON.stringify(SCHEMA, (key, value) => (key === 'pattern' ? undefined : value)));

export const FANOUTS = [1, 4, 16];

/**
 * The bench's amebo.yaml. Actions: `bench.publish`, `bench.batch`, `bench.fill`, `bench.nopatterns`
 * (SCHEMA without its patterns) (no subscriptions),
 * `bench.fanout.K` (K subscriptions to the receiver), `bench.sustained` (2 subscriptions to the
 * receiver), `bench.e2e` (one subscription to the
 * end-to-end receiver), `bench.replay` (one subscription to the receiver).
 */
/** Filters that every bench event matches: what figure (12) measures is their evaluation alone. */
export const ROUTE_FILTER = { plan: { $in: ['pro', 'enterprise'] }, 'address.country': 'GB', handle: { $regex: '^[a-z]+\\.[a-z]+$' } };
export const ROUTE_SUBS = 4;

export function benchConfig({ receiverPort, e2ePort, durability = 'commit', routing = false }) {
  const actions = {};
  const subscriptions = {};
  const action = (name) => (actions[name] = { application: 'bench-publisher', schemata: SCHEMA });
  ['bench.publish', 'bench.batch', 'bench.fill', 'bench.e2e', 'bench.replay'].forEach(action);
  actions['bench.nopatterns'] = { application: 'bench-publisher', schemata: SCHEMA_NO_PATTERNS };
  const sub = (name, act, handler) =>
    (subscriptions[name] = { application: 'bench-receiver', action: act, handler, max_retries: 2, timeout: '10s' });
  for (const k of FANOUTS) {
    action(`bench.fanout.${k}`);
    for (let i = 0; i < k; i++) sub(`fanout-${k}-${i}`, `bench.fanout.${k}`, `http://127.0.0.1:${receiverPort}/fanout/${k}/${i}`);
  }
  action('bench.sustained');
  for (let i = 0; i < 2; i++) sub(`sustained-${i}`, 'bench.sustained', `http://127.0.0.1:${receiverPort}/sustained/${i}`);
  sub('e2e', 'bench.e2e', `http://127.0.0.1:${e2ePort}/e2e`);
  // Figure (12), only in its own daemons (builds before routing keys would refuse the config).
  if (routing) {
    for (const kind of ['plain', 'filtered']) {
      action(`bench.route.${kind}`);
      for (let i = 0; i < ROUTE_SUBS; i++) {
        sub(`route-${kind}-${i}`, `bench.route.${kind}`, `http://127.0.0.1:${receiverPort}/route/${kind}/${i}`);
        if (kind === 'filtered') subscriptions[`route-${kind}-${i}`].filter = ROUTE_FILTER;
      }
    }
    for (const [kind, ordering] of [['none', undefined], ['key', { key: '/user_id' }], ['strict', 'strict']]) {
      action(`bench.order.${kind}`);
      sub(`order-${kind}`, `bench.order.${kind}`, `http://127.0.0.1:${receiverPort}/order/${kind}`);
      if (ordering) subscriptions[`order-${kind}`].ordering = ordering;
    }
  }
  sub('replay', 'bench.replay', `http://127.0.0.1:${receiverPort}/replay`);
  return {
    server: { durability },
    applications: {
      'bench-publisher': { address: 'http://127.0.0.1:9', secret: 'bench-publisher-secret' },
      'bench-receiver': { address: `http://127.0.0.1:${receiverPort}`, secret: 'whsec_YmVuY2gtcmVjZWl2ZXItc2VjcmV0LWtleQ==' },
    },
    actions,
    subscriptions,
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `bin/amebo serve` on a fresh data dir under `dir` and waits for /health.
 * Returns {url, pid, child, dataDir, logFile, stop()}.
 */
export async function startAmebo({ dir, config, name = 'amebo', nodeOptions }) {
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, `${name}.yaml`);
  const dataDir = join(dir, `${name}-data`);
  const logFile = join(dir, `${name}.log`);
  writeFileSync(configFile, stringify(config));
  const port = await freePort();
  const out = createWriteStream(logFile);
  const env = { ...process.env };
  delete env.AMEBO_ADMIN_TOKEN;
  // bin/amebo runs `node --enable-source-maps dist/amebo.mjs`; extra flags (--cpu-prof) go through NODE_OPTIONS.
  if (nodeOptions) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} ${nodeOptions}`.trim();
  const child = spawn(join(appRoot, 'bin/amebo'), ['serve', '--config', configFile, '--data', dataDir, '--listen', `127.0.0.1:${port}`], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.stdout.pipe(out);
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
    out.write(c);
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHttp(`${url}/health`, 30000, () => child.exitCode === null);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`amebo did not start: ${err.message}\n${stderr.slice(-2000)}\n(see ${logFile})`);
  }
  return {
    url,
    pid: child.pid,
    child,
    dataDir,
    logFile,
    stop: async () => {
      await stopChild(child, 20000);
      out.end();
    },
  };
}

/** POST JSON to amebo; resolves {status, body}. */
export async function postJson(url, body, timeoutMs = 300_000) {
  const res = await request(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await res.body.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, body: json };
}

/**
 * Disk space used under a directory, as `du` counts it (allocated blocks): LMDB's data file can be
 * sparse, its apparent size being the map size rather than what is written.
 */
export function dirBytes(dir) {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) n += dirBytes(p);
    else if (entry.isFile()) n += statSync(p).blocks * 512;
  }
  return n;
}

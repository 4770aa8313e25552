// `npm run bench`: measures amebo against the machine's own ceilings and a peer, in one run, and
// prints a table of medians; writes it as JSON to bench/results/. See bench/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { makeContext, SCENARIOS } from './lib/context.mjs';
import { snapshotBuild } from './lib/amebo.mjs';
import { backgroundCores, startWorker } from './lib/proc.mjs';
import { buildGoals, buildRows, formatTable } from './lib/report.mjs';
import { batch } from './scenarios/batch.mjs';
import { cluster } from './scenarios/cluster.mjs';
import { e2e } from './scenarios/e2e.mjs';
import { fanout } from './scenarios/fanout.mjs';
import { jetstream } from './scenarios/jetstream.mjs';
import { backlog } from './scenarios/backlog.mjs';
import { sustained } from './scenarios/sustained.mjs';
import { memoryAfterLoad } from './scenarios/memory.mjs';
import { patterns } from './scenarios/patterns.mjs';
import { publish } from './scenarios/publish.mjs';
import { rate } from './scenarios/rate.mjs';
import { replay } from './scenarios/replay.mjs';
import { routing } from './scenarios/routing.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const RESULTS = join(ROOT, 'bench/results');
const RUNNERS = { publish, rate, batch, fanout, e2e, replay, jetstream, patterns, backlog, sustained, routing, memory: memoryAfterLoad, cluster };
const worker = (name) => join(ROOT, 'bench/workers', name);

const ctx = makeContext(process.argv.slice(2));
const started = performance.now();
if (!existsSync(join(ROOT, 'dist/amebo.mjs'))) throw new Error('dist/amebo.mjs is missing: run `npm run build` (npm run bench does)');
snapshotBuild(ctx.tmp);
if (ctx.profile) {
  ctx.profileDir = join(RESULTS, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(ctx.profileDir, { recursive: true });
}

const workers = [];
async function service(script, env) {
  const w = await startWorker(worker(script), [], { env });
  workers.push(w);
  return { port: w.ready.port, url: `http://127.0.0.1:${w.ready.port}`, pid: w.child.pid, call: w.call };
}

ctx.log(`load generator: ${ctx.tool}; ${ctx.runs} run(s) of ${ctx.duration} s per figure${ctx.quick ? ' (BENCH_QUICK)' : ''}; scenarios: ${ctx.only.join(', ')}`);
ctx.receiver = await service('receiver.mjs');
ctx.paced = await service('paced.mjs');
ctx.bare = await service('bare-http.mjs');

// The bench needs the machine to itself: say so when something else keeps it busy.
const busy = (cores) => (cores > 0.25 ? ` -- the machine is busy with other work: expect low, noisy figures` : '');
let backgroundBefore = await backgroundCores(1500);
for (const until = performance.now() + ctx.waitQuiet * 1000; backgroundBefore > 0.25 && performance.now() < until; ) {
  ctx.log(`waiting for a quiet machine: other load ${backgroundBefore} cores`);
  backgroundBefore = await backgroundCores(5000);
}
ctx.log(`other load on the machine before the bench: ${backgroundBefore} cores${busy(backgroundBefore)}`);

const figures = {};
const errors = {};
try {
  for (const name of SCENARIOS) {
    if (!ctx.only.includes(name)) continue;
    const t0 = performance.now();
    try {
      figures[name] = await RUNNERS[name](ctx, figures);
    } catch (err) {
      errors[name] = String(err?.message ?? err);
      ctx.log(`${name} FAILED: ${err?.stack ?? err}`);
    }
    ctx.log(`${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
} finally {
  for (const w of workers) w.child.kill('SIGTERM');
  rmSync(ctx.tmp, { recursive: true, force: true });
}
const backgroundAfter = await backgroundCores(1500);
ctx.log(`other load on the machine after the bench: ${backgroundAfter} cores${busy(backgroundAfter)}`);

const git = (args) => {
  try {
    return execFileSync('git', args, { cwd: process.env.BENCH_BUILD ?? process.env.BENCH_APP ?? ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
};
const meta = {
  date: new Date().toISOString(),
  cores: availableParallelism(),
  cpu: cpus()[0]?.model,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  commit: git(['rev-parse', '--short=12', 'HEAD']),
  dirty: git(['status', '--porcelain', '--', 'src']) ? true : false,
  loadgen: ctx.tool,
  quick: ctx.quick,
  runs: ctx.runs,
  duration: ctx.duration,
  warmup: ctx.warmup,
  fill: ctx.fill,
  seconds: Math.round((performance.now() - started) / 1000),
  backgroundCores: { before: backgroundBefore, after: backgroundAfter },
  // Runs repeated because other processes took more than 0.35 core during them, and runs that
  // stayed disturbed after three tries (or once the retry budget was spent).
  repeatedRuns: ctx.retried,
  disturbedRuns: ctx.disturbed,
  profiles: ctx.profileDir ?? null,
};
const rows = buildRows(figures);
const table = formatTable(rows);
const goals = buildGoals(figures);
const loadgenCores = figures.publish?.amebo?.loadgenCores;
process.stdout.write(
  `\namebo bench, ${meta.date}: ${meta.cores} cores (${meta.cpu}), Node ${meta.node}, amebo ${meta.commit}${meta.dirty ? ' (uncommitted src changes)' : ''}\n` +
    `medians of ${meta.runs} run(s) of ${meta.duration} s; load generator ${ctx.tool}` +
    (Number.isFinite(loadgenCores) ? ` (took ${loadgenCores.toFixed(2)} of ${meta.cores} cores during (1))` : '') +
    `; whole bench ${meta.seconds} s\n` +
    `other load on the machine (busy cores while the bench was idle): ${backgroundBefore} before, ${backgroundAfter} after; ` +
    `runs repeated because of other load: ${ctx.retried}, still disturbed: ${ctx.disturbed}\n\n${table}\n` +
    `\ngoals of issue 15 (ratios measured side by side in this run):\n\n${formatTable(goals)}\n`,
);
for (const [name, message] of Object.entries(errors)) process.stdout.write(`\n${name}: FAILED: ${message}\n`);

if (ctx.write) {
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${meta.date.replace(/[:.]/g, '-')}${ctx.quick ? '-quick' : ''}.json`);
  const targets = rows.filter((r) => r.target).map(({ figure, amebo, ceiling, ratio, target, met }) => ({ figure, amebo, ceiling, ratio, target, met }));
  writeFileSync(file, `${JSON.stringify({ meta, goals, targets, figures, errors }, null, 2)}\n`);
  process.stdout.write(`\nwritten: ${file}\n`);
}
process.exitCode = Object.keys(errors).length ? 1 : 0;

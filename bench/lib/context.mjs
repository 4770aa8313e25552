// Settings shared by every scenario: command-line flags and environment, the temp dir, logging.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pickLoadgen } from './loadgen.mjs';

export const SCENARIOS = ['publish', 'rate', 'batch', 'fanout', 'e2e', 'replay', 'jetstream', 'patterns', 'backlog', 'sustained', 'routing', 'memory', 'cluster'];

const HELP = `npm run bench [-- options]

  --only LIST      comma-separated scenarios: ${SCENARIOS.join(', ')}
                   (replay also measures resources: RSS, log size, publish on a full log)
  --runs N         runs per figure; the table shows medians (default 3, quick 1)
  --duration S     seconds measured per load run (default 5, quick 2)
  --fill N         events in the log for replay/resources (default 1000000, quick 100000)
  --wait-quiet S   first wait up to S seconds for other load on the machine to drop
  --profile        run the daemon under node --cpu-prof; profiles go to bench/results/profiles/
  --no-write       print the table only, write no JSON
  -h, --help       this text

Environment: BENCH_QUICK=1 (smoke run, about a minute), BENCH_LOADGEN=wrk|autocannon
(default: wrk when on PATH), BENCH_NO_INSTALL=1 (never apt-get install nats-server/wrk).`;

export function makeContext(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      runs: { type: 'string' },
      duration: { type: 'string' },
      fill: { type: 'string' },
      'wait-quiet': { type: 'string' },
      profile: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const quick = process.env.BENCH_QUICK === '1';
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : SCENARIOS;
  for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`--only: unknown scenario "${s}" (known: ${SCENARIOS.join(', ')})`);
  const t0 = performance.now();
  const log = (msg) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
  return {
    quick,
    only,
    runs: Number(values.runs ?? (quick ? 1 : 3)),
    duration: Number(values.duration ?? (quick ? 2 : 5)),
    warmup: quick ? 1 : 2,
    fill: Number(values.fill ?? (quick ? 100_000 : 1_000_000)),
    profile: values.profile,
    waitQuiet: Number(values['wait-quiet'] ?? 0),
    write: !values['no-write'],
    connections: 50,
    batchSize: 100,
    batchConnections: 8,
    fanoutDeliveries: quick ? 4_000 : 12_000,
    replayEvents: quick ? 2_000 : 10_000,
    // Events with two subscriptions each whose receiver is down (figure 10): twice as many gists.
    backlogEvents: Number(process.env.BENCH_BACKLOG_EVENTS ?? (quick ? 100_000 : 1_000_000)),
    // The window over which a publish rate must keep the backlog flat (figure 11).
    sustainSeconds: quick ? 15 : 60,
    e2eRate: 1000,
    // Events published through the stream before memory is read (figure 11).
    memoryEvents: Number(process.env.BENCH_MEMORY_EVENTS ?? (quick ? 100_000 : 1_000_000)),
    tool: pickLoadgen(log),
    tmp: mkdtempSync(join(tmpdir(), 'amebo-bench-')),
    // Runs disturbed by other processes are repeated, within this much extra time in all.
    retryBudgetMs: (quick ? 30 : 90) * 1000,
    retried: 0,
    disturbed: 0,
    log,
  };
}

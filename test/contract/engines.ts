/**
 * The engines the contract suite runs against. Each entry opens a fresh log, and can open the same
 * log again (a restart). LMDB runs on a real LMDB file in a temp dir; JetStream on real nats-server
 * processes started here on loopback ports: one `nats-server -js`, and a cluster of three with every
 * stream replicated three times. A fresh JetStream log is a fresh prefix on the same servers.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../src/types.js';
import type { LogEngine } from '../../src/log/contract.js';
import type { NatsSettings } from '../../src/config/load.js';
import { LmdbEngine } from '../../src/log/lmdb/index.js';
import { NatsEngine } from '../../src/log/nats/index.js';
import { tmpDir } from '../helpers/tmp.js';
import { startNatsServers, type NatsServers } from '../helpers/nats-servers.js';

export interface EngineUnderTest {
  readonly name: string;
  /** Whether `stats().backlog` is exact at every moment (LMDB), or may count events a subscription's consumer has not yet skipped. */
  readonly exactBacklog: boolean;
  /** Whether it keeps per-key order (LogEngine.ordering); one that does not must refuse keys. */
  readonly ordering: boolean;
  /** A fresh, started engine and a function that opens the same log again. */
  open(clock: Clock): Promise<{ engine: LogEngine; reopen: () => Promise<LogEngine> }>;
  /** Stops what the entry started for all its tests (servers). */
  teardown?(): Promise<void>;
}

/** JetStream engine settings for tests: the defaults of amebo.yaml, on the given servers. */
export function natsSettings(urls: string, prefix: string, overrides: Partial<NatsSettings> = {}): NatsSettings {
  return {
    servers: urls.split(','),
    prefix,
    replicas: null,
    tls: null,
    connect_timeout_ms: 5_000,
    request_timeout_ms: 5_000,
    publish_timeout_ms: 10_000,
    ack_wait_ms: 30_000,
    max_pending: 1_000,
    ...overrides,
  };
}

function natsEntry(name: string, count: 1 | 3): EngineUnderTest {
  let servers: Promise<NatsServers> | null = null;
  return {
    name,
    exactBacklog: false,
    ordering: false,
    async open(clock) {
      servers ??= startNatsServers(count);
      const { urls } = await servers;
      const prefix = `t${randomBytes(5).toString('hex')}`;
      const make = async () => {
        const engine = new NatsEngine({ settings: natsSettings(urls, prefix), clock });
        await engine.start();
        return engine;
      };
      return { engine: await make(), reopen: make };
    },
    async teardown() {
      if (servers) await (await servers).close();
      servers = null;
    },
  };
}

export const ENGINES: readonly EngineUnderTest[] = [
  {
    name: 'lmdb',
    exactBacklog: true,
    ordering: true,
    async open(clock) {
      const dataDir = tmpDir();
      const make = async () => {
        const engine = new LmdbEngine({ dataDir, durability: 'commit', mapSizeBytes: 64 * 1024 * 1024, clock });
        await engine.start();
        return engine;
      };
      return { engine: await make(), reopen: make };
    },
  },
  natsEntry('nats (one server)', 1),
  natsEntry('nats (3-node cluster, R3)', 3),
];

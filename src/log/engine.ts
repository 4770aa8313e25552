/**
 * Chooses and builds the storage engine the config asks for: LMDB in the data dir (the default), or
 * a NATS JetStream cluster (`server.log: nats://…`). Both implement the contract (contract.ts).
 */
import type { Clock } from '../types.js';
import type { ServerSettings } from '../config/load.js';
import type { LogEngine } from './contract.js';
import { LmdbEngine } from './lmdb/index.js';
import { NatsEngine } from './nats/index.js';

export function createEngine(server: ServerSettings, clock: Clock): LogEngine {
  if (server.log.engine === 'nats') return new NatsEngine({ settings: server.log, clock });
  return new LmdbEngine({ dataDir: server.data, durability: server.durability, mapSizeBytes: server.map_size_bytes, clock });
}

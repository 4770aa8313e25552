/**
 * Chooses and builds the storage engine the config asks for: LMDB in the data dir (the default), or
 * a NATS JetStream cluster (`server.log: nats://…`). Both implement the contract (contract.ts).
 */
import type { Clock } from '../types.js';
import type { LogEngine } from './contract.js';
import { LmdbEngine, backupLmdb } from './lmdb/index.js';
import type { LogChoice } from '../config/load.js';

/** Where and how the log is kept, as `server.*` in amebo.yaml gives it. */
export interface EngineSettings {
  /** LMDB (in `data`) or a NATS JetStream cluster. */
  readonly log: LogChoice;
  /** The LMDB data dir. */
  readonly data: string;
  readonly durability: 'commit' | 'fsync';
  readonly map_size_bytes: number;
}

/**
 * The engine in force. The JetStream engine and its client are loaded only when the config names a
 * cluster: an LMDB daemon does not carry them (about 15 MB of memory).
 */
export async function createEngine(settings: EngineSettings, clock: Clock): Promise<LogEngine> {
  if (settings.log.engine === 'nats') {
    const { NatsEngine } = await import('./nats/index.js');
    return new NatsEngine({ settings: settings.log, clock });
  }
  return new LmdbEngine({ dataDir: settings.data, durability: settings.durability, mapSizeBytes: settings.map_size_bytes, clock });
}

/** What `amebo backup` wrote. */
export interface BackupResult {
  readonly file: string;
  readonly bytes: number;
}

/**
 * A consistent, compacted copy of the LMDB log in `dataDir`, taken while a daemon may be writing to
 * it. Restore by placing the file at `<data dir>/log.mdb` of a stopped or new daemon.
 */
export function backup(dataDir: string, file: string): Promise<BackupResult> {
  return backupLmdb(dataDir, file);
}

/**
 * Chooses and builds the storage engine the config asks for. LMDB, in the data dir, is the default
 * and today's only engine; the contract (contract.ts) is what a second one implements.
 */
import type { Clock } from '../types.js';
import type { LogEngine } from './contract.js';
import { LmdbEngine, backupLmdb } from './lmdb/index.js';

/** Where and how the log is kept, as `server.*` in amebo.yaml gives it. */
export interface EngineSettings {
  /** The LMDB data dir. */
  readonly data: string;
  readonly durability: 'commit' | 'fsync';
  readonly map_size_bytes: number;
}

export function createEngine(settings: EngineSettings, clock: Clock): LogEngine {
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

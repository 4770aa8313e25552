/**
 * The LMDB environment under `--data`, its named databases, the format version and the single-writer
 * lock. Only the daemon opens it; every other verb talks to the daemon over HTTP.
 *
 * Key layout (keys use lmdb-js's ordered-binary encoding, so numbers and arrays sort naturally):
 *
 * | database   | key                           | value                                      |
 * |------------|-------------------------------|--------------------------------------------|
 * | meta       | 'format', 'created_at'        | format version, creation time              |
 * | events     | event id                      | EventRow (payload kept as JSON text)       |
 * | by_action  | [action, event id]            | null                                       |
 * | dedupe     | [action, deduper]             | event id                                   |
 * | gists      | gist id                       | GistRow                                    |
 * | attempts   | [gist id, attempt number]     | AttemptRow                                 |
 * | gist_index | ['e', event id, gist id]      | null (gists of an event)                   |
 * |            | ['s', subscription, gist id]  | null (gists of a subscription)             |
 * |            | ['x', 'dead', gist id]        | null (dead gists)                          |
 * | open       | gist id                       | [subscription, due ms] for pending/failed  |
 * | objects    | [kind, name]                  | API-created application/action/subscription |
 */
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { open, type Database, type RootDatabase } from 'lmdb';
import { amebo } from '../errors.js';
import { Committer } from './committer.js';

/** Bumped when the key layout changes incompatibly. */
export const FORMAT_VERSION = 1;

export interface EventRow {
  id: number;
  action: string;
  /** Unix ms. */
  ts: number;
  payload: string;
  deduper?: string;
  after?: number;
}

export interface GistRow {
  id: number;
  event_id: number;
  action: string;
  subscription: string;
  state: 'pending' | 'delivered' | 'failed' | 'dead';
  attempts: number;
  /** Attempt count when the gist was last replayed: retries are counted from here. */
  retry_base: number;
  next_at: number | null;
  created: number;
  updated: number;
  replays: number;
  orphaned?: boolean;
  last_status?: number | null;
  last_error?: string | null;
}

export interface AttemptRow {
  at: number;
  status: number | null;
  ms: number;
  error: string | null;
  response: string | null;
  outcome: 'success' | 'retry' | 'dead';
  replay: boolean;
}

export type GistIndexKey = ['e', number, number] | ['s', string, number] | ['x', 'dead', number];

/** The open environment and its databases. */
export interface Store {
  readonly env: RootDatabase;
  readonly meta: Database<unknown, string>;
  readonly events: Database<EventRow, number>;
  readonly byAction: Database<null, [string, number]>;
  readonly dedupe: Database<number, [string, string]>;
  readonly gists: Database<GistRow, number>;
  readonly attempts: Database<AttemptRow, [number, number]>;
  readonly gistIndex: Database<null, GistIndexKey>;
  readonly open: Database<[string, number], number>;
  /** API-created objects as JSON text (older data dirs: msgpack objects). */
  readonly objects: Database<string | Record<string, unknown>, [string, string]>;
  readonly dataDir: string;
  /** Random id of this log, stamped at creation; makes webhook ids unique across data dirs. */
  readonly instanceId: string;
  readonly durability: 'commit' | 'fsync';
  /** Resolves when everything written so far is durable under the configured setting. */
  durable(): Promise<void>;
  /**
   * Runs `work` (synchronous reads and `putSync`/`removeSync` writes) in a write transaction shared
   * with the other work of this event-loop turn; resolves with its result once durable. See committer.ts.
   */
  commit<T>(work: () => T): Promise<T>;
  close(): Promise<void>;
}

export interface StoreOptions {
  readonly dataDir: string;
  readonly durability: 'commit' | 'fsync';
  readonly mapSizeBytes: number;
  /** Under `commit`, how often everything committed is flushed to disk in the background. */
  readonly syncIntervalMs?: number;
}

const LOG_FILE = 'log.mdb';
const LOCK_FILE = 'amebo.pid';

/** Opens (creating if needed) the log under `dataDir`, refusing foreign, newer or busy data dirs. */
export function openStore(options: StoreOptions): Store {
  const { dataDir } = options;
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    throw amebo('AMEBO_ERR_DATA_DIR', `${dataDir} is not a directory`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const releaseLock = acquireLock(join(dataDir, LOCK_FILE));

  const logPath = join(dataDir, LOG_FILE);
  const fresh = !existsSync(logPath);
  if (!fresh && !looksLikeLmdb(logPath)) {
    releaseLock();
    // lmdb-js crashes the process (SIGSEGV) on a file that is not LMDB, so check before opening.
    throw amebo('AMEBO_ERR_DATA_DIR', `${logPath} is not an amebo log (not an LMDB file); refusing to touch it`);
  }
  let env: RootDatabase;
  try {
    env = open({
      path: logPath,
      maxDbs: 16,
      mapSize: options.mapSizeBytes,
      // commit: a commit is in the OS page cache, so it survives kill -9 of amebo (as a JetStream ack
      // does); a background sync flushes it to disk every syncIntervalMs. fsync: every acknowledged
      // commit waits for its flush (overlapping the next commit), so it survives a power loss too.
      ...(options.durability === 'fsync' ? { overlappingSync: true } : { noSync: true, overlappingSync: false }),
    });
  } catch (err) {
    releaseLock();
    throw amebo('AMEBO_ERR_DATA_DIR', `${logPath} is not an amebo log (LMDB refused it: ${(err as Error).message})`, undefined, err);
  }

  const db = <V, K extends import('lmdb').Key>(name: string, structured = false): Database<V, K> =>
    env.openDB<V, K>({ name, ...(structured ? { sharedStructuresKey: Symbol.for('structures') } : {}) });

  const meta = db<unknown, string>('meta');
  try {
    checkFormat(meta, fresh, logPath);
  } catch (err) {
    void env.close();
    releaseLock();
    throw err;
  }

  let closed: Promise<void> | null = null;
  let syncTimer: NodeJS.Timeout | null = null;
  if (options.durability === 'commit') {
    const sync = () =>
      (env as unknown as { sync(cb: (err?: unknown) => void): void }).sync((err) => {
        if (err) process.emitWarning(`amebo: background sync of the log failed: ${String(err)}`);
      });
    syncTimer = setInterval(sync, options.syncIntervalMs ?? 1000);
    syncTimer.unref();
  }
  const store: Store = {
    env,
    meta,
    events: db<EventRow, number>('events', true),
    byAction: db<null, [string, number]>('by_action'),
    dedupe: db<number, [string, string]>('dedupe'),
    gists: db<GistRow, number>('gists', true),
    attempts: db<AttemptRow, [number, number]>('attempts', true),
    gistIndex: db<null, GistIndexKey>('gist_index'),
    open: db<[string, number], number>('open'),
    objects: db<string | Record<string, unknown>, [string, string]>('objects'),
    dataDir,
    instanceId: String(meta.get('instance')),
    durability: options.durability,
    async durable() {
      if (options.durability === 'fsync') await env.flushed;
    },
    commit(work) {
      return committer.commit(work);
    },
    close() {
      closed ??= (async () => {
        if (syncTimer) clearInterval(syncTimer);
        try {
          await env.committed;
          await env.flushed;
          // A clean close leaves everything on disk, whatever the durability setting.
          await new Promise<void>((resolve) => (env as unknown as { sync(cb: () => void): void }).sync(() => resolve()));
          await env.close();
        } finally {
          releaseLock();
        }
      })();
      return closed;
    },
  };
  const committer = new Committer(store);
  return store;
}

/** LMDB's meta page carries the magic 0xBEEFC0DE near the start of the file. */
function looksLikeLmdb(path: string): boolean {
  const head = Buffer.alloc(64);
  let read = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      read = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  for (let off = 0; off + 4 <= read; off += 4) if (head.readUInt32LE(off) === 0xbeefc0de) return true;
  return false;
}

function checkFormat(meta: Database<unknown, string>, fresh: boolean, logPath: string): void {
  const format = meta.get('format');
  if (format === undefined) {
    const names = [...(meta as unknown as { getKeys(): Iterable<unknown> }).getKeys()];
    if (!fresh && names.length > 0) {
      throw amebo('AMEBO_ERR_DATA_DIR', `${logPath} was not written by amebo (no format marker); refusing to touch it`);
    }
    meta.putSync('format', FORMAT_VERSION);
    meta.putSync('created_at', new Date().toISOString());
    meta.putSync('instance', randomBytes(4).toString('hex'));
    return;
  }
  if (typeof format !== 'number') {
    throw amebo('AMEBO_ERR_DATA_DIR', `${logPath} has an unreadable format marker; refusing to touch it`);
  }
  if (format > FORMAT_VERSION) {
    throw amebo(
      'AMEBO_ERR_DATA_DIR',
      `${logPath} was written by a newer amebo (log format ${format}; this build reads up to ${FORMAT_VERSION}). Upgrade amebo.`,
    );
  }
}

/**
 * A pid file created with O_EXCL. A file left by a process that no longer runs (kill -9) is stale and
 * is taken over; one held by a live process makes a second `serve` on the same data dir fail.
 */
const heldHere = new Set<string>();

function acquireLock(path: string): () => void {
  if (heldHere.has(path)) {
    throw amebo('AMEBO_ERR_DATA_DIR', `the data dir is already open in this process; only one daemon may own it`);
  }
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldHere.add(path);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        heldHere.delete(path);
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw amebo('AMEBO_ERR_DATA_DIR', `cannot create ${path}: ${(err as Error).message}`, undefined, err);
      }
      const holder = Number.parseInt(readFileSafe(path), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw amebo('AMEBO_ERR_DATA_DIR', `the data dir is in use by another amebo (pid ${holder}); only one daemon may own it`);
      }
      try {
        unlinkSync(path);
      } catch {
        // Someone else removed it first; try again.
      }
    }
  }
  throw amebo('AMEBO_ERR_DATA_DIR', `cannot take the lock ${path}`);
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The LMDB environment under `--data`: the single-writer lock, the checks that keep amebo away from
 * files it must not touch, the format version (with the one migration so far), and the databases.
 *
 * Key layout (lmdb-js's ordered-binary keys, so numbers and arrays sort naturally):
 *
 * | database   | key                              | value                                          |
 * |------------|----------------------------------|------------------------------------------------|
 * | meta       | 'format', 'created_at', 'instance', 'objects_revision' | format 2, creation time, webhook-id prefix, last object revision |
 * | events     | event id                         | EventRow (payload kept as JSON text)           |
 * | by_action  | [action, event id]               | null                                           |
 * | dedupe     | [action, deduper]                | event id                                       |
 * | gists      | gist id                          | GistRow                                        |
 * | attempts   | [gist id, attempt number]        | AttemptRow                                     |
 * | gist_index | ['e', event id, gist id]         | null (gists of an event)                       |
 * |            | ['s', subscription, gist id]     | null (gists of a subscription)                 |
 * |            | ['x', 'dead', gist id]           | null (dead gists)                              |
 * | open       | [subscription, gist id]          | due ms: the pending/failed gists of each subscription, oldest first |
 * | due        | [subscription, lane, due ms, gist id] | null: the delivery queue on disk; lane 0 first attempts, 1 retries |
 * | backlog    | subscription                     | open gists of the subscription                 |
 * | ordered    | [subscription, key, gist id]     | null: open gists of ordered subscriptions; only the first of a key is in `due` |
 * | objects    | [kind, name]                     | JSON text `{"revision": n, "value": …}`        |
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { open, type Database, type RootDatabase } from 'lmdb';
import { amebo } from '../../errors.js';
import type { AttemptRow, EventRow, GistRow } from './rows.js';

/** Bumped when the key layout changes incompatibly. 2: the `due` and `backlog` databases, objects as JSON. */
export const FORMAT_VERSION = 2;

export type GistIndexKey = ['e', number, number] | ['s', string, number] | ['x', 'dead', number];
/** [subscription, lane (0 first attempts, 1 retries), due ms, gist id] */
export type DueKey = [string, number, number, number];

/** The open environment and its databases. */
export interface Env {
  readonly root: RootDatabase;
  readonly meta: Database<unknown, string>;
  readonly events: Database<EventRow, number>;
  readonly byAction: Database<null, [string, number]>;
  readonly dedupe: Database<number, [string, string]>;
  readonly gists: Database<GistRow, number>;
  readonly attempts: Database<AttemptRow, [number, number]>;
  readonly gistIndex: Database<null, GistIndexKey>;
  readonly open: Database<number, [string, number]>;
  readonly due: Database<null, DueKey>;
  readonly backlog: Database<number, string>;
  readonly ordered: Database<null, [string, string, number]>;
  /** JSON text; rows of format 1 are msgpack objects until the migration rewrites them. */
  readonly objects: Database<string | Record<string, unknown>, [string, string]>;
  readonly dataDir: string;
  readonly instanceId: string;
  /** Releases the data dir lock. */
  unlock(): void;
}

export interface EnvOptions {
  readonly dataDir: string;
  readonly durability: 'commit' | 'fsync';
  readonly mapSizeBytes: number;
}

export const LOG_FILE = 'log.mdb';
const LOCK_FILE = 'amebo.pid';

/** Opens (creating if needed) the log under `dataDir`, refusing foreign, newer or busy data dirs. */
export function openEnv(options: EnvOptions): Env {
  const { dataDir } = options;
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    throw amebo('AMEBO_ERR_DATA_DIR', `${dataDir} is not a directory`);
  }
  const logPath = join(dataDir, LOG_FILE);
  const fresh = !existsSync(logPath);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const unlock = acquireLock(join(dataDir, LOCK_FILE));
  if (!fresh && !looksLikeLmdb(logPath)) {
    unlock();
    // lmdb-js crashes the process (SIGSEGV) on a file that is not LMDB, so check before opening.
    throw amebo('AMEBO_ERR_DATA_DIR', `${logPath} is not an amebo log (not an LMDB file); refusing to touch it`);
  }
  let root: RootDatabase;
  try {
    root = open({
      path: logPath,
      maxDbs: 16,
      mapSize: options.mapSizeBytes,
      // commit: a commit is in the OS page cache, so it survives kill -9 of amebo (as a JetStream ack
      // does); a background sync flushes it to disk every second. fsync: every acknowledged commit
      // waits for its flush (overlapping the next commit), so it survives a power loss too.
      ...(options.durability === 'fsync' ? { overlappingSync: true } : { noSync: true, overlappingSync: false }),
    });
  } catch (err) {
    unlock();
    throw amebo('AMEBO_ERR_DATA_DIR', `${logPath} is not an amebo log (LMDB refused it: ${(err as Error).message})`, undefined, err);
  }
  const db = <V, K extends import('lmdb').Key>(name: string, structured = false): Database<V, K> =>
    root.openDB<V, K>({ name, ...(structured ? { sharedStructuresKey: Symbol.for('structures') } : {}) });
  const env: Env = {
    root,
    meta: db<unknown, string>('meta'),
    events: db<EventRow, number>('events', true),
    byAction: db<null, [string, number]>('by_action'),
    dedupe: db<number, [string, string]>('dedupe'),
    gists: db<GistRow, number>('gists', true),
    attempts: db<AttemptRow, [number, number]>('attempts', true),
    gistIndex: db<null, GistIndexKey>('gist_index'),
    open: db<number, [string, number]>('open'),
    due: db<null, DueKey>('due'),
    backlog: db<number, string>('backlog'),
    ordered: db<null, [string, string, number]>('ordered'),
    objects: db<string | Record<string, unknown>, [string, string]>('objects'),
    dataDir,
    instanceId: '',
    unlock,
  };
  try {
    checkFormat(env, fresh, logPath);
  } catch (err) {
    void root.close();
    unlock();
    throw err;
  }
  return { ...env, instanceId: String(env.meta.get('instance')) };
}

/** LMDB's meta page carries the magic 0xBEEFC0DE near the start of the file. */
export function looksLikeLmdb(path: string): boolean {
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

function checkFormat(env: Env, fresh: boolean, logPath: string): void {
  const { meta } = env;
  const format = meta.get('format');
  if (format === undefined) {
    const names = [...(meta as unknown as { getKeys(): Iterable<unknown> }).getKeys()];
    if (!fresh && names.length > 0) {
      throw amebo('AMEBO_ERR_DATA_DIR', `${logPath} was not written by amebo (no format marker); refusing to touch it`);
    }
    env.root.transactionSync(() => {
      meta.putSync('format', FORMAT_VERSION);
      meta.putSync('created_at', new Date().toISOString());
      meta.putSync('instance', randomBytes(4).toString('hex'));
    });
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
  if (format < FORMAT_VERSION) migrateFrom1(env);
}

/**
 * Format 1 → 2, in one transaction: the delivery queue moves from memory to the `due` database
 * (built from `open`), open gists are counted per subscription, and API objects become JSON text with
 * a revision. Runs once, at the first start of a newer amebo on an older data dir.
 */
function migrateFrom1(env: Env): void {
  env.root.transactionSync(() => {
    const counts = new Map<string, number>();
    // Format 1 keyed `open` by gist id with [subscription, due]; format 2 by [subscription, gist id].
    const old = [...(env.open as unknown as Database<[string, number], number>).getRange()].map(({ key, value }) => [key, value] as const);
    env.open.clearSync();
    for (const [id, [subscription, due]] of old) {
      const row = env.gists.get(id);
      env.open.putSync([subscription, id], due);
      env.due.putSync([subscription, row?.state === 'failed' ? 1 : 0, due, id], null);
      counts.set(subscription, (counts.get(subscription) ?? 0) + 1);
    }
    for (const [subscription, n] of counts) env.backlog.putSync(subscription, n);
    let revision = 0;
    for (const { key, value } of env.objects.getRange()) {
      const object = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
      env.objects.putSync(key, JSON.stringify({ revision: ++revision, value: object }));
    }
    env.meta.putSync('objects_revision', revision);
    env.meta.putSync('format', FORMAT_VERSION);
  });
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

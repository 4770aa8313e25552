/**
 * The LMDB engine: amebo's embedded default, one daemon per data dir. It implements the storage
 * contract (../contract.ts) over one LMDB file: the log, gists and attempts, the delivery queue on
 * disk, API objects, retention and backups.
 */
import type { Clock } from '../../types.js';
import { amebo } from '../../errors.js';
import type { GistId, LogEngine, LogStats, NoticeChannel, PruneResult, RetentionPolicy } from '../contract.js';
import { openEnv, type Env } from './env.js';
import { FreeSpace } from './free-space.js';
import { Committer } from './committer.js';
import { IdSource } from './ids.js';
import { LeaseTable, LmdbDeliverySource } from './delivery.js';
import { RecentEvents } from './recent.js';
import { LmdbEventLog } from './events.js';
import { LmdbGistStore } from './gists.js';
import { LmdbObjectStore } from './objects.js';
import { fileBytes, liveBytes, prune } from './retention.js';
import { BacklogCounts } from './backlog.js';

export interface LmdbOptions {
  readonly dataDir: string;
  readonly durability: 'commit' | 'fsync';
  readonly mapSizeBytes: number;
  /** Under `commit`, how often everything committed is flushed to disk in the background. */
  readonly syncIntervalMs?: number;
  readonly clock: Clock;
}

interface Parts {
  readonly env: Env;
  readonly committer: Committer;
  readonly events: LmdbEventLog;
  readonly gists: LmdbGistStore;
  readonly delivery: LmdbDeliverySource;
  readonly objects: LmdbObjectStore;
  readonly backlog: BacklogCounts;
}

const STRUCTURES = Symbol.for('structures');
/** Decoded events kept for the leases that follow their append: a burst of 16,384 events, or 16 MiB of payload. */
const RECENT_EVENTS = 16_384;
const RECENT_CHARS = 16 * 1024 * 1024;

/** One daemon per data dir: there is nobody to tell, and nobody tells this one anything. */
const NO_NOTICES: NoticeChannel = { shared: false, publish: () => undefined, subscribe: () => () => undefined };

export class LmdbEngine implements LogEngine {
  readonly kind = 'lmdb' as const;
  readonly ordering = true;
  readonly notices = NO_NOTICES;
  #parts: Parts | null = null;
  #closed: Promise<void> | null = null;
  #syncTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: LmdbOptions) {}

  get #p(): Parts {
    if (!this.#parts) throw amebo('AMEBO_ERR_INTERNAL', 'the LMDB log is not open (start() it first)');
    return this.#parts;
  }

  get instanceId(): string {
    return this.#p.env.instanceId;
  }
  get events(): LmdbEventLog {
    return this.#p.events;
  }
  get gists(): LmdbGistStore {
    return this.#p.gists;
  }
  get delivery(): LmdbDeliverySource {
    return this.#p.delivery;
  }
  get objects(): LmdbObjectStore {
    return this.#p.objects;
  }
  parseGistId(text: string): GistId | undefined {
    return /^\d{1,15}$/.test(text) && Number(text) >= 1 ? Number(text) : undefined;
  }

  /** The data dir (for /health). */
  get dataDir(): string {
    return this.options.dataDir;
  }

  async start(): Promise<void> {
    if (this.#parts) return;
    const { clock } = this.options;
    const env = openEnv(this.options);
    const committer = new Committer(env.root, this.options.durability, new FreeSpace(this.options.dataDir));
    const ids = new IdSource(env);
    const leases = new LeaseTable(clock);
    const backlog = new BacklogCounts(env);
    committer.hook(backlog);
    const recent = new RecentEvents(RECENT_EVENTS, RECENT_CHARS);
    const events = new LmdbEventLog(env, committer, ids, leases, backlog, clock, recent);
    this.#parts = {
      env,
      committer,
      events,
      gists: new LmdbGistStore(env, committer, ids, leases, events, backlog),
      backlog,
      delivery: new LmdbDeliverySource(env, leases, clock, recent),
      objects: new LmdbObjectStore(env, committer),
    };
    if (this.options.durability === 'commit') {
      const root = env.root as unknown as { sync(cb: (err?: unknown) => void): void };
      this.#syncTimer = setInterval(
        () => root.sync((err) => err && process.emitWarning(`amebo: background sync of the log failed: ${String(err)}`)),
        this.options.syncIntervalMs ?? 1000,
      );
      this.#syncTimer.unref();
    }
  }

  prune(policy: RetentionPolicy, now: number): Promise<PruneResult> {
    const { env, committer } = this.#p;
    return prune(env, committer, policy, now, () => this.#closed !== null);
  }

  async stats(): Promise<LogStats> {
    const { env } = this.#p;
    // O(1) from LMDB's own statistics; a database with shared msgpack structures keeps them in one entry.
    const count = (db: { getStats(): unknown }) =>
      (db.getStats() as { entryCount: number }).entryCount - ((db as unknown as { doesExist(key: symbol): boolean }).doesExist(STRUCTURES) ? 1 : 0);
    return {
      engine: 'lmdb',
      events: count(env.events),
      backlog: count(env.open),
      backlog_by_subscription: this.#p.backlog.all(),
      oldest_pending_by_subscription: this.#oldest(),
      storage: { file_bytes: fileBytes(env), live_bytes: liveBytes(env), data: env.dataDir, durability: this.options.durability },
    };
  }

  /** Per subscription, when its oldest open gist was made (the first entry of its range of `open`). */
  #oldest(): Record<string, number> {
    const { env, backlog } = this.#p;
    const out: Record<string, number> = {};
    for (const subscription of Object.keys(backlog.all())) {
      for (const key of env.open.getKeys({ start: [subscription, 0], end: [subscription, Number.MAX_SAFE_INTEGER], limit: 1 })) {
        const created = env.gists.get((key as [string, number])[1])?.created;
        if (created !== undefined) out[subscription] = created;
      }
    }
    return out;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#syncTimer) clearInterval(this.#syncTimer);
      const parts = this.#parts;
      if (!parts) return;
      const { root } = parts.env;
      try {
        await root.committed;
        await root.flushed;
        // A clean close leaves everything on disk, whatever the durability setting.
        await new Promise<void>((resolve) => (root as unknown as { sync(cb: () => void): void }).sync(() => resolve()));
        await root.close();
      } finally {
        parts.env.unlock();
      }
    })();
    return this.#closed;
  }
}

export { backupLmdb } from './backup.js';

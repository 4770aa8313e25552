/**
 * Retention: prunes old events in the background so the log does not grow without bound (the top
 * complaint against hosted webhook services). An event is pruned when it is older than `max_age`, or
 * while the log's live data is over `max_bytes` (oldest first), and only when every one of its gists is
 * delivered. Events with a dead, failed, pending or orphaned gist are never pruned silently: they stay
 * until they are replayed and delivered, and each run logs how many were kept for that reason.
 *
 * LMDB reuses the pages pruning frees, so under a steady load the file stops growing once retention
 * keeps the live data level.
 */
import type { Logger } from 'pino';
import type { Clock } from '../types.js';
import type { Store } from './store.js';

export interface RetentionPolicy {
  /** Prune events older than this (ms); null keeps them by age. */
  readonly max_age_ms: number | null;
  /** Prune the oldest events while live data exceeds this many bytes; null means no cap. */
  readonly max_bytes: number | null;
  readonly interval_ms: number;
}

export interface PruneResult {
  readonly pruned: number;
  /** Events due for pruning but kept because a gist is not delivered. */
  readonly kept: number;
}

const CHUNK = 500;
/** At most this many events are examined per run, so one run never holds the loop for long. */
const MAX_SCAN = 200_000;

/** Bytes of live pages in amebo's databases (what pruning can free). */
export function liveBytes(store: Store): number {
  let pages = 0;
  let pageSize = 4096;
  for (const db of [store.events, store.byAction, store.dedupe, store.gists, store.attempts, store.gistIndex, store.open, store.objects, store.meta]) {
    const s = db.getStats() as { pageSize: number; treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number };
    pageSize = s.pageSize;
    pages += s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages;
  }
  return pages * pageSize;
}

/** Size of the LMDB file on disk (it grows, and reuses freed pages, but never shrinks). */
export function fileBytes(store: Store): number {
  const s = store.env.getStats() as { pageSize: number; lastPageNumber: number };
  return (s.lastPageNumber + 1) * s.pageSize;
}

export class Retention {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<PruneResult> | null = null;
  #closed = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly policy: () => RetentionPolicy | null,
  ) {}

  start(): void {
    this.#schedule();
  }

  #schedule(): void {
    const p = this.policy();
    if (this.#closed || p === null) {
      // Retention may be switched on by a reload: look again later.
      if (!this.#closed) this.#timer = setTimeout(() => this.#schedule(), 10_000).unref();
      return;
    }
    this.#timer = setTimeout(() => {
      void this.runOnce()
        .catch((err: unknown) => this.logger.error({ err }, 'retention run failed; it will try again'))
        .finally(() => this.#schedule());
    }, p.interval_ms).unref();
  }

  /** One pruning pass. Concurrent calls share the pass in progress. */
  runOnce(): Promise<PruneResult> {
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  async #run(): Promise<PruneResult> {
    const p = this.policy();
    if (p === null) return { pruned: 0, kept: 0 };
    const cutoff = p.max_age_ms === null ? -Infinity : this.clock.now() - p.max_age_ms;
    const over = () => p.max_bytes !== null && liveBytes(this.store) > p.max_bytes;
    let pruned = 0;
    let kept = 0;
    let scanned = 0;
    let overBytes = over();
    let start = 0;
    while (scanned < MAX_SCAN && !this.#closed) {
      const rows = [...this.store.events.getRange({ start, limit: CHUNK })];
      if (rows.length === 0) break;
      const batch: number[] = [];
      let reachedYoung = false;
      for (const { key, value } of rows) {
        if (value.ts >= cutoff && !overBytes) {
          reachedYoung = true;
          break;
        }
        start = key + 1;
        scanned++;
        if (this.#finished(key)) batch.push(key);
        else kept++;
      }
      if (batch.length > 0) {
        pruned += await this.#delete(batch);
        overBytes = over();
      }
      if (reachedYoung) break;
      // Let publishes and deliveries run between chunks.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (pruned > 0 || kept > 0) {
      this.logger.info(
        { pruned, kept_undelivered: kept },
        kept > 0 ? 'retention pruned events; some old events are kept because they have undelivered or dead gists (replay them)' : 'retention pruned events',
      );
    }
    return { pruned, kept };
  }

  /** True when every gist of the event is delivered (an event without gists is finished too). */
  #finished(eventId: number): boolean {
    for (const key of this.store.gistIndex.getKeys({ start: ['e', eventId, 0] as never, end: ['e', eventId, Number.MAX_SAFE_INTEGER] as never })) {
      const gistId = (key as unknown as [string, number, number])[2];
      if (this.store.gists.get(gistId)?.state !== 'delivered') return false;
    }
    return true;
  }

  /** Deletes finished events with their gists, attempts and index entries; returns how many. */
  async #delete(eventIds: readonly number[]): Promise<number> {
    const { store } = this;
    return store.commit(() => {
      let deleted = 0;
      for (const id of eventIds) {
        const event = store.events.get(id);
        if (!event) continue;
        const gistIds = [...store.gistIndex.getKeys({ start: ['e', id, 0] as never, end: ['e', id, Number.MAX_SAFE_INTEGER] as never })].map(
          (key) => (key as unknown as [string, number, number])[2],
        );
        const gists = gistIds.map((g) => store.gists.get(g));
        // Re-checked inside the transaction: a replay may have reopened a gist since the scan.
        if (gists.some((g) => g !== undefined && g.state !== 'delivered')) continue;
        gistIds.forEach((gistId, i) => {
          const attempts = [...store.attempts.getKeys({ start: [gistId, 0], end: [gistId, Number.MAX_SAFE_INTEGER] })];
          for (const attempt of attempts) store.attempts.removeSync(attempt);
          const gist = gists[i];
          if (gist) store.gistIndex.removeSync(['s', gist.subscription, gistId]);
          store.gistIndex.removeSync(['e', id, gistId]);
          store.gists.removeSync(gistId);
        });
        store.byAction.removeSync([event.action, id]);
        if (event.deduper !== undefined) store.dedupe.removeSync([event.action, event.deduper]);
        store.events.removeSync(id);
        deleted++;
      }
      return deleted;
    });
  }
}

/**
 * Retention in the LMDB engine: prunes events older than `max_age`, or the oldest while live data is
 * over `max_bytes`, and only those whose gists are all delivered. Events with a pending, failed or dead
 * gist are never pruned silently: they stay until they are replayed and delivered. LMDB reuses the
 * pages pruning frees, so under a steady load the file stops growing once the live data is level.
 */
import type { PruneResult, RetentionPolicy } from '../contract.js';
import type { Committer } from './committer.js';
import type { Env } from './env.js';

const CHUNK = 500;
/** At most this many events are examined per run, so one run never holds the loop for long. */
const MAX_SCAN = 200_000;
const MAX_ID = Number.MAX_SAFE_INTEGER;

/** Bytes of live pages in amebo's databases (what pruning can free). */
export function liveBytes(env: Env): number {
  let pages = 0;
  let pageSize = 4096;
  for (const db of [env.events, env.byAction, env.dedupe, env.gists, env.attempts, env.gistIndex, env.open, env.due, env.backlog, env.objects, env.meta]) {
    const s = db.getStats() as { pageSize: number; treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number };
    pageSize = s.pageSize;
    pages += s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages;
  }
  return pages * pageSize;
}

/** Size of the LMDB file on disk (it grows, and reuses freed pages, but never shrinks). */
export function fileBytes(env: Env): number {
  const s = env.root.getStats() as { pageSize: number; lastPageNumber: number };
  return (s.lastPageNumber + 1) * s.pageSize;
}

export async function prune(env: Env, committer: Committer, policy: RetentionPolicy, now: number, closed: () => boolean): Promise<PruneResult> {
  const cutoff = policy.max_age_ms === null ? -Infinity : now - policy.max_age_ms;
  const over = () => policy.max_bytes !== null && liveBytes(env) > policy.max_bytes;
  let pruned = 0;
  let kept = 0;
  let scanned = 0;
  let overBytes = over();
  let start = 0;
  while (scanned < MAX_SCAN && !closed()) {
    const rows = [...env.events.getRange({ start, limit: CHUNK })];
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
      if (finished(env, key)) batch.push(key);
      else kept++;
    }
    if (batch.length > 0) {
      pruned += await remove(env, committer, batch);
      overBytes = over();
    }
    if (reachedYoung) break;
    // Let publishes and deliveries run between chunks.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { pruned, kept };
}

function gistIdsOf(env: Env, eventId: number): number[] {
  return [...env.gistIndex.getKeys({ start: ['e', eventId, 0] as never, end: ['e', eventId, MAX_ID] as never })].map((key) => (key as unknown as [string, number, number])[2]);
}

/** True when every gist of the event is delivered (an event without gists is finished too). */
function finished(env: Env, eventId: number): boolean {
  return gistIdsOf(env, eventId).every((id) => env.gists.get(id)?.state === 'delivered');
}

/** Deletes finished events with their gists, attempts and index entries; returns how many. */
function remove(env: Env, committer: Committer, eventIds: readonly number[]): Promise<number> {
  return committer.commit(() => {
    let deleted = 0;
    for (const id of eventIds) {
      const event = env.events.get(id);
      if (!event) continue;
      const gistIds = gistIdsOf(env, id);
      const gists = gistIds.map((g) => env.gists.get(g));
      // Re-checked inside the transaction: a replay may have reopened a gist since the scan.
      if (gists.some((g) => g !== undefined && g.state !== 'delivered')) continue;
      gistIds.forEach((gistId, i) => {
        for (const attempt of [...env.attempts.getKeys({ start: [gistId, 0], end: [gistId, MAX_ID] })]) env.attempts.removeSync(attempt);
        const gist = gists[i];
        if (gist) env.gistIndex.removeSync(['s', gist.subscription, gistId]);
        env.gistIndex.removeSync(['e', id, gistId]);
        env.gists.removeSync(gistId);
      });
      env.byAction.removeSync([event.action, id]);
      if (event.deduper !== undefined) env.dedupe.removeSync([event.action, event.deduper]);
      env.events.removeSync(id);
      deleted++;
    }
    return deleted;
  });
}

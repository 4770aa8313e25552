/**
 * Retention on JetStream: the same rule as LMDB. An event older than `max_age` (or among the oldest
 * while the log is over `max_bytes`) is pruned only when every gist of it is delivered; an event with
 * a pending, failed or dead gist is kept until it is replayed and delivered. JetStream's own age and
 * size limits are off on amebo's streams (they would drop undelivered events), so pruning deletes the
 * event's message and purges its gists' records, one event at a time, oldest first.
 */
import type { PruneResult, RetentionPolicy } from '../contract.js';
import { call, type NatsContext } from './connection.js';
import { deleteEvent } from './delete-event.js';
import type { NatsEventLog } from './events.js';
import type { NatsGistStore } from './gists.js';

/** At most this many events are examined per run. */
const MAX_SCAN = 50_000;

export async function prune(ctx: NatsContext, events: NatsEventLog, gists: NatsGistStore, policy: RetentionPolicy, now: number, closed: () => boolean): Promise<PruneResult> {
  const { jsm, names } = ctx;
  const cutoff = policy.max_age_ms === null ? -Infinity : now - policy.max_age_ms;
  const bytes = async () => {
    const [e, g] = await call(ctx, 'the streams', () => Promise.all([jsm.streams.info(names.events), jsm.streams.info(names.gists)]));
    return e.state.bytes + g.state.bytes;
  };
  let over = policy.max_bytes !== null && (await bytes()) > policy.max_bytes;
  let pruned = 0;
  let kept = 0;
  let scanned = 0;
  for await (const record of events.records({})) {
    if (closed() || scanned >= MAX_SCAN) break;
    if (record.ts >= cutoff && !over) break;
    scanned++;
    const all = await gists.ofEvent(record.event.id);
    if (!all.every((g) => g.state === 'delivered')) {
      kept++;
      continue;
    }
    // Every instance runs retention: another one may have pruned this event a moment ago.
    if (await deleteEvent(ctx, record.event.id, 'pruning')) pruned++;
    if (policy.max_bytes !== null && pruned % 100 === 0) over = (await bytes()) > policy.max_bytes;
  }
  return { pruned, kept };
}

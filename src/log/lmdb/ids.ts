/**
 * The id source of the LMDB engine: event and gist ids, and event times, from counters seeded from
 * the log when it opens. The data dir lock makes this process the only writer, so the counters are
 * the truth between a seed and the next start.
 */
import type { Env } from './env.js';

export class IdSource {
  #event: number;
  #gist: number;
  #lastTs: number;

  constructor(env: Env) {
    const lastEvent = lastKey(env.events);
    this.#event = lastEvent ?? 0;
    this.#gist = lastKey(env.gists) ?? 0;
    this.#lastTs = lastEvent === undefined ? 0 : (env.events.get(lastEvent)?.ts ?? 0);
  }

  /**
   * The next event id and its time. Times never decrease with ids, even if the wall clock steps back,
   * so time ranges map to id ranges.
   */
  nextEvent(now: number): { id: number; ts: number } {
    this.#lastTs = Math.max(now, this.#lastTs);
    return { id: ++this.#event, ts: this.#lastTs };
  }

  nextGist(): number {
    return ++this.#gist;
  }

  /** The highest event id handed out (0 before the first). */
  lastEvent(): number {
    return this.#event;
  }
}

function lastKey(db: Env['events'] | Env['gists']): number | undefined {
  for (const key of db.getKeys({ reverse: true, limit: 1 })) return key as number;
  return undefined;
}

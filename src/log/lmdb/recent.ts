/**
 * Events appended or leased lately, kept decoded, oldest dropped first, bounded in count and in
 * payload size. An event with gists is leased soon after its append (once per subscription), so the
 * append hands it over here and the lease does not read and decode it again. Events never change once
 * written, and retention never prunes one with an open gist, so a hit is always the row in the log.
 *
 * The order of arrival is a ring of ids beside the map: dropping the oldest never walks the map
 * (V8 leaves deleted entries in place until it rehashes, so the first entry of a map that is
 * trimmed from its front takes longer and longer to find).
 */
import type { StoredEvent } from '../../types.js';

export class RecentEvents {
  readonly #events = new Map<number, StoredEvent>();
  readonly #ring: Float64Array;
  #head = 0;
  #size = 0;
  #chars = 0;

  constructor(
    maxEvents: number,
    /** Payload text kept at most, in UTF-16 code units (about bytes for JSON text). */
    private readonly maxChars: number,
  ) {
    this.#ring = new Float64Array(maxEvents);
  }

  get(id: number): StoredEvent | undefined {
    return this.#events.get(id);
  }

  add(event: StoredEvent): void {
    if (this.#events.has(event.id)) return;
    if (this.#size === this.#ring.length) this.#dropOldest();
    this.#ring[(this.#head + this.#size) % this.#ring.length] = event.id;
    this.#size++;
    this.#events.set(event.id, event);
    this.#chars += event.payload_json.length;
    while (this.#chars > this.maxChars && this.#size > 0) this.#dropOldest();
  }

  #dropOldest(): void {
    const id = this.#ring[this.#head]!;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#size--;
    const event = this.#events.get(id);
    if (event === undefined) return;
    this.#events.delete(id);
    this.#chars -= event.payload_json.length;
  }
}

/**
 * Collects messages that arrive faster than a terminal should redraw and hands them over in batches,
 * at most once per interval. At 2,000 deliveries/s and 10 frames/s that is one state update with
 * ~200 messages instead of 2,000 renders.
 */

/** The timer functions the batcher needs; tests pass fakes. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

/** Options of a batcher. */
export interface BatcherOptions {
  /** Smallest time between two flushes, in ms (100 ms = 10 frames/s). */
  readonly intervalMs?: number | undefined;
  /** Most items held between flushes; past it the oldest are dropped and counted. */
  readonly maxPending?: number | undefined;
  readonly timers?: Timers | undefined;
}

/** A throttling buffer: `push` is cheap, `flush` runs at most once per interval with everything new. */
export class Batcher<T> {
  readonly #flush: (items: T[], dropped: number) => void;
  readonly #interval: number;
  readonly #max: number;
  readonly #timers: Timers;
  #pending: T[] = [];
  #dropped = 0;
  #timer: unknown = undefined;
  #lastFlush = -Infinity;
  #closed = false;

  constructor(flush: (items: T[], dropped: number) => void, options: BatcherOptions = {}) {
    this.#flush = flush;
    this.#interval = options.intervalMs ?? 100;
    this.#max = options.maxPending ?? 20_000;
    this.#timers = options.timers ?? realTimers;
  }

  /** How many items wait for the next flush. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Queues one item and makes sure a flush is scheduled. */
  push(item: T): void {
    if (this.#closed) return;
    this.#pending.push(item);
    if (this.#pending.length > this.#max) {
      // Only the newest rows are ever shown, so the oldest are the ones to lose.
      const excess = this.#pending.length - this.#max;
      this.#pending.splice(0, excess);
      this.#dropped += excess;
    }
    if (this.#timer === undefined) {
      const wait = Math.max(0, this.#lastFlush + this.#interval - this.#timers.now());
      this.#timer = this.#timers.setTimeout(() => this.flushNow(), wait);
    }
  }

  /** Hands over everything pending right away. */
  flushNow(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0 && this.#dropped === 0) return;
    const items = this.#pending;
    const dropped = this.#dropped;
    this.#pending = [];
    this.#dropped = 0;
    this.#lastFlush = this.#timers.now();
    this.#flush(items, dropped);
  }

  /** Stops flushing; pending items are discarded. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = [];
  }
}

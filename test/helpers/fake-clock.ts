/**
 * A clock for tests of policy over time (backoff, leases, circuits, rotation windows): `now()` moves
 * only when the test says, and timers fire in time order as it advances. CI is a busy 2-core machine,
 * so a test that waits on the wall clock is a flake waiting to happen.
 */
import type { Clock, Timer } from '../../src/types.js';

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, Pending>();

  constructor(start = Date.parse('2026-12-01T12:00:00Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = this.#next++;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), fn });
    return { id } as Timer;
  }

  clearTimeout(timer: Timer): void {
    this.#timers.delete((timer as { id: number }).id);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order, and letting
   * the promise callbacks each one starts run before the next fires.
   */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await settle();
      const due = [...this.#timers.values()].filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers.delete(due.id);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = until;
    await settle();
  }
}

/** Lets pending promise callbacks and I/O callbacks already queued run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

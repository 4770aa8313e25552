/** The typed in-process bus: delivery outcomes and publishes, read by /v1/stream, replays and metrics. */
import type { BusMessage } from '../types.js';

export type BusListener = (message: BusMessage) => void;

export class Bus {
  readonly #listeners = new Set<BusListener>();

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: BusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(message: BusMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch {
        // One broken listener must not stop delivery bookkeeping or other listeners.
      }
    }
  }

  get size(): number {
    return this.#listeners.size;
  }
}

/**
 * The typed bus: delivery outcomes and publishes, read by /v1/stream, replays and metrics. Local
 * listeners hear this process's messages at once; with an engine shared by several processes
 * (JetStream), the engine's notice channel carries them to the other processes' buses too, so each
 * instance's stream sees the whole cluster's deliveries. Messages from elsewhere are not sent on again.
 */
import type { BusMessage } from '../types.js';
import type { NoticeChannel } from '../log/contract.js';

export type BusListener = (message: BusMessage) => void;

export class Bus {
  readonly #listeners = new Set<BusListener>();
  readonly #unsubscribe: (() => void) | null;

  /** `channel`: where messages to and from other processes go (none: this process only). */
  constructor(private readonly channel: NoticeChannel | null = null) {
    this.#unsubscribe = channel?.subscribe((message) => this.#emit(message)) ?? null;
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: BusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(message: BusMessage): void {
    this.#emit(message);
    this.channel?.publish(message);
  }

  /** Stops hearing other processes. */
  close(): void {
    this.#unsubscribe?.();
  }

  get size(): number {
    return this.#listeners.size;
  }

  /** True when a message would reach anyone: a local listener, or other processes. */
  get wanted(): boolean {
    return this.#listeners.size > 0 || this.channel?.shared === true;
  }

  #emit(message: BusMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch {
        // One broken listener must not stop delivery bookkeeping or other listeners.
      }
    }
  }
}

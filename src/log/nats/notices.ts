/**
 * Notices between instances on core NATS (not JetStream: they are news, not state, so losing one
 * costs a line in someone's `amebo tail`, never an event). Each carries its sender's id so an
 * instance never hears itself.
 */
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { BusMessage } from '../../types.js';
import type { NoticeChannel } from '../contract.js';

export class NatsNotices implements NoticeChannel {
  readonly shared = true;
  readonly #listeners = new Set<(message: BusMessage) => void>();
  #sub: Subscription | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly self: string,
  ) {}

  start(): void {
    this.#sub = this.nc.subscribe(this.subject, {
      callback: (err, m) => {
        if (err || this.#listeners.size === 0) return;
        let notice: { o?: string; m?: BusMessage };
        try {
          notice = JSON.parse(m.string()) as typeof notice;
        } catch {
          return;
        }
        if (notice.o === this.self || !notice.m) return;
        for (const listener of this.#listeners) listener(notice.m);
      },
    });
  }

  publish(message: BusMessage): void {
    if (this.nc.isClosed()) return;
    try {
      this.nc.publish(this.subject, JSON.stringify({ o: this.self, m: message }));
    } catch {
      // at most once: a notice that cannot go now is dropped
    }
  }

  subscribe(listener: (message: BusMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#sub?.unsubscribe();
  }
}

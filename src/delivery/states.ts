/**
 * What delivery keeps per subscription, in the engine's object store (kind `state`) so that every
 * instance sharing a log sees it: whether the subscription was paused through the API, and its
 * circuit. Changes are compare-and-swap writes; the store's watch keeps this view current, for this
 * process's writes and for other instances' alike.
 */
import { amebo, isAmeboError } from '../errors.js';
import type { ObjectStore } from '../log/contract.js';
import { CLOSED, type CircuitState } from './circuit.js';

/** One subscription's delivery state. */
export interface DeliveryState {
  /** Paused through the API (`amebo pause`); a `paused: true` in the config pauses it too. */
  readonly paused: boolean;
  readonly circuit: CircuitState;
}

const INITIAL: DeliveryState = Object.freeze({ paused: false, circuit: CLOSED });
const ATTEMPTS = 8;

/** Whether two states are equal (called after every attempt: a field compare, not two JSON strings). */
function same(a: DeliveryState, b: DeliveryState): boolean {
  if (a === b) return true;
  const x = a.circuit;
  const y = b.circuit;
  return a.paused === b.paused && x.state === y.state && x.failures === y.failures && (x.state === 'closed' || y.state === 'closed' || x.opened_at === y.opened_at);
}

export class DeliveryStates {
  readonly #states = new Map<string, { state: DeliveryState; revision: number }>();
  /** Per subscription, the tail of this process's updates: they run one after another. */
  readonly #updates = new Map<string, Promise<void>>();
  readonly #listeners = new Set<(subscription: string) => void>();
  #unwatch: (() => void) | null = null;

  private constructor(private readonly objects: ObjectStore) {}

  static async open(objects: ObjectStore): Promise<DeliveryStates> {
    const states = new DeliveryStates(objects);
    await states.#reload();
    states.#unwatch = objects.watch((c) => {
      if (c.kind !== 'state') return;
      if (c.value === null) states.#states.delete(c.name);
      else states.#states.set(c.name, { state: c.value as DeliveryState, revision: c.revision });
      for (const l of states.#listeners) l(c.name);
    });
    return states;
  }

  async #reload(): Promise<void> {
    for (const o of await this.objects.list()) if (o.kind === 'state') this.#states.set(o.name, { state: o.value as DeliveryState, revision: o.revision });
  }

  get(subscription: string): DeliveryState {
    return this.#states.get(subscription)?.state ?? INITIAL;
  }

  /** Calls `listener` with the subscription's name after each change to its state. */
  onChange(listener: (subscription: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Applies `change` to the current state and writes it if it differs; on a concurrent write (another
   * instance) it reads again and re-applies. Resolves with the state written (or left).
   *
   * This process's updates of one subscription run one after another, each from the state the last
   * one wrote: sixteen attempts failing at once count sixteen failures, instead of racing each other's
   * compare-and-swap and giving up after ATTEMPTS conflicts (which lost counts). `change` is a pure
   * function of the state: a change that changes nothing (a success on a closed circuit, after every
   * attempt) is seen at once, with no write and nothing queued.
   */
  update(subscription: string, change: (s: DeliveryState) => DeliveryState): Promise<DeliveryState> {
    if (!this.#updates.has(subscription)) {
      const current = this.get(subscription);
      if (same(change(current), current)) return Promise.resolve(current);
    }
    const run = (this.#updates.get(subscription) ?? Promise.resolve()).then(() => this.#update(subscription, change));
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#updates.set(subscription, tail);
    void tail.then(() => {
      if (this.#updates.get(subscription) === tail) this.#updates.delete(subscription);
    });
    return run;
  }

  async #update(subscription: string, change: (s: DeliveryState) => DeliveryState): Promise<DeliveryState> {
    for (let i = 0; i < ATTEMPTS; i++) {
      const held = this.#states.get(subscription);
      const current = held?.state ?? INITIAL;
      const next = change(current);
      if (same(next, current)) return current;
      try {
        const revision = await this.objects.put('state', subscription, next, held?.revision ?? null);
        // The watch may tell later (another engine's watch is asynchronous): the next update starts here.
        const now = this.#states.get(subscription);
        if (now === undefined || now.revision < revision) this.#states.set(subscription, { state: next, revision });
        return next;
      } catch (err) {
        if (!isAmeboError(err, 'AMEBO_ERR_CONFLICT')) throw err;
        await this.#reload();
      }
    }
    throw amebo('AMEBO_ERR_CONFLICT', `the delivery state of ${subscription} kept changing under this write; try again`);
  }

  close(): void {
    this.#unwatch?.();
  }
}

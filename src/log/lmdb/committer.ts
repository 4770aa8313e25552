/**
 * Group commit. Every write to the log goes through `commit(work)`.
 *
 * Under `durability: commit` the work of one event-loop turn is gathered and run in one synchronous
 * LMDB transaction at the end of the turn (the environment runs without fsync, so the commit is a few
 * page writes), and each caller's promise resolves after that commit. One transaction per turn instead
 * of one per request shares the fixed cost of a commit among the requests that arrived together, at
 * any load, and keeps LMDB's single writer on one thread.
 *
 * Under `durability: fsync` each piece of work is an lmdb-js asynchronous transaction (lmdb-js batches
 * those into shared commits itself), and the promise resolves once the commit is flushed to disk; its
 * overlapping sync keeps the file consistent through a power loss.
 */
import type { RootDatabase } from 'lmdb';
import { isFull, reserveError, storageError } from './storage-error.js';
import { RESERVE_BYTES, type FreeSpace } from './free-space.js';

interface Pending {
  readonly work: () => unknown;
  readonly committed: ((result: unknown) => void) | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** Work that runs at the start and at the end of every write transaction, inside it. */
export interface TransactionHooks {
  begin(): void;
  end(): void;
}

export class Committer {
  readonly #hooks: TransactionHooks[] = [];
  #queue: Pending[] = [];
  #scheduled = false;

  constructor(
    private readonly root: RootDatabase,
    private readonly durability: 'commit' | 'fsync',
    /** When given, work is refused (507) while the file system is below amebo's reserve. */
    private readonly space?: FreeSpace,
  ) {}

  /** Adds work to the start and end of every transaction (counters kept per transaction, say). */
  hook(hooks: TransactionHooks): void {
    this.#hooks.push(hooks);
  }

  /** Runs `work` between the hooks; inside a write transaction. */
  #within<T>(work: () => T): T {
    for (const h of this.#hooks) h.begin();
    const result = work();
    for (const h of this.#hooks) h.end();
    return result;
  }

  /** Resolves when everything committed so far is durable under the configured setting. */
  async durable(): Promise<void> {
    if (this.durability === 'fsync') await this.root.flushed;
  }

  /**
   * Runs `work` inside the next group transaction and resolves with its result once committed.
   * `work` reads and writes synchronously (`get`, `putSync`, `removeSync`) and sees the writes of the
   * work queued before it. `committed` runs with the result as soon as the transaction has committed,
   * before any caller's promise resolves (so before anything else can read the log).
   */
  commit<T>(work: () => T, committed?: (result: T) => void): Promise<T> {
    if (this.space?.low) return Promise.reject(reserveError(this.space.available, RESERVE_BYTES));
    if (this.durability === 'fsync') return this.#commitFlushed(work, committed);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, committed: committed as ((result: unknown) => void) | undefined, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  async #commitFlushed<T>(work: () => T, committed?: (result: T) => void): Promise<T> {
    try {
      const result = await this.root.transaction(() => this.#within(work));
      committed?.(result);
      await this.durable();
      return result;
    } catch (err) {
      throw await storageError(err);
    }
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const results: unknown[] = new Array(batch.length);
    try {
      this.root.transactionSync(() =>
        this.#within(() => {
          for (let i = 0; i < batch.length; i++) results[i] = batch[i]!.work();
        }),
      );
    } catch (err) {
      // A full disk fails every piece alike: reject them all at once rather than run each into it
      // again (a write failing with ENOSPC is where lmdb-js can corrupt its memory; free-space.ts).
      if (isFull(err)) {
        void storageError(err).then((e) => {
          for (const p of batch) p.reject(e);
        });
        return;
      }
      // One failing piece of work aborts the whole transaction: run each on its own, so only the
      // failing one is rejected.
      for (const p of batch) this.#alone(p);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.committed?.(results[i]);
    void this.#settle(batch, results);
  }

  #alone(p: Pending): void {
    let result: unknown;
    try {
      this.root.transactionSync(() => {
        result = this.#within(p.work);
      });
    } catch (err) {
      void storageError(err).then(p.reject);
      return;
    }
    p.committed?.(result);
    void this.#settle([p], [result]);
  }

  async #settle(batch: readonly Pending[], results: readonly unknown[]): Promise<void> {
    try {
      await this.durable();
    } catch (err) {
      const e = await storageError(err);
      for (const p of batch) p.reject(e);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]);
  }
}

/**
 * API objects in a JetStream KV bucket, shared by every instance. Writes are compare-and-swap on the
 * key's revision (create: the key must not exist; update and delete: its revision must be the one
 * read), so two instances changing one object cannot both win.
 *
 * Every instance keeps a mirror fed by one KV watch from the start (last values, then every change in
 * revision order): `list()` reads the mirror, listeners hear each change as it is applied, and a
 * write resolves only once the mirror has applied it, so the writer reads its own write at once and
 * the others within the watch's latency. A watch can silently stall when the server that hosts it
 * is lost (its consumer lives there): once a second the mirror compares its revision with the
 * bucket's, and when it has fallen behind and stays behind it starts a new watch from where it was.
 */
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/nats-core';
import { amebo } from '../../errors.js';
import type { ObjectChange, ObjectKind, ObjectStore, StoredObject } from '../contract.js';
import { call, type NatsContext } from './connection.js';
import { API, apiCode, isWrongLastSequence, retrying } from './failures.js';
import { objectKey, parseObjectKey } from './names.js';

const RECONCILE_MS = 1_000;

export class NatsObjectStore implements ObjectStore {
  #kv!: KV;
  readonly #mirror = new Map<string, StoredObject>();
  readonly #listeners = new Set<(change: ObjectChange) => void>();
  readonly #appliedWaiters = new Set<{ revision: number; resolve: () => void }>();
  #applied = 0;
  #watch: QueuedIterator<KvWatchEntry> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #behind = 0;
  #closed = false;

  constructor(private readonly ctx: NatsContext) {}

  /** The revision of the last change the mirror applied. */
  get revision(): number {
    return this.#applied;
  }

  /** Opens (or makes) the bucket and waits until the mirror holds everything in it. */
  async start(): Promise<void> {
    const { ctx } = this;
    const kvm = new Kvm(ctx.js);
    this.#kv = await retrying('opening the objects bucket', ctx.settings.publish_timeout_ms, () =>
      kvm.create(ctx.names.objects, { replicas: ctx.replicas, history: 1, description: 'amebo: applications, actions and subscriptions made through the API' }),
    );
    const last = (await call(ctx, 'the objects bucket', () => this.#kv.status())).streamInfo.state.last_seq;
    await this.#startWatch(0);
    await this.#appliedAt(last, ctx.settings.publish_timeout_ms);
    this.#timer = setInterval(() => void this.#reconcile().catch(() => undefined), RECONCILE_MS);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#watch?.stop();
    for (const w of this.#appliedWaiters) w.resolve();
  }

  async list(): Promise<StoredObject[]> {
    return [...this.#mirror.values()].sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind < b.kind ? -1 : 1));
  }

  async put(kind: ObjectKind, name: string, value: unknown, expected: number | null): Promise<number> {
    const key = objectKey(kind, name);
    const text = JSON.stringify(value);
    const revision = await this.#write(kind, name, expected, () => (expected === null ? this.#kv.create(key, text) : this.#kv.update(key, text, expected)));
    await this.#appliedAt(revision, this.ctx.settings.publish_timeout_ms);
    return revision;
  }

  async delete(kind: ObjectKind, name: string, expected: number): Promise<void> {
    const key = objectKey(kind, name);
    await this.#write(kind, name, expected, async () => {
      // Revisions start at 1; the client reads previousSeq 0 as "no expectation", so refuse it here.
      if (expected < 1) throw Object.assign(new Error('wrong last sequence: 0'), { name: 'ExpectedRevision' });
      await this.#kv.delete(key, { previousSeq: expected });
      return 0;
    });
    // A delete answers no revision: wait until the mirror has seen the key go.
    const deadline = Date.now() + this.ctx.settings.publish_timeout_ms;
    while (this.#mirror.has(key) && Date.now() < deadline) await this.#appliedAt(this.#applied + 1, deadline - Date.now());
  }

  watch(listener: (change: ObjectChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #write(kind: ObjectKind, name: string, expected: number | null, op: () => Promise<number>): Promise<number> {
    try {
      return await retrying('writing an API object', this.ctx.settings.publish_timeout_ms, op);
    } catch (err) {
      const code = apiCode(err);
      if (!isWrongLastSequence(err) && code !== API.wrongLastSequence && !/exists|wrong last/i.test(String((err as Error).message))) throw err;
      const have = this.#mirror.get(objectKey(kind, name))?.revision ?? null;
      throw amebo(
        'AMEBO_ERR_CONFLICT',
        expected === null ? `${kind} ${name} already exists` : have === null ? `${kind} ${name} does not exist (any more)` : `${kind} ${name} was changed meanwhile (revision ${have}); read it again`,
        { revision: have },
      );
    }
  }

  async #startWatch(from: number): Promise<void> {
    const watch = await retrying('watching the objects bucket', this.ctx.settings.publish_timeout_ms, () =>
      this.#kv.watch(from === 0 ? { key: '>' } : { key: '>', resumeFromRevision: from }),
    );
    this.#watch = watch;
    void (async () => {
      try {
        for await (const entry of watch) this.#apply(entry);
      } catch {
        // ended by a lost connection or consumer: the reconcile starts another
      }
      if (this.#watch === watch) this.#watch = null;
    })();
  }

  #apply(entry: KvWatchEntry): void {
    if (entry.revision <= this.#applied) return;
    this.#applied = entry.revision;
    const parsed = parseObjectKey(entry.key);
    if (parsed) {
      let value: unknown = null;
      if (entry.operation === 'PUT') {
        try {
          value = JSON.parse(entry.string());
        } catch {
          value = null;
        }
      }
      if (value === null) this.#mirror.delete(entry.key);
      else this.#mirror.set(entry.key, { kind: parsed.kind, name: parsed.name, value, revision: entry.revision });
      const change: ObjectChange = { kind: parsed.kind, name: parsed.name, value, revision: entry.revision };
      for (const listener of this.#listeners) {
        try {
          listener(change);
        } catch {
          // a listener's failure is its own
        }
      }
    }
    for (const w of this.#appliedWaiters) {
      if (w.revision <= this.#applied) {
        this.#appliedWaiters.delete(w);
        w.resolve();
      }
    }
  }

  /** Resolves once the mirror has applied `revision` (or after `ms`). */
  #appliedAt(revision: number, ms: number): Promise<void> {
    if (revision <= this.#applied || this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter = {
        revision,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#appliedWaiters.delete(waiter);
        resolve();
      }, Math.max(0, ms));
      timer.unref();
      this.#appliedWaiters.add(waiter);
    });
  }

  async #reconcile(): Promise<void> {
    if (this.#closed) return;
    const last = (await call(this.ctx, 'the objects bucket', () => this.#kv.status())).streamInfo.state.last_seq;
    if (last <= this.#applied && this.#watch) {
      this.#behind = 0;
      return;
    }
    // Behind twice in a row (or no watch at all): the watch is stalled or gone; start again from here.
    if (++this.#behind < 2 && this.#watch) return;
    this.#behind = 0;
    this.#watch?.stop();
    this.#watch = null;
    await this.#startWatch(this.#applied + 1);
  }
}

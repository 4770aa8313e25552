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
 *
 * The mirror can also be AHEAD of the bucket. A watch's consumer lives on one replica, and after a
 * leader change nats-server 2.9.10 was seen to keep a write on one replica that the new leader never
 * had (the chaos test: one replica at revision 648, the leader and the other at 647, for good). A
 * watch there hands out that write; every compare-and-swap made from it is then refused, for ever,
 * since nothing else writes the key. The leader's word is the one later writes build on, so: a
 * refused compare-and-swap re-reads the key from the leader and corrects the mirror before the caller
 * reads again, and a mirror whose revision stays above the bucket's is rebuilt from the leader.
 */
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/nats-core';
import type { StoredMsg } from '@nats-io/jetstream';
import { amebo } from '../../errors.js';
import type { ObjectChange, ObjectKind, ObjectStore, StoredObject } from '../contract.js';
import { call, getMessage, type NatsContext } from './connection.js';
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
  #ahead = 0;
  #reconciling: Promise<void> | null = null;
  #resyncing: Promise<void> | null = null;
  #closed = false;
  /** Times the mirror was corrected from the leader (a key, or all of it). */
  corrections = 0;

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
    this.#timer = setInterval(() => {
      // One at a time: a reconcile that waits on the cluster is not started again meanwhile.
      if (this.#reconciling) return;
      this.#reconciling = this.#reconcile()
        .catch(() => undefined)
        .finally(() => (this.#reconciling = null));
    }, RECONCILE_MS);
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
      // Refused: the caller reads the mirror again, so the mirror must hold what the leader holds.
      await this.#correct(objectKey(kind, name));
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
    // A key already read at this revision or later from the leader (#correct) keeps what it has.
    const held = this.#mirror.get(entry.key);
    if (!held || held.revision < entry.revision) this.#set(entry.key, entry.operation === 'PUT' ? parseValue(entry.string()) : null, entry.revision);
    this.#wake();
  }

  /** Puts (or with null removes) one key of the mirror, and tells the listeners. */
  #set(key: string, value: unknown, revision: number): void {
    const parsed = parseObjectKey(key);
    if (!parsed) return;
    if (value === null) this.#mirror.delete(key);
    else this.#mirror.set(key, { kind: parsed.kind, name: parsed.name, value, revision });
    const change: ObjectChange = { kind: parsed.kind, name: parsed.name, value, revision };
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** The subject of a key in the bucket's stream. */
  #subject(key: string): string {
    return `$KV.${this.ctx.names.objects}.${key}`;
  }

  /** A key as the leader holds it: its value (null: none, or deleted) and revision (0: never written). */
  async #read(key: string): Promise<{ value: unknown; revision: number }> {
    const m = await getMessage(this.ctx, `KV_${this.ctx.names.objects}`, { last_by_subj: this.#subject(key) });
    return m ? { value: storedValue(m), revision: m.seq } : { value: null, revision: 0 };
  }

  /**
   * Makes the mirror's entry for `key` the leader's, when they differ. A mirror that holds a later
   * revision than the leader holds a write the leader never had, and its revision (which decides what
   * the watch applies) is wrong too: then all of it is rebuilt.
   */
  async #correct(key: string): Promise<void> {
    const leader = await this.#read(key).catch(() => null);
    if (!leader) return;
    const held = this.#mirror.get(key);
    if (held && held.revision > leader.revision) return this.resync().catch(() => undefined);
    const same = held ? held.revision === leader.revision && leader.value !== null : leader.value === null;
    if (same) return;
    this.corrections++;
    this.#set(key, leader.value, leader.revision);
  }

  /**
   * Rebuilds the whole mirror from the leader, once its revision has stayed above the bucket's:
   * every key read from the stream's leader, each difference told to the listeners, and a new watch
   * from the bucket's last revision on.
   */
  resync(): Promise<void> {
    this.#resyncing ??= this.#resync().finally(() => (this.#resyncing = null));
    return this.#resyncing;
  }

  async #resync(): Promise<void> {
    const stream = `KV_${this.ctx.names.objects}`;
    const last = (await call(this.ctx, 'the objects bucket', () => this.#kv.status())).streamInfo.state.last_seq;
    this.#watch?.stop();
    this.#watch = null;
    const prefix = this.#subject('');
    const leader = new Map<string, { value: unknown; revision: number }>();
    for (let seq = 1; ; ) {
      const m = await getMessage(this.ctx, stream, { seq, next_by_subj: `${prefix}>` });
      if (!m) break;
      leader.set(m.subject.slice(prefix.length), { value: storedValue(m), revision: m.seq });
      seq = m.seq + 1;
    }
    for (const key of [...this.#mirror.keys()]) if (!leader.has(key)) this.#set(key, null, last);
    for (const [key, { value, revision }] of leader) {
      const held = this.#mirror.get(key);
      if (value === null ? held !== undefined : held?.revision !== revision) this.#set(key, value, revision);
    }
    this.corrections++;
    let applied = last;
    for (const v of leader.values()) applied = Math.max(applied, v.revision);
    this.#applied = applied;
    await this.#startWatch(this.#applied + 1);
    this.#wake();
  }

  #wake(): void {
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
    // Above the bucket twice in a row: the mirror holds a write the leader does not have.
    if (last < this.#applied) {
      this.#behind = 0;
      if (++this.#ahead >= 2) {
        this.#ahead = 0;
        await this.resync();
      }
      return;
    }
    this.#ahead = 0;
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

/** An object's stored JSON; null for anything that is not (a delete, or a value not written by amebo). */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** The object a message of the bucket's stream holds; null for a delete or purge marker. */
function storedValue(m: StoredMsg): unknown {
  const op = m.header?.get('KV-Operation');
  return op === 'DEL' || op === 'PURGE' ? null : parseValue(m.string());
}

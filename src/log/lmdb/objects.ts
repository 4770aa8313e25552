/**
 * API-created objects in the LMDB engine, as JSON text with a revision (msgpack, lmdb-js's own
 * encoding, renames a key "__proto__", which a schema may name). Revisions come from one counter in
 * `meta`, so they increase across every object; a put or delete names the revision it expects and is
 * refused when another write came first. Watchers hear every change after its commit.
 */
import { amebo } from '../../errors.js';
import type { ObjectChange, ObjectKind, ObjectStore, StoredObject } from '../contract.js';
import type { Committer } from './committer.js';
import type { Env } from './env.js';

interface Row {
  readonly revision: number;
  readonly value: unknown;
}

const KINDS = new Set<string>(['application', 'action', 'subscription', 'state']);

function parse(text: string | Record<string, unknown>): Row {
  // Only format-1 rows were objects, and the migration to format 2 rewrote them all.
  return typeof text === 'string' ? (JSON.parse(text) as Row) : { revision: 0, value: text };
}

export class LmdbObjectStore implements ObjectStore {
  readonly #listeners = new Set<(change: ObjectChange) => void>();

  constructor(
    private readonly env: Env,
    private readonly committer: Committer,
  ) {}

  async list(): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    for (const { key, value } of this.env.objects.getRange()) {
      if (!KINDS.has(key[0])) continue;
      const row = parse(value);
      out.push({ kind: key[0] as ObjectKind, name: key[1], value: row.value, revision: row.revision });
    }
    return out;
  }

  async put(kind: ObjectKind, name: string, value: unknown, expected: number | null): Promise<number> {
    const revision = await this.#write(kind, name, expected, value);
    this.#emit({ kind, name, value, revision });
    return revision;
  }

  async delete(kind: ObjectKind, name: string, expected: number): Promise<void> {
    const revision = await this.#write(kind, name, expected, undefined);
    this.#emit({ kind, name, value: null, revision });
  }

  watch(listener: (change: ObjectChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #write(kind: ObjectKind, name: string, expected: number | null, value: unknown): Promise<number> {
    const { env } = this;
    const result = await this.committer.commit(() => {
      const current = env.objects.get([kind, name]);
      const have = current === undefined ? null : parse(current).revision;
      if (have !== expected) return { conflict: have } as const;
      const revision = (Number(env.meta.get('objects_revision')) || 0) + 1;
      env.meta.putSync('objects_revision', revision);
      if (value === undefined) env.objects.removeSync([kind, name]);
      else env.objects.putSync([kind, name], JSON.stringify({ revision, value }));
      return { revision } as const;
    });
    if ('conflict' in result) {
      throw amebo(
        'AMEBO_ERR_CONFLICT',
        result.conflict === null ? `${kind} ${name} does not exist (any more)` : expected === null ? `${kind} ${name} already exists` : `${kind} ${name} was changed meanwhile (revision ${result.conflict}); read it again`,
        { revision: result.conflict },
      );
    }
    return result.revision;
  }

  #emit(change: ObjectChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

/**
 * The layering the storage contract promises: only an engine's own folder under src/log/ imports its
 * storage driver (lmdb, the NATS client), so the core, delivery, config and API reach storage through
 * src/log/contract.ts alone. Import cycles are kept out by `npm run cycles` (madge) before the tests.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');
const DRIVERS = /from '(lmdb|@nats-io\/[a-z-]+|nats)'|import\('(lmdb|@nats-io\/[a-z-]+|nats)'\)/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

describe('layering', () => {
  it('keeps storage drivers inside their engine folders', () => {
    const leaks = files(SRC)
      .map((f) => relative(SRC, f))
      .filter((f) => DRIVERS.test(readFileSync(join(SRC, f), 'utf8')))
      .filter((f) => !/^log\/(lmdb|nats)\//.test(f));
    expect(leaks).toEqual([]);
    // A positive control: the LMDB engine does import its driver.
    expect(files(join(SRC, 'log/lmdb')).some((f) => DRIVERS.test(readFileSync(f, 'utf8')))).toBe(true);
  });

  it('keeps row types of an engine inside it', () => {
    const leaks = files(SRC)
      .map((f) => relative(SRC, f))
      .filter((f) => !f.startsWith('log/lmdb/'))
      .filter((f) => /from '.*lmdb\/(rows|env)\.js'/.test(readFileSync(join(SRC, f), 'utf8')));
    expect(leaks).toEqual([]);
  });
});

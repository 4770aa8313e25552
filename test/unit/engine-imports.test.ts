/**
 * Storage drivers stay inside their engines: only src/log/lmdb/ imports lmdb, only src/log/nats/
 * imports the NATS client. Everything else reaches storage through the contract (src/log/contract.ts).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.(ts|tsx)$/.test(name) ? [path] : [];
  });
}

const DRIVERS: ReadonlyArray<{ pattern: RegExp; home: string }> = [
  { pattern: /from\s+['"]lmdb['"]|import\(\s*['"]lmdb['"]\s*\)/, home: 'log/lmdb/' },
  { pattern: /from\s+['"](@nats-io\/[^'"]+|nats)['"]|import\(\s*['"](@nats-io\/[^'"]+|nats)['"]\s*\)/, home: 'log/nats/' },
];

describe('storage drivers', () => {
  it('are imported only by their engine folders', () => {
    const offenders: string[] = [];
    const homes = new Map<string, number>();
    for (const file of files(SRC)) {
      const rel = relative(SRC, file);
      const text = readFileSync(file, 'utf8');
      for (const { pattern, home } of DRIVERS) {
        if (!pattern.test(text)) continue;
        if (rel.startsWith(home)) homes.set(home, (homes.get(home) ?? 0) + 1);
        else offenders.push(`${rel} imports a driver that belongs in src/${home}`);
      }
    }
    expect(offenders).toEqual([]);
    // The check finds what it looks for: each engine does import its driver.
    expect(homes.get('log/lmdb/')).toBeGreaterThan(0);
    expect(homes.get('log/nats/')).toBeGreaterThan(0);
  });
});

/**
 * The delivery state kept per subscription (pause and circuit) in the engine's object store: updates
 * from one process are applied one after another, so none is lost to a compare-and-swap race.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbEngine } from '../../src/log/lmdb/index.js';
import { DeliveryStates } from '../../src/delivery/states.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

let engine: LmdbEngine | null = null;
afterEach(async () => {
  await engine?.close();
  engine = null;
  cleanupTmp();
});

describe('delivery states', () => {
  it('counts every one of many attempts failing at once (no update lost to a conflict)', async () => {
    engine = new LmdbEngine({ dataDir: tmpDir(), durability: 'commit', mapSizeBytes: 64 * 1024 * 1024, clock: new FakeClock() });
    await engine.start();
    const states = await DeliveryStates.open(engine.objects);
    const fail = (s: { paused: boolean; circuit: { state: 'closed' | 'open'; failures: number } }) => ({ ...s, circuit: { state: 'closed' as const, failures: s.circuit.failures + 1 } });
    const results = await Promise.allSettled(Array.from({ length: 24 }, () => states.update('s', fail as never)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(states.get('s').circuit.failures).toBe(24);
    // Another subscription is its own line, and the store holds what this process sees.
    await states.update('t', fail as never);
    const stored = (await engine.objects.list()).filter((o) => o.kind === 'state').map((o) => [o.name, (o.value as { circuit: { failures: number } }).circuit.failures]);
    expect(stored.sort()).toEqual([
      ['s', 24],
      ['t', 1],
    ]);
    states.close();
  });
});

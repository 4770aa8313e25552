/**
 * The engines the contract suite runs against. Each entry opens a fresh log, and can open the same
 * log again (a restart). LMDB runs on a real LMDB file in a temp dir; a distributed engine adds an
 * entry here and the whole suite runs against it too.
 */
import type { Clock } from '../../src/types.js';
import type { LogEngine } from '../../src/log/contract.js';
import { LmdbEngine } from '../../src/log/lmdb/index.js';
import { tmpDir } from '../helpers/tmp.js';

export interface EngineUnderTest {
  readonly name: string;
  /** A fresh, started engine and a function that opens the same log again. */
  open(clock: Clock): Promise<{ engine: LogEngine; reopen: () => Promise<LogEngine> }>;
}

export const ENGINES: readonly EngineUnderTest[] = [
  {
    name: 'lmdb',
    async open(clock) {
      const dataDir = tmpDir();
      const make = async () => {
        const engine = new LmdbEngine({ dataDir, durability: 'commit', mapSizeBytes: 64 * 1024 * 1024, clock });
        await engine.start();
        return engine;
      };
      return { engine: await make(), reopen: make };
    },
  },
];

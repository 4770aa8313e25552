/**
 * Keeps LMDB away from a full file system. A write transaction that fails with ENOSPC can leave
 * lmdb-js's native memory corrupt (measured: a glibc "double free or corruption" abort of the daemon
 * in about one run of six of test/reliability/disk-full.test.ts; see also kriszyp/lmdb-js#40), so
 * amebo refuses to write while the data dir's file system has less than RESERVE_BYTES available, and
 * in normal operation LMDB never sees the disk fill up. The reserve covers what can be written
 * between two checks many times over: at 130 MB/s, 100 ms is 13 MB.
 */
import { statfsSync } from 'node:fs';

export const RESERVE_BYTES = 32 * 1024 * 1024;
/** File-system statistics are read at most this often (real time: this paces a syscall, not policy). */
const CHECK_EVERY_MS = 100;

export class FreeSpace {
  #checkedAt = -Infinity;
  #available = Infinity;

  constructor(private readonly dir: string) {}

  /** Bytes an unprivileged writer may still use on the data dir's file system (Infinity if unknown). */
  get available(): number {
    const now = performance.now();
    if (now - this.#checkedAt >= CHECK_EVERY_MS) {
      this.#checkedAt = now;
      try {
        const s = statfsSync(this.dir);
        this.#available = s.bavail * s.bsize;
      } catch {
        this.#available = Infinity;
      }
    }
    return this.#available;
  }

  /** True while less than the reserve is available: writes are refused before LMDB attempts them. */
  get low(): boolean {
    return this.available < RESERVE_BYTES;
  }
}

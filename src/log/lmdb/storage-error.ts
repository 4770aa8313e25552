/** Maps LMDB and file-system write failures to registry errors. */
import { amebo, isAmeboError } from '../../errors.js';

/** errno values that mean the disk (or quota) is full, or the write failed at the device. */
const FULL_ERRNO = new Set([28 /* ENOSPC */, 122 /* EDQUOT */, 5 /* EIO: what a full tmpfs or a failing disk returns */]);

/**
 * Maps LMDB and file-system failures to registry errors; a full disk or map becomes 507. lmdb-js
 * reports a failed commit as "Commit failed" with the real cause in a `commitError` promise.
 */
/** Whether a failure thrown by a synchronous LMDB transaction is the disk (or map) being full. */
export function isFull(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string } | null;
  if (!e) return false;
  return (typeof e.code === 'number' && FULL_ERRNO.has(e.code)) || FULL_TEXT.test(`${String(e.code ?? '')} ${e.message ?? ''}`);
}

const FULL_TEXT = /MDB_MAP_FULL|ENOSPC|EDQUOT|No space left|Input\/output error|MDB_TXN_FULL/i;

/** The 507 of a write refused because the file system is below amebo's reserve (free-space.ts). */
export function reserveError(availableBytes: number, reserveBytes: number) {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return amebo(
    'AMEBO_ERR_STORAGE_FULL',
    `storage is full: ${mib(availableBytes)} is left on the data dir's file system, less than the ${mib(reserveBytes)} amebo keeps free so that the log is never written into a full disk; free disk space under the data dir. Nothing was stored.`,
  );
}

export async function storageError(err: unknown): Promise<Error> {
  if (isAmeboError(err)) return err;
  let cause: unknown = err;
  const commitError = (err as { commitError?: Promise<unknown> }).commitError;
  if (commitError && typeof commitError.then === 'function') {
    try {
      await commitError;
    } catch (inner) {
      cause = inner;
    }
  }
  const e = cause as { code?: unknown; message?: string };
  const text = `${String(e.code ?? '')} ${e.message ?? ''}`;
  if ((typeof e.code === 'number' && FULL_ERRNO.has(e.code)) || FULL_TEXT.test(text)) {
    return amebo(
      'AMEBO_ERR_STORAGE_FULL',
      `storage is full: the event log cannot be written (${e.message ?? 'no space'}); free disk space under the data dir. Nothing was stored.`,
      undefined,
      cause,
    );
  }
  return amebo('AMEBO_ERR_INTERNAL', 'the event log could not be written; nothing was stored', undefined, cause);
}

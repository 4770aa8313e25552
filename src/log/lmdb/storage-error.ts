/** Maps LMDB and file-system write failures to registry errors. */
import { amebo, isAmeboError } from '../../errors.js';

/** errno values that mean the disk (or quota) is full, or the write failed at the device. */
const FULL_ERRNO = new Set([28 /* ENOSPC */, 122 /* EDQUOT */, 5 /* EIO: what a full tmpfs or a failing disk returns */]);

/**
 * Maps LMDB and file-system failures to registry errors; a full disk or map becomes 507. lmdb-js
 * reports a failed commit as "Commit failed" with the real cause in a `commitError` promise.
 */
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
  if ((typeof e.code === 'number' && FULL_ERRNO.has(e.code)) || /MDB_MAP_FULL|ENOSPC|EDQUOT|No space left|Input\/output error|MDB_TXN_FULL/i.test(text)) {
    return amebo(
      'AMEBO_ERR_STORAGE_FULL',
      `storage is full: the event log cannot be written (${e.message ?? 'no space'}); free disk space under the data dir. Nothing was stored.`,
      undefined,
      cause,
    );
  }
  return amebo('AMEBO_ERR_INTERNAL', 'the event log could not be written; nothing was stored', undefined, cause);
}

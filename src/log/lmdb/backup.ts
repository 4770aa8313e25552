/**
 * `amebo backup`: a consistent copy of a live LMDB log, taken with LMDB's own copy (compacting: free
 * pages are left out) in a read transaction, so the daemon keeps writing meanwhile and the copy is
 * the log exactly as one commit left it. The copy is a complete log file: restore it by putting it at
 * `<data dir>/log.mdb` of a stopped (or new) daemon.
 */
import { chmodSync, existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { open } from 'lmdb';
import { amebo } from '../../errors.js';
import { LOG_FILE, FORMAT_VERSION, looksLikeLmdb } from './env.js';

export interface BackupResult {
  readonly file: string;
  readonly bytes: number;
  readonly format: number;
}

export async function backupLmdb(dataDir: string, file: string): Promise<BackupResult> {
  const logPath = join(dataDir, LOG_FILE);
  if (!existsSync(logPath)) throw amebo('AMEBO_ERR_DATA_DIR', `${dataDir} holds no amebo log (${LOG_FILE} is missing)`);
  if (existsSync(file)) throw amebo('AMEBO_ERR_DATA_DIR', `${file} already exists; amebo backup never overwrites a file`);
  // Only amebo's own logs: lmdb-js would crash on a file that is not LMDB at all.
  if (!looksLikeLmdb(logPath)) throw amebo('AMEBO_ERR_DATA_DIR', `${logPath} is not an amebo log (not an LMDB file)`);
  const root = open({ path: logPath, readOnly: true, maxDbs: 16 });
  try {
    const format = root.openDB<unknown, string>({ name: 'meta' }).get('format');
    if (typeof format !== 'number') throw amebo('AMEBO_ERR_DATA_DIR', `${logPath} is not an amebo log (no format marker)`);
    if (format > FORMAT_VERSION) throw amebo('AMEBO_ERR_DATA_DIR', `${logPath} was written by a newer amebo (log format ${format}); use that amebo's backup`);
    // Written in a private directory next to the target (the log holds application secrets), made
    // owner-only, then renamed: a failed copy never leaves a truncated backup behind.
    let work: string;
    try {
      work = mkdtempSync(join(dirname(file), `.${basename(file)}.`));
    } catch (err) {
      throw amebo('AMEBO_ERR_DATA_DIR', `the backup could not be written to ${file}: ${(err as Error).message}`, undefined, err);
    }
    const partial = join(work, 'log.mdb');
    try {
      await root.backup(partial, true);
      chmodSync(partial, 0o600);
      renameSync(partial, file);
    } catch (err) {
      throw amebo('AMEBO_ERR_DATA_DIR', `the backup could not be written to ${file}: ${(err as Error).message}`, undefined, err);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return { file, bytes: statSync(file).size, format };
  } finally {
    await root.close();
  }
}

/**
 * `amebo backup --data DIR FILE`: a consistent copy of a live log, taken while `serve` runs (LMDB's
 * own copy, in one read transaction, compacted). It reads the data dir directly: the daemon keeps
 * writing, and the copy is the log exactly as one commit left it.
 */
import { resolve } from 'node:path';
import { backup } from '../../log/engine.js';

export default async function backupVerb(file: string, opts: { data: string }): Promise<number> {
  const started = performance.now();
  const result = await backup(resolve(opts.data), resolve(file));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`${result.file}: ${(result.bytes / 1048576).toFixed(1)} MiB in ${seconds} s\n`);
  process.stdout.write(`restore: stop amebo, then put the file at <data dir>/log.mdb (see the README, "Backup and restore")\n`);
  return 0;
}

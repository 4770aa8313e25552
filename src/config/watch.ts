/**
 * Hot reload: chokidar watches the config file and every schema file it references. Editors save by
 * renaming a temp file and git writes many files, so changes are debounced until writes settle, then
 * the whole file goes through the pipeline again and is swapped in only if valid.
 */
import chokidar, { type FSWatcher } from 'chokidar';
import type { Core } from '../amebo.js';

/** How long writes must settle before a reload. */
export const DEBOUNCE_MS = 250;

export interface ConfigWatcher {
  close(): Promise<void>;
}

export function watchConfig(core: Core): ConfigWatcher {
  const file = core.registry.snapshot.config.file;
  if (file === null) return { close: async () => undefined };
  let watched = new Set(core.registry.snapshot.config.watch.length > 0 ? core.registry.snapshot.config.watch : [file]);
  const watcher: FSWatcher = chokidar.watch([...watched], {
    ignoreInitial: true,
    // Rename-style saves replace the inode; polling-free watching with atomic handling covers them.
    atomic: true,
    awaitWriteFinish: false,
  });
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const reload = () => {
    running = running.then(async () => {
      if (closed) return;
      const result = await core.reload();
      if (!result.ok) return;
      // Follow schema files added or dropped by the new config.
      const next = new Set(result.config.watch.length > 0 ? result.config.watch : [file]);
      const add = [...next].filter((p) => !watched.has(p));
      const remove = [...watched].filter((p) => !next.has(p));
      if (add.length > 0) watcher.add(add);
      if (remove.length > 0) await watcher.unwatch(remove);
      watched = next;
    });
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      reload();
    }, DEBOUNCE_MS);
  };
  watcher.on('add', schedule).on('change', schedule).on('unlink', schedule);
  watcher.on('error', (err) => core.logger.error({ err }, 'config watcher error'));
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await watcher.close();
      await running;
    },
  };
}

/**
 * Hot reload: chokidar watches the config file and every schema file it references. Editors save by
 * renaming a temp file over the original and git writes many files at once, so the watcher follows the
 * files' directories (a rename replaces the inode a file watch would be tied to) and debounces until
 * the writes settle. Then the whole file goes through the pipeline again and is swapped in only if
 * valid. SIGHUP forces the same reload.
 */
import { dirname, resolve } from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import type { Registry } from './registry.js';

/** What the watcher needs of the core: the config in force, a way to reload it, and the log. */
export interface Reloadable {
  readonly registry: Pick<Registry, 'snapshot'>;
  readonly logger: Logger;
  reload(): Promise<{ readonly ok: boolean }>;
}

/** How long writes must settle before a reload. */
export const DEBOUNCE_MS = 250;

export interface ConfigWatcher {
  /** Resolves once the initial scan is done and changes are being seen. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

function watchedFiles(core: Reloadable): Set<string> {
  const config = core.registry.snapshot.config;
  return new Set([config.file!, ...config.watch].map((p) => resolve(p)));
}

export function watchConfig(core: Reloadable): ConfigWatcher {
  if (core.registry.snapshot.config.file === null) return { ready: Promise.resolve(), close: async () => undefined };
  let files = watchedFiles(core);
  let dirs = new Set([...files].map((f) => dirname(f)));
  const watcher: FSWatcher = chokidar.watch([...dirs], {
    ignoreInitial: true,
    depth: 0,
    // Only the files that matter; temp files of editors and git come and go unseen.
    ignored: (path: string, stats?: { isFile(): boolean }) => stats?.isFile() === true && !files.has(resolve(path)),
  });
  const ready = new Promise<void>((done) => watcher.once('ready', () => done()));
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const reload = () => {
    running = running.then(async () => {
      if (closed) return;
      const result = await core.reload().catch((err: unknown) => {
        core.logger.error({ err }, 'config reload failed; the last good config stays in force');
        return null;
      });
      if (result === null) return;
      if (!result.ok) return;
      // Follow schema files added or dropped by the new config.
      files = watchedFiles(core);
      const next = new Set([...files].map((f) => dirname(f)));
      const add = [...next].filter((d) => !dirs.has(d));
      const remove = [...dirs].filter((d) => !next.has(d));
      if (add.length > 0) watcher.add(add);
      if (remove.length > 0) await watcher.unwatch(remove);
      dirs = next;
    });
  };
  const onEvent = (path: string) => {
    if (!files.has(resolve(path))) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      reload();
    }, DEBOUNCE_MS);
  };
  watcher.on('add', onEvent).on('change', onEvent).on('unlink', onEvent);
  watcher.on('error', (err) => core.logger.error({ err }, 'config watcher error'));
  return {
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await watcher.close();
      await running;
    },
  };
}

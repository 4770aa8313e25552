/** `amebo serve`: the daemon. */
import type { Command } from 'commander';
import { createAmebo } from '../../amebo.js';
import { createHttpServer } from '../../api/server.js';
import { guardStorageRejections, runUntilSignal } from '../../runtime/lifecycle.js';
import { watchConfig } from '../../config/watch.js';

interface ServeOptions {
  config: string;
  data?: string;
  listen?: string;
  log?: string;
}

export default async function serve(opts: ServeOptions, cmd: Command): Promise<number> {
  // The default amebo.yaml may be absent (API-only use, as in Amebo's own examples); a named file may not.
  const explicit = cmd.getOptionValueSource('config') !== 'default';
  const core = await createAmebo({ configFile: opts.config, configOptional: !explicit, listen: opts.listen, data: opts.data, log: opts.log });
  const http = createHttpServer(core);
  let address: { url: string };
  try {
    address = await http.listen();
  } catch (err) {
    await core.close();
    throw err;
  }
  const unguard = guardStorageRejections(core.logger);
  const watcher = watchConfig(core);
  await watcher.ready;
  core.logger.info({ url: address.url, config: core.registry.snapshot.config.file }, `amebo listening on ${address.url}`);
  return runUntilSignal({
    logger: core.logger,
    reload: () => core.reload(),
    async shutdown() {
      await watcher.close();
      await http.close();
      await core.close();
      unguard();
    },
  });
}

/** `amebo check`: validate the config and every schema in it, without starting anything. */
import { loadConfig } from '../../config/load.js';
import { SchemaCompiler } from '../../schema/compile.js';

export default async function check(opts: { config: string }): Promise<number> {
  const result = await loadConfig(opts.config, { compiler: new SchemaCompiler() });
  if (!result.ok) {
    for (const e of result.errors) process.stderr.write(`${e}\n`);
    process.stderr.write(`${opts.config}: ${result.errors.length} problem${result.errors.length === 1 ? '' : 's'}\n`);
    return 1;
  }
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  const c = result.config;
  const log = c.server.log.engine === 'nats' ? `log on NATS JetStream at ${c.server.log.servers.join(',')}, prefix ${c.server.log.prefix}` : `log in LMDB at ${c.server.data}`;
  process.stdout.write(
    `${opts.config}: ok (${c.applications.length} applications, ${c.actions.length} actions, ${c.subscriptions.length} subscriptions); ${log}\n`,
  );
  return 0;
}

/**
 * `amebo check`: validate the config and every schema in it, without starting anything. With `--diff`,
 * also say what a reload of the file would do to the running daemon, for review in the config repo's
 * pull requests.
 */
import { loadConfig } from '../../config/load.js';
import { SchemaCompiler } from '../../schema/compile.js';
import type { ClientOptions } from '../client-options.js';
import { io, out } from '../../format/io.js';
import { withClient } from './shared.js';

export interface CheckOptions extends ClientOptions {
  readonly config: string;
  readonly diff?: boolean | undefined;
}

export default async function check(opts: CheckOptions): Promise<number> {
  const result = await loadConfig(opts.config, { compiler: new SchemaCompiler() });
  const { stderr } = io();
  if (!result.ok) {
    for (const e of result.errors) stderr.write(`${e}\n`);
    stderr.write(`${opts.config}: ${result.errors.length} problem${result.errors.length === 1 ? '' : 's'}\n`);
    return 1;
  }
  for (const w of result.warnings) stderr.write(`warning: ${w}\n`);
  const c = result.config;
  const counts = `${c.applications.length} applications, ${c.actions.length} actions, ${c.subscriptions.length} subscriptions`;
  const log = c.server.log.engine === 'nats' ? `log on NATS JetStream at ${c.server.log.servers.join(',')}, prefix ${c.server.log.prefix}` : `log in LMDB at ${c.server.data}`;
  if (!opts.diff) {
    await out(`${opts.config}: ok (${counts}); ${log}\n`);
    return 0;
  }

  return withClient(opts, async (client) => {
    const [applications, actions, subscriptions, health] = await Promise.all([client.getApplications(), client.getActions(), client.getSubscriptions(), client.health()]);
    const backlog = ((health['log'] as { backlog_by_subscription?: Record<string, number> } | undefined)?.backlog_by_subscription ?? {}) as Record<string, number>;
    const { describeDiff } = await import('./check-diff.js');
    const diff = describeDiff(c, { applications, actions, subscriptions, backlog });
    if (opts.json) {
      await out(`${JSON.stringify({ config: opts.config, daemon: client.baseUrl, ...diff })}\n`);
      return diff.refused.length > 0 ? 1 : 0;
    }
    for (const line of diff.refused) stderr.write(`${line}\n`);
    if (diff.refused.length > 0) {
      stderr.write(`${opts.config}: the daemon at ${client.baseUrl} would refuse this reload (${diff.refused.length} problem${diff.refused.length === 1 ? '' : 's'})\n`);
      return 1;
    }
    if (diff.changes.length === 0) {
      await out(`${opts.config}: ok (${counts}); no change to the daemon at ${client.baseUrl}\n`);
      return 0;
    }
    await out(`${opts.config}: ok (${counts}); a reload of the daemon at ${client.baseUrl}:\n${diff.changes.map((l) => `  ${l}\n`).join('')}`);
    return 0;
  });
}

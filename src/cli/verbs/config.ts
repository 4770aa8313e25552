/** `amebo config export`: print the daemon's effective config as YAML, ready to commit. */
import { stringify } from 'yaml';
import type { ClientOptions } from '../client-options.js';
import { withClient } from './shared.js';

export async function exportConfigVerb(opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const res = await client.http.send('GET', '/v1/config');
    const config = (res.body as { data: unknown }).data;
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(
      `# yaml-language-server: $schema=./config/amebo.schema.json\n` +
        `# Exported from ${client.baseUrl} on ${new Date().toISOString()}.\n` +
        `# Secrets are not exported: set each \${..._SECRET} variable in the daemon's environment.\n` +
        stringify(config, { lineWidth: 120 }),
    );
    return 0;
  });
}

/** `GET /v1/config` and `amebo config export`: file and API objects as amebo.yaml, no secrets. */
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { yaml } from '../helpers/config.js';
import { run } from '../../src/cli/program.js';
import { loadConfig } from '../../src/config/load.js';
import { SchemaCompiler } from '../../src/schema/compile.js';

let daemon: TestDaemon | undefined;
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  cleanupTmp();
});

describe('config export', () => {
  it('prints the effective config as YAML that loads again, with secrets as env references', async () => {
    daemon = await startDaemon({ yaml: yaml({ subscriptions: { s: { handler: 'http://127.0.0.1:9/h', extra: 'max_retries: 9' } } }) });
    await daemon.request('POST', '/v1/applications', { application: 'api-app', address: 'http://api.example', secret: 'api-app-secret-1' });
    await daemon.request('POST', '/v1/actions', { action: 'api.thing', application: 'api-app', schemata: { type: 'object' } });
    await daemon.request('POST', '/v1/subscriptions', { application: 'api-app', action: 'order.placed', handler: '/in' });

    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      out += chunk;
      return true;
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await run(['node', 'amebo', 'config', 'export', '--url', daemon.url]);
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(0);
    for (const secret of ['api-app-secret-1', 'shop-secret-123', 'sink-secret-123']) expect(out).not.toContain(secret);
    const exported = parse(out) as Record<string, Record<string, Record<string, unknown>>>;
    expect(exported['applications']!['api-app']).toEqual({ address: 'http://api.example', secret: '${API_APP_SECRET}' });
    expect(exported['subscriptions']!['s']!['max_retries']).toBe(9);
    expect(exported['subscriptions']!['api-app.order.placed']).toMatchObject({ application: 'api-app', handler: '/in' });

    // It loads back through the pipeline once the secrets are in the environment.
    const file = join(daemon.dir, 'exported.yaml');
    writeFileSync(file, out);
    const loaded = await loadConfig(file, { compiler: new SchemaCompiler(), env: { API_APP_SECRET: 'x'.repeat(12), SHOP_SECRET: 'y'.repeat(12), SINK_SECRET: 'z'.repeat(12) } });
    expect(loaded.ok ? [] : loaded.errors).toEqual([]);
  });
});

/** `server.log` and `server.nats`: which engine holds the log, checked like every other key. */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { SchemaCompiler } from '../../src/schema/compile.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

afterEach(() => cleanupTmp());

async function load(text: string, log?: string, env: NodeJS.ProcessEnv = {}) {
  const dir = tmpDir();
  writeFileSync(join(dir, 'amebo.yaml'), text);
  return loadConfig(join(dir, 'amebo.yaml'), { compiler: new SchemaCompiler(), env, log });
}

describe('server.log', () => {
  it('is lmdb by default', async () => {
    const r = await load('server: {}\n');
    expect(r.ok && r.config.server.log).toEqual({ engine: 'lmdb' });
  });

  it('reads a NATS cluster with its settings and defaults, paths relative to the file', async () => {
    const r = await load(
      'server:\n  log: nats://10.0.0.1:4222, nats://10.0.0.2:4222,nats://10.0.0.3:4222\n  nats:\n    prefix: shop\n    password: ${NATS_PASSWORD}\n    user: amebo\n    creds: creds/amebo.creds\n    publish_timeout: 15s\n    max_pending: 5000\n',
      undefined,
      { NATS_PASSWORD: 'pw-from-env' },
    );
    if (!r.ok) throw new Error(r.errors.join('\n'));
    const log = r.config.server.log;
    expect(log).toMatchObject({
      engine: 'nats',
      servers: ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222', 'nats://10.0.0.3:4222'],
      prefix: 'shop',
      replicas: null,
      user: 'amebo',
      password: 'pw-from-env',
      publish_timeout_ms: 15_000,
      request_timeout_ms: 5_000,
      ack_wait_ms: 30_000,
      max_pending: 5000,
      tls: null,
    });
    expect(log.engine === 'nats' && log.creds).toMatch(/\/creds\/amebo\.creds$/);
  });

  it('lets --log override the file, both ways', async () => {
    const toNats = await load('server:\n  log: lmdb\n', 'nats://127.0.0.1:4222');
    expect(toNats.ok && toNats.config.server.log.engine).toBe('nats');
    const toLmdb = await load('server:\n  log: nats://127.0.0.1:4222\n', 'lmdb');
    expect(toLmdb.ok && toLmdb.config.server.log).toEqual({ engine: 'lmdb' });
  });

  it('rejects what is neither lmdb nor NATS URLs, unknown nats keys and impossible replicas', async () => {
    const bad = await load('server:\n  log: postgres://db\n');
    expect(!bad.ok && bad.errors.join('\n')).toMatch(/^server\.log: /m);
    const flag = await load('server: {}\n', 'nats://a:1,http://b');
    expect(!flag.ok && flag.errors.join('\n')).toMatch(/^--log: "nats:\/\/a:1,http:\/\/b" is neither lmdb nor a list of nats:\/\/HOST:PORT URLs$/m);
    const key = await load('server:\n  log: nats://a:4222\n  nats:\n    replica: 3\n');
    expect(!key.ok && key.errors).toContain('server.nats.replica: is not a known key');
    const replicas = await load('server:\n  log: nats://a:4222,nats://b:4222\n  nats:\n    replicas: 3\n');
    expect(!replicas.ok && replicas.errors.join('\n')).toMatch(/^server\.nats\.replicas: 3 replicas need at least 3 servers/m);
    const prefix = await load('server:\n  log: nats://a:4222\n  nats:\n    prefix: "a.b"\n');
    expect(!prefix.ok && prefix.errors.join('\n')).toMatch(/^server\.nats\.prefix: /m);
  });
});

/** The config pipeline: one function, `{config, warnings}` or `{errors}` with `dot.path: message`. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { SchemaCompiler } from '../../src/schema/compile.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

afterEach(() => cleanupTmp());

async function load(text: string, env: NodeJS.ProcessEnv = {}, files: Record<string, string> = {}) {
  const dir = tmpDir();
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  writeFileSync(join(dir, 'amebo.yaml'), text);
  return loadConfig(join(dir, 'amebo.yaml'), { compiler: new SchemaCompiler(), env });
}

const base = `
applications:
  users:
    address: https://users.example
    secret: \${USERS_SECRET}
  mail:
    address: https://mail.example/base
    secret: mail-secret-123
actions:
  user.created:
    application: users
    schemata: schemas/user.json
subscriptions:
  welcome:
    application: mail
    action: user.created
    handler: /hooks/welcome
    max_retries: 2
    timeout: 10s
`;

describe('loadConfig', () => {
  it('expands env, reads schema files, applies defaults and overrides', async () => {
    mkdirSync(join(tmpDir(), 'x'), { recursive: true });
    const r = await load(base.replace('schemas/user.json', 'user.json'), { USERS_SECRET: 'from-the-env-1' }, { 'user.json': '{"type":"object","required":["id"]}' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = r.config;
    expect(c.applications.find((a) => a.name === 'users')!.secret).toBe('from-the-env-1');
    expect(c.subscriptions[0]).toMatchObject({ name: 'welcome', max_retries: 2, timeout_ms: 10_000, concurrency: 16, backoff_initial_ms: 1000 });
    expect(c.actions[0]!.validator.validate({})).toEqual([{ pointer: '/id', keyword: 'required', message: "must have required property 'id'" }]);
    expect(c.server.listen).toEqual({ host: '127.0.0.1', port: 3310 });
    expect(c.watch).toHaveLength(2);
    expect(Object.isFrozen(c.subscriptions[0])).toBe(true);
  });

  it('reports every problem as dot.path: message', async () => {
    const r = await load(`
server:
  durability: sometimes
applications:
  users:
    address: not a url
    secret: short
    colour: blue
subscriptions:
  s:
    application: ghost
    action: nothing
    handler: /x
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual(
      expect.arrayContaining([
        'server.durability: must be one of "commit", "fsync"',
        'applications.users.colour: is not a known key',
        'applications.users.secret: must NOT have fewer than 8 characters',
      ]),
    );
  });

  it('cross-checks references between objects', async () => {
    const r = await load(`
applications:
  users: { address: "https://u.example", secret: "users-secret-1" }
actions:
  a.b: { application: ghost, schemata: { type: object } }
subscriptions:
  s: { application: users, action: nope, handler: "ftp://x" }
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      'actions.a.b.application: no application named "ghost" is declared',
      'subscriptions.s.action: no action named "nope" is declared',
      'subscriptions.s.handler: "ftp://x" must use http or https',
    ]);
  });

  it('names an unset environment variable', async () => {
    const r = await load(base, {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toContain('applications.users.secret: environment variable USERS_SECRET is not set');
  });

  it('refuses schema files outside the config directory', async () => {
    const outside = tmpDir();
    writeFileSync(join(outside, 'evil.json'), '{}');
    const dir = tmpDir();
    symlinkSync(join(outside, 'evil.json'), join(dir, 'link.json'));
    const text = (path: string) => base.replace('schemas/user.json', path);
    for (const [path, message] of [
      ['../../etc/passwd.json', /outside the config's directory/],
      ['/etc/passwd.json', /relative to the config file/],
      ['user.txt', /must be a \.json, \.yaml or \.yml file/],
    ] as const) {
      const r = await load(text(path), { USERS_SECRET: 'from-the-env-1' });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors[0]).toMatch(message);
    }
    writeFileSync(join(dir, 'amebo.yaml'), text('link.json'));
    const linked = await loadConfig(join(dir, 'amebo.yaml'), { compiler: new SchemaCompiler(), env: { USERS_SECRET: 'from-the-env-1' } });
    expect(linked.ok).toBe(false);
    if (!linked.ok) expect(linked.errors[0]).toMatch(/links outside/);
  });

  it('rejects prototype-polluting keys and broken YAML', async () => {
    const polluted = await load('applications:\n  __proto__:\n    address: http://x\n    secret: abcdefgh1\n');
    expect(polluted.ok).toBe(false);
    if (!polluted.ok) expect(polluted.errors[0]).toMatch(/applications.__proto__: this key name is not allowed/);
    expect(({} as Record<string, unknown>)['address']).toBeUndefined();
    const broken = await load('applications: [\n  nope');
    expect(broken.ok).toBe(false);
  });

  it('validates each schema under the draft it names', async () => {
    const r = await load(`
applications:
  a: { address: "https://a.example", secret: "a-secret-123" }
actions:
  new.style:
    application: a
    schemata:
      $schema: "https://json-schema.org/draft/2020-12/schema"
      type: array
      prefixItems: [{ type: string }]
      items: false
`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.actions[0]!.validator.draft).toBe('2020-12');
    expect(r.config.actions[0]!.validator.validate(['x'])).toBeNull();
    expect(r.config.actions[0]!.validator.validate(['x', 'y'])).not.toBeNull();
  });
});

describe('routing keys and the storage engine', () => {
  const config = (server: string, extra: string) => `${server}
applications:
  shop: { address: "http://127.0.0.1:9", secret: shop-secret-123 }
actions:
  order.placed: { application: shop, schemata: { type: object, properties: { account: { type: string } } } }
subscriptions:
  ledger:
    application: shop
    action: order.placed
    handler: /hook
${extra}`;

  it('refuses ordering on the NATS JetStream engine with its path, and takes the other keys', async () => {
    const nats = 'server:\n  log: nats://127.0.0.1:4222\n';
    const refused = await load(config(nats, '    ordering: { key: /account }\n'));
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.errors).toEqual(['subscriptions.ledger.ordering: per-key ordering is not available with server.log: nats (JetStream) yet; remove it, or keep the log in LMDB']);
    const others = await load(config(nats, '    filter: { account: acme }\n    paused: true\n    rate_limit: 5/s\n    circuit: { failures: 3, cooldown: 10s }\n    headers: { X-Tenant: acme }\n'));
    expect(others.ok).toBe(true);
    const lmdb = await load(config('', '    ordering: { key: /account }\n'));
    expect(lmdb.ok).toBe(true);
  });
});

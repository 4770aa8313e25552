/**
 * Bad input through the YAML config (the HTTP corpus is in bad-input.test.ts): prototype keys never
 * pollute anything, and schema file paths cannot leave the config's directory
 * however they are spelled, through env expansion, `..` segments, symlinked directories, or a reload.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { SchemaCompiler } from '../../src/schema/compile.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

let daemon: TestDaemon | undefined;
const handled: string[] = [];

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  cleanupTmp();
});

afterAll(() => {
  console.log(`[reliability] bad-input (config): ${handled.length} / ${pollution.length + paths.length + 1} cases handled`);
});

const APPS = `applications:
  shop: { address: "http://127.0.0.1:9", secret: "shop-secret-123" }
`;

async function load(text: string, files: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}, dir = tmpDir()) {
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  writeFileSync(join(dir, 'amebo.yaml'), text);
  return loadConfig(join(dir, 'amebo.yaml'), { compiler: new SchemaCompiler(), env });
}

function clean(): void {
  const probe = {} as Record<string, unknown>;
  for (const key of ['polluted', 'address', 'secret', 'type', 'properties']) expect(probe[key], key).toBeUndefined();
  expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
}

/** [name, amebo.yaml, extra files, expected error (null: the config loads)] */
const pollution: ReadonlyArray<readonly [string, string, Record<string, string>, RegExp | null]> = [
  ['a top-level __proto__', `__proto__:\n  polluted: true\n${APPS}`, {}, /^__proto__: this key name is not allowed$/],
  ['server.constructor.prototype', `server:\n  constructor:\n    prototype:\n      polluted: true\n${APPS}`, {}, /^server\.constructor: this key name is not allowed$/m],
  ['a quoted "__proto__" in a flow mapping', `applications:\n  shop: { "__proto__": { polluted: true }, address: "http://127.0.0.1:9", secret: "shop-secret-123" }\n`, {}, /applications\.shop\.__proto__: this key name is not allowed/],
  ['a prototype key under delivery.backoff', `delivery:\n  backoff:\n    prototype: { polluted: true }\n${APPS}`, {}, /delivery\.backoff\.prototype: this key name is not allowed/],
  ['__proto__ pulled in through an alias', `x-base: &b\n  __proto__: { polluted: true }\nserver: *b\n${APPS}`, {}, /this key name is not allowed/],
  ['a merge key carrying __proto__', `x-base: &b\n  __proto__: { polluted: true }\napplications:\n  shop:\n    <<: *b\n    address: "http://127.0.0.1:9"\n    secret: "shop-secret-123"\n`, {}, /this key name is not allowed/],
  [
    'an alias bomb (billion laughs)',
    `a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n${APPS}`,
    {},
    /alias/i,
  ],
  [
    'a property named __proto__ in an inline schema (checked, and no prototype touched)',
    `${APPS}actions:\n  a.b: { application: shop, schemata: { type: object, properties: { __proto__: { type: string } } } }\n`,
    {},
    null,
  ],
  [
    'a YAML schema file with __proto__ and constructor keys',
    `${APPS}actions:\n  a.b: { application: shop, schemata: s.yaml }\n`,
    { 's.yaml': '__proto__: { polluted: true }\nconstructor: { prototype: { polluted: true } }\ntype: object\n' },
    null,
  ],
];

describe('the YAML config loader', () => {
  it.each(pollution)('%s', async (name, text, files, error) => {
    const r = await load(text, files);
    clean();
    if (error === null) {
      expect(r.ok).toBe(true);
      if (r.ok) {
        // Whatever the file said, the loaded objects have ordinary prototypes.
        for (const a of r.config.actions) expect(Object.getPrototypeOf(a.schemata)).toBe(Object.prototype);
        expect(r.config.actions[0]!.validator.validate({})).toBeNull();
      }
    } else {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors.join('\n')).toMatch(error);
    }
    handled.push(name);
  });
});

/** [name, how the schema path is written, setup of the config dir, env, expected error] */
const paths: ReadonlyArray<readonly [string, string, (dir: string, outside: string) => void, NodeJS.ProcessEnv, RegExp]> = [
  ['a path that arrives through ${ENV}', '${SCHEMA_FILE}', () => undefined, { SCHEMA_FILE: '../outside/evil.json' }, /"\.\.\/outside\/evil\.json" is outside the config's directory/],
  ['a path that climbs out after a subdirectory', 'schemas/../../outside/evil.json', (dir) => mkdirSync(join(dir, 'schemas')), {}, /is outside the config's directory/],
  ['a symlinked directory pointing outside', 'schemas/evil.json', (dir, outside) => symlinkSync(outside, join(dir, 'schemas')), {}, /"schemas\/evil\.json" links outside the config's directory/],
  ['a percent-encoded ..', '%2e%2e/outside/evil.json', () => undefined, {}, /cannot read "%2e%2e\/outside\/evil\.json" \(ENOENT\)/],
  ['a NUL byte in the path', 'ok.json\u0000../../outside/evil.json', () => undefined, {}, /cannot read "ok\.json\u0000\.\.\/\.\.\/outside\/evil\.json" \(ENOENT\)/],
  ['a Windows-style ..\\ path', '..\\outside\\evil.json', () => undefined, {}, /cannot read "\.\.\\outside\\evil\.json" \(ENOENT\)/],
];

describe('schema file paths in the YAML', () => {
  it.each(paths)('%s is refused', async (name, file, setup, env, error) => {
    const root = tmpDir();
    const dir = join(root, 'config');
    const outside = join(root, 'outside');
    mkdirSync(dir);
    mkdirSync(outside);
    writeFileSync(join(outside, 'evil.json'), '{"type":"object","title":"outside"}');
    setup(dir, outside);
    const quoted = JSON.stringify(file);
    const r = await load(`${APPS}actions:\n  a.b: { application: shop, schemata: ${quoted} }\n`, {}, env, dir);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toMatch(error);
    handled.push(name);
  });

  it('rejects a reload that points a schema outside, keeping the last good config', async () => {
    const root = tmpDir();
    const dir = join(root, 'config');
    mkdirSync(dir);
    writeFileSync(join(root, 'evil.json'), '{"type":"object","title":"outside"}');
    writeFileSync(join(dir, 'good.json'), '{"type":"object","required":["id"]}');
    const text = (schema: string) => `${APPS}actions:\n  a.b: { application: shop, schemata: ${schema} }\n`;
    daemon = await startDaemon({ dir, yaml: text('good.json') });
    writeFileSync(join(dir, 'amebo.yaml'), text('../evil.json'));
    const r = await daemon.core.reload();
    expect(r.ok).toBe(false);
    const health = await daemon.request('GET', '/health');
    expect(health.body.data.config.last_reload_error.join('\n')).toMatch(/actions\.a\.b\.schemata: "\.\.\/evil\.json" is outside the config's directory/);
    // The good schema is still in force, and nothing of the outside file leaked into it.
    expect((await daemon.request('POST', '/v1/events', { action: 'a.b', payload: {} })).status).toBe(422);
    expect((await daemon.request('POST', '/v1/events', { action: 'a.b', payload: { id: 1 } })).status).toBe(201);
    expect((await daemon.request('GET', '/v1/actions/a.b')).text).not.toContain('outside');
    handled.push('a reload to an outside path');
  });
});

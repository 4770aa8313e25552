/**
 * Each action's schema is validated on its own, through a real daemon: nothing compiled for one action
 * (a pattern, an `$id`) changes the verdicts of another, across creates, updates, reloads and
 * restarts. Also the schemas amebo used to refuse wrongly: a nested quantifier, boolean schemas and
 * a property named `__proto__` (which must survive a restart).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

let daemon: TestDaemon | undefined;

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  cleanupTmp();
});

const APP = { application: 'svc', address: 'http://127.0.0.1:9', secret: 'svc-secret-1234' };

async function action(d: TestDaemon, name: string, schemata: unknown): Promise<number> {
  return (await d.request('POST', '/v1/actions', { action: name, application: 'svc', schemata })).status;
}

async function publish(d: TestDaemon, name: string, payload: unknown): Promise<number> {
  return (await d.request('POST', '/v1/events', { action: name, payload })).status;
}

const codeSchema = { type: 'object', properties: { code: { type: 'string', pattern: '^[0-9]+$' } } };
const nameSchema = { type: 'object', properties: { name: { type: 'string', pattern: '^[a-z]+$' } } };

describe('independent validators', () => {
  it("checks a.two with its own pattern, not a.one's (the issue's case)", async () => {
    daemon = await startDaemon();
    expect((await daemon.request('POST', '/v1/applications', APP)).status).toBe(201);
    expect(await action(daemon, 'a.one', codeSchema)).toBe(201);
    expect(await action(daemon, 'a.two', nameSchema)).toBe(201);
    expect(await publish(daemon, 'a.two', { name: 'abc' })).toBe(201);
    expect(await publish(daemon, 'a.two', { name: '123' })).toBe(422);
    expect(await publish(daemon, 'a.one', { code: '123' })).toBe(201);
    expect(await publish(daemon, 'a.one', { code: 'abc' })).toBe(422);
  });

  it('keeps the verdicts apart across an update, a restart and a file reload', async () => {
    const dir = tmpDir();
    const file = join(dir, 'amebo.yaml');
    const fileYaml = (pattern: string) =>
      `applications:\n  svc: { address: "http://127.0.0.1:9", secret: "svc-secret-1234" }\nactions:\n  f.one:\n    application: svc\n    allow_breaking_changes: true\n    schemata: { type: object, properties: { v: { type: string, pattern: "${pattern}" } } }\nsubscriptions: {}\n`;
    writeFileSync(file, fileYaml('^x+$'));
    daemon = await startDaemon({ dir, yaml: fileYaml('^x+$') });
    expect(await action(daemon, 'a.one', codeSchema)).toBe(201);
    expect(await action(daemon, 'a.two', nameSchema)).toBe(201);
    // Two actions with the same $id and different contents.
    expect(await action(daemon, 'id.str', { $id: 'https://example.com/shared', type: 'string' })).toBe(201);
    expect(await action(daemon, 'id.int', { $id: 'https://example.com/shared', type: 'integer' })).toBe(201);

    const verdicts = async (d: TestDaemon) => ({
      two: [await publish(d, 'a.two', { name: 'abc' }), await publish(d, 'a.two', { name: '123' })],
      one: [await publish(d, 'a.one', { code: '42' }), await publish(d, 'a.one', { code: 'abc' })],
      file: [await publish(d, 'f.one', { v: 'xx' }), await publish(d, 'f.one', { v: 'yy' })],
      ids: [await publish(d, 'id.str', 's'), await publish(d, 'id.int', 1), await publish(d, 'id.int', 's')],
    });
    const expected = { two: [201, 422], one: [201, 422], file: [201, 422], ids: [201, 201, 422] };
    expect(await verdicts(daemon)).toEqual(expected);

    // Update a.one to a pattern a.two would accept: a.two keeps its own.
    const put = await daemon.request('PUT', '/v1/actions/a.one', { schemata: { type: 'object', properties: { code: { type: 'string', pattern: '^[a-z0-9]+$' } } }, allow_breaking_changes: true });
    expect(put.status).toBe(200);
    expect(await publish(daemon, 'a.one', { code: 'abc' })).toBe(201);
    expect(await publish(daemon, 'a.two', { name: '123' })).toBe(422);

    // Reload the file with another pattern: the API actions keep theirs.
    writeFileSync(file, fileYaml('^y+$'));
    expect((await daemon.core.reload()).ok).toBe(true);
    expect(await publish(daemon, 'f.one', { v: 'yy' })).toBe(201);
    expect(await publish(daemon, 'f.one', { v: 'xx' })).toBe(422);
    expect(await publish(daemon, 'a.two', { name: '123' })).toBe(422);
    expect(await publish(daemon, 'a.two', { name: 'abc' })).toBe(201);

    // Restart on the same data dir: the API actions come back with their own verdicts.
    const dataDir = daemon.dataDir;
    await daemon.close();
    daemon = await startDaemon({ dir, dataDir, yaml: fileYaml('^x+$') });
    expect(await verdicts(daemon)).toEqual({ ...expected, one: [201, 201] });
  });
});

describe('schemas amebo used to refuse', () => {
  it('accepts a nested quantifier, boolean schemas and a property named __proto__, and keeps them across a restart', async () => {
    const dir = tmpDir();
    daemon = await startDaemon({ dir });
    expect((await daemon.request('POST', '/v1/applications', APP)).status).toBe(201);
    expect(await action(daemon, 'dotted', { type: 'string', pattern: '^[a-z]+(\\.[a-z]+)*$' })).toBe(201);
    expect(await action(daemon, 'anything', true)).toBe(201);
    expect(await action(daemon, 'nothing', false)).toBe(201);
    const protoSchema = '{"type":"object","properties":{"__proto__":{"type":"string"},"constructor":{"type":"number"},"toString":{"type":"boolean"}},"required":["__proto__"]}';
    const created = await daemon.request('POST', '/v1/actions', `{"action":"proto","application":"svc","schemata":${protoSchema}}`);
    expect(created.status).toBe(201);
    expect(created.text).toContain('"__proto__":{"type":"string"}');

    const check = async (d: TestDaemon) => {
      expect(await publish(d, 'dotted', 'a.b.c')).toBe(201);
      expect(await publish(d, 'dotted', `${'a.'.repeat(5_000)}!`)).toBe(422);
      expect(await publish(d, 'anything', { whatever: [1, 2] })).toBe(201);
      expect(await publish(d, 'nothing', {})).toBe(422);
      const post = (payload: string) => d.request('POST', '/v1/events', `{"action":"proto","payload":${payload}}`);
      expect((await post('{"__proto__":"x","constructor":1}')).status).toBe(201);
      const wrong = await post('{"__proto__":5}');
      expect(wrong.status).toBe(422);
      expect(wrong.body.details.violations).toEqual([{ pointer: '/__proto__', keyword: 'type', message: 'must be string' }]);
      expect((await post('{}')).status).toBe(422);
      expect((await post('{"__proto__":"x","toString":"no"}')).status).toBe(422);
    };
    await check(daemon);
    const dataDir = daemon.dataDir;
    await daemon.close();
    daemon = await startDaemon({ dir, dataDir });
    const read = await daemon.request('GET', '/v1/actions/proto');
    expect(read.text).toContain('"__proto__":{"type":"string"}');
    await check(daemon);
  });
});

/**
 * The official JSON-Schema-Test-Suite (required tests of draft-07, 2019-09 and 2020-12, `refRemote.json`
 * aside) through a real daemon's publish path: one action per test group, created over HTTP with the
 * group's schema, and each instance published as its payload: valid must give 201, invalid 422.
 *
 * Bare ajv (amebo's own version, `strict: false`, formats asserted, a fresh instance per group) runs
 * the same cases in the same run. amebo must agree with the suite at least as often as bare ajv in every
 * draft; every disagreement of either is printed. No response may be a 5xx, and the daemon must log no
 * internal error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv, type Options } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { cleanupTmp } from '../helpers/tmp.js';

interface Group {
  readonly description: string;
  readonly schema: unknown;
  readonly tests: ReadonlyArray<{ readonly description: string; readonly data: unknown; readonly valid: boolean }>;
}

const SUITE = join(import.meta.dirname, '../fixtures/json-schema-test-suite/tests');
const DRAFTS = [
  { folder: 'draft7', uri: null, Ajv: Ajv },
  { folder: 'draft2019-09', uri: 'https://json-schema.org/draft/2019-09/schema', Ajv: Ajv2019 },
  { folder: 'draft2020-12', uri: 'https://json-schema.org/draft/2020-12/schema', Ajv: Ajv2020 },
] as const;
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
/** Groups in flight at once against the daemon. */
const PARALLEL = 8;

/** The suite's groups of one draft, with `$schema` added where the draft is not the default. */
function groups(folder: string, uri: string | null): Array<Group & { file: string }> {
  const out: Array<Group & { file: string }> = [];
  for (const file of readdirSync(join(SUITE, folder)).sort()) {
    for (const g of JSON.parse(readFileSync(join(SUITE, folder, file), 'utf8')) as Group[]) {
      const schema = uri !== null && typeof g.schema === 'object' && g.schema !== null && !('$schema' in g.schema) ? { $schema: uri, ...g.schema } : g.schema;
      out.push({ ...g, schema, file });
    }
  }
  return out;
}

interface Tally {
  agree: number;
  total: number;
  readonly disagreements: string[];
  readonly serverErrors: string[];
}

const tally = (): Tally => ({ agree: 0, total: 0, disagreements: [], serverErrors: [] });

function bareAjv(Ctor: new (o: Options) => Ajv, group: Group, t: Tally, label: string): void {
  let fn: ((data: unknown) => boolean) | null = null;
  let reason = '';
  try {
    fn = addFormats(new Ctor({ strict: false, logger: false })).compile(group.schema as object) as (data: unknown) => boolean;
  } catch (err) {
    reason = `compile error: ${(err as Error).message.slice(0, 100)}`;
  }
  for (const test of group.tests) {
    t.total++;
    let got: boolean | string;
    if (fn === null) got = reason;
    else {
      try {
        got = fn(test.data);
      } catch (err) {
        got = `threw: ${(err as Error).message.slice(0, 100)}`;
      }
    }
    if (got === test.valid) t.agree++;
    else t.disagreements.push(`${label} | ${test.description} | expected ${test.valid ? 'valid' : 'invalid'}, got ${got}`);
  }
}

let daemon: TestDaemon;

beforeAll(async () => {
  daemon = await startDaemon();
  const app = await daemon.request('POST', '/v1/applications', { application: 'suite', address: 'http://127.0.0.1:9', secret: 'suite-secret-123' });
  expect(app.status).toBe(201);
});

afterAll(async () => {
  await daemon?.close();
  cleanupTmp();
});

async function throughAmebo(name: string, group: Group, t: Tally, label: string): Promise<void> {
  const created = await daemon.request('POST', '/v1/actions', { action: name, application: 'suite', schemata: group.schema });
  if (created.status >= 500) t.serverErrors.push(`${label} | POST /v1/actions → ${created.status} ${created.text.slice(0, 200)}`);
  for (const test of group.tests) {
    t.total++;
    if (created.status !== 201) {
      t.disagreements.push(`${label} | ${test.description} | expected ${test.valid ? 'valid' : 'invalid'}, but the action was refused: ${created.status} ${String(created.body?.error).slice(0, 140)}`);
      continue;
    }
    const res = await daemon.request('POST', '/v1/events', { action: name, payload: test.data });
    if (res.status >= 500) t.serverErrors.push(`${label} | ${test.description} → ${res.status} ${res.text.slice(0, 200)}`);
    const expected = test.valid ? 201 : 422;
    if (res.status === expected) t.agree++;
    else t.disagreements.push(`${label} | ${test.description} | expected ${expected}, got ${res.status} ${res.status >= 400 ? String(res.body?.error).slice(0, 140) : ''}`);
  }
}

describe('the JSON-Schema-Test-Suite through the publish path', () => {
  it.each(DRAFTS)('$folder: amebo agrees at least as often as bare ajv', async ({ folder, uri, Ajv: Ctor }) => {
    const amebo = tally();
    const bare = tally();
    const all = groups(folder, uri);
    for (let i = 0; i < all.length; i += PARALLEL) {
      await Promise.all(
        all.slice(i, i + PARALLEL).map((group, j) => {
          const label = `${group.file} | ${group.description}`;
          bareAjv(Ctor as unknown as new (o: Options) => Ajv, group, bare, label);
          return throughAmebo(`suite.${folder}.${i + j}`, group, amebo, label);
        }),
      );
    }
    console.log(
      `[conformance] ${folder}: amebo agrees ${amebo.agree} / ${amebo.total}, bare ajv ${bare.agree} / ${bare.total}\n` +
        `  amebo's disagreements (${amebo.disagreements.length}):\n    ${amebo.disagreements.join('\n    ')}\n` +
        `  bare ajv's disagreements (${bare.disagreements.length}):\n    ${bare.disagreements.join('\n    ')}`,
    );
    expect(amebo.serverErrors).toEqual([]);
    expect(amebo.total).toBe(bare.total);
    expect(amebo.total).toBeGreaterThan(800);
    expect(amebo.agree).toBeGreaterThanOrEqual(bare.agree);
    expect(daemon.logs.filter((l) => (l['level'] as number) >= 50)).toEqual([]);
  }, 180_000);
});

/**
 * Payload filters: their evaluation (sift with amebo's operators, $regex on RE2), their shape check, and
 * the type check against an action's schema, on a table of schemas.
 */
import { describe, expect, it } from 'vitest';
import { compileFilter, filterErrors } from '../../src/routing/filter.js';
import { filterTypeErrors } from '../../src/routing/filter-types.js';
import { actionMatcher, actionSpecErrors } from '../../src/routing/actions.js';
import type { JsonSchema } from '../../src/types.js';

const ORDER: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'total'],
  properties: {
    id: { type: 'string' },
    total: { type: 'number' },
    qty: { type: 'integer' },
    paid: { type: 'boolean' },
    status: { enum: ['new', 'paid', 'shipped'] },
    tags: { type: 'array', items: { type: 'string' } },
    customer: {
      type: 'object',
      properties: { tier: { type: 'string' }, since: { type: 'integer' } },
      additionalProperties: false,
    },
    extra: { type: 'object' },
    anything: {},
    note: { type: ['string', 'null'] },
  },
};

describe('filter type check against the schema', () => {
  // [filter, expected errors]: an empty list means the filter is accepted.
  const table: Array<[string, Record<string, unknown>, JsonSchema, string[]]> = [
    ['equality with the right type', { id: 'o1' }, ORDER, []],
    ['a number range', { total: { $gte: 10, $lt: 100 } }, ORDER, []],
    ['an integer compared with a float', { qty: { $gt: 1.5 } }, ORDER, []],
    ['a string with $gt: 5', { id: { $gt: 5 } }, ORDER, ['filter.id.$gt: compares with a number, but the field holds strings']],
    ['a number with a string', { total: 'ten' }, ORDER, ['filter.total: "ten" is a string, but the field holds numbers']],
    ['$regex on a number', { total: { $regex: '^1' } }, ORDER, ['filter.total.$regex: $regex tests strings, but the field holds numbers']],
    ['$regex on a string', { id: { $regex: '^o[0-9]+$' } }, ORDER, []],
    ['a field additionalProperties forbids', { colour: 'red' }, ORDER, ['filter.colour: names "colour", which the schema forbids (additionalProperties: false)']],
    ['a nested field it forbids', { 'customer.region': 'eu' }, ORDER, ['filter.customer.region: names "customer.region", which the schema forbids (additionalProperties: false)']],
    ['a nested field of the wrong type', { 'customer.since': { $lt: '2020' } }, ORDER, ['filter.customer.since.$lt: compares with a string, but the field holds numbers']],
    ['a nested field of an open object', { 'extra.whatever': 5 }, ORDER, []],
    ['a value outside the enum', { status: 'lost' }, ORDER, ['filter.status: "lost" is not one of the values the schema allows ("new", "paid", "shipped")']],
    ['$in with one good value', { status: { $in: ['lost', 'paid'] } }, ORDER, []],
    ['$in with no good value', { status: { $in: ['lost', 7] } }, ORDER, ['filter.status.$in.0: "lost" is not one of the values the schema allows ("new", "paid", "shipped")', 'filter.status.$in.1: 7 is a number, but the field holds strings']],
    ['$nin never impossible', { status: { $nin: ['lost'] } }, ORDER, []],
    ['an array element by equality (MongoDB)', { tags: 'vip' }, ORDER, []],
    ['an array element of the wrong type', { tags: 5 }, ORDER, ['filter.tags: 5 is a number, but the field holds arrays or strings']],
    ['a boolean', { paid: true }, ORDER, []],
    ['a boolean compared with a string', { paid: 'yes' }, ORDER, ['filter.paid: "yes" is a string, but the field holds booleans']],
    ['null matches a missing field', { paid: null }, ORDER, []],
    ['$exists on a forbidden field', { colour: { $exists: false } }, ORDER, ['filter.colour: names "colour", which the schema forbids (additionalProperties: false)']],
    ['an untyped field', { anything: { $gt: 3 } }, ORDER, []],
    ['a nullable string with $regex', { note: { $regex: 'x' } }, ORDER, []],
    ['inside $and and $or', { $or: [{ id: 1 }, { $and: [{ total: 'x' }] }] }, ORDER, ['filter.$or.0.id: 1 is a number, but the field holds strings', 'filter.$or.1.$and.0.total: "x" is a string, but the field holds numbers']],
    ['inside $not', { total: { $not: { $gt: 'a' } } }, ORDER, ['filter.total.$not.$gt: compares with a string, but the field holds numbers']],
    ['a schema it cannot see through ($ref)', { x: { $gt: 1 } }, { $ref: '#/definitions/a', definitions: { a: { type: 'string' } } }, []],
    ['anyOf is not guessed at', { x: 'y' }, { type: 'object', additionalProperties: false, anyOf: [{ properties: { x: { type: 'number' } } }] }, []],
    ['patternProperties may allow it', { x_1: 5 }, { type: 'object', additionalProperties: false, patternProperties: { '^x_': { type: 'string' } } }, []],
    ['the boolean schema true', { a: { $gt: 1 } }, true, []],
    ['const', { kind: 'b' }, { type: 'object', properties: { kind: { const: 'a' } } }, ['filter.kind: "b" is not one of the values the schema allows ("a")']],
  ];
  for (const [name, filter, schema, errors] of table) {
    it(name, () => {
      expect(filterErrors(filter)).toEqual([]);
      expect(filterTypeErrors(filter, schema)).toEqual(errors);
    });
  }
});

describe('filter shape', () => {
  it('refuses what is not amebo query data, each with its path', () => {
    expect(filterErrors({ $where: 'this.a' })).toEqual(['filter.$where: unknown operator; a filter uses $and, $or, $not and field paths']);
    expect(filterErrors({ a: { $elemMatch: {} } })).toEqual(['filter.a.$elemMatch: unknown operator; use $eq $ne $gt $gte $lt $lte $in $nin $exists $regex $not']);
    expect(filterErrors({ a: { $gt: 1, b: 2 } })).toEqual(['filter.a: an object here must hold operators only ($eq, $gt, ...); to compare with an object, use $eq']);
    expect(filterErrors({ a: { $in: 3 } })).toEqual(['filter.a.$in: must be a list of values']);
    expect(filterErrors({ a: { $exists: 'yes' } })).toEqual(['filter.a.$exists: must be true or false']);
    expect(filterErrors({ $or: [] })).toEqual(['filter.$or: must be a non-empty list of filters']);
    expect(filterErrors({ 'a..b': 1 })).toEqual(['filter.a..b: a field path is dot-separated names, none empty or starting with "$"']);
    expect(filterErrors([1])).toEqual(['filter: must be an object of field paths and conditions']);
  });

  it('refuses a $regex that cannot run in linear time, and says why', () => {
    const [error] = filterErrors({ a: { $regex: '(a+)\\1' } });
    expect(error).toMatch(/^filter\.a\.\$regex: /);
    expect(error).toMatch(/backreference|linear/i);
    expect(filterErrors({ a: { $regex: '([' } })[0]).toMatch(/^filter\.a\.\$regex: pattern "\(\[" is not a valid regular expression/);
  });

  it('refuses a filter too deep or too large to be a sane query', () => {
    let deep: Record<string, unknown> = { a: 1 };
    for (let i = 0; i < 20; i++) deep = { $not: deep };
    expect(filterErrors(deep).some((e) => e.includes('nested deeper than 16'))).toBe(true);
    const wide = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`f${i}`, i]));
    expect(filterErrors(wide)).toContain('filter: more than 512 conditions');
  });
});

describe('filter evaluation', () => {
  const matches = (filter: Record<string, unknown>, payload: unknown) => compileFilter(filter)(payload);

  it('evaluates every documented operator', () => {
    const p = { id: 'o1', total: 42, status: 'paid', tags: ['vip', 'eu'], customer: { tier: 'gold' }, note: null };
    expect(matches({ id: 'o1' }, p)).toBe(true);
    expect(matches({ id: { $eq: 'o2' } }, p)).toBe(false);
    expect(matches({ id: { $ne: 'o2' } }, p)).toBe(true);
    expect(matches({ total: { $gt: 41, $lte: 42 } }, p)).toBe(true);
    expect(matches({ total: { $lt: 42 } }, p)).toBe(false);
    expect(matches({ total: { $gte: 43 } }, p)).toBe(false);
    expect(matches({ status: { $in: ['new', 'paid'] } }, p)).toBe(true);
    expect(matches({ status: { $nin: ['new', 'paid'] } }, p)).toBe(false);
    expect(matches({ missing: { $exists: false } }, p)).toBe(true);
    expect(matches({ note: { $exists: true } }, p)).toBe(true);
    expect(matches({ 'customer.tier': 'gold' }, p)).toBe(true);
    expect(matches({ tags: 'vip' }, p)).toBe(true);
    expect(matches({ tags: 'us' }, p)).toBe(false);
    expect(matches({ $or: [{ total: 1 }, { status: 'paid' }] }, p)).toBe(true);
    expect(matches({ $and: [{ total: 42 }, { status: 'new' }] }, p)).toBe(false);
    expect(matches({ $not: { status: 'paid' } }, p)).toBe(false);
    expect(matches({ total: { $not: { $gt: 100 } } }, p)).toBe(true);
  });

  it('runs $regex on RE2, case-insensitive with $options: i, on strings only', () => {
    expect(matches({ id: { $regex: '^O\\d+$', $options: 'i' } }, { id: 'o17' })).toBe(true);
    expect(matches({ id: { $regex: '^O\\d+$' } }, { id: 'o17' })).toBe(false);
    expect(matches({ n: { $regex: '^4' } }, { n: 42 })).toBe(false);
    // A pattern that backtracks exponentially elsewhere answers at once here.
    expect(matches({ s: { $regex: '^(a|a)*$' } }, { s: `${'a'.repeat(5000)}b` })).toBe(false);
  });
});

describe('action specs', () => {
  it('matches a name, a list, and NATS-style patterns', () => {
    const m = (spec: string | string[]) => actionMatcher(spec);
    expect(m('user.created')('user.created')).toBe(true);
    expect(m('user.created')('user.deleted')).toBe(false);
    expect(m(['user.created', 'user.deleted'])('user.deleted')).toBe(true);
    expect(m('user.*')('user.created')).toBe(true);
    expect(m('user.*')('user.created.v2')).toBe(false);
    expect(m('order.>')('order.placed')).toBe(true);
    expect(m('order.>')('order.placed.eu')).toBe(true);
    expect(m('order.>')('order')).toBe(false);
    expect(m('*.created')('user.created')).toBe(true);
  });

  it('refuses malformed specs with their path', () => {
    expect(actionSpecErrors('user.>.x', 'action')).toEqual(['action: "user.>.x": ">" may only be the last token']);
    expect(actionSpecErrors('user..*', 'action')).toEqual(['action: "user..*": each dot-separated token is a name, "*" (one token) or a final ">" (the rest)']);
    expect(actionSpecErrors([], 'action')).toEqual(['action: must be an action name, a pattern, or a non-empty list of them']);
    expect(actionSpecErrors(['ok.name', 'us*er'], 'action')).toEqual(['action.1: "us*er": each dot-separated token is a name, "*" (one token) or a final ">" (the rest)']);
    expect(actionSpecErrors(['ok.name', 3], 'action')).toEqual(['action.1: must be a string']);
    expect(actionSpecErrors(['a.b', 'c.*'], 'action')).toEqual([]);
  });
});

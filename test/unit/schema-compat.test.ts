/** Schema evolution: which changes would reject payloads the old schema accepted. */
import { describe, expect, it } from 'vitest';
import { breakingChanges } from '../../src/schema/compat.js';

const obj = (extra: Record<string, unknown> = {}) => ({ type: 'object', properties: { id: { type: 'string' }, plan: { enum: ['free', 'premium'] } }, ...extra });

describe('breakingChanges', () => {
  it.each([
    ['a newly required field', obj(), obj({ required: ['id'] }), /"id" is newly required/],
    ['a narrowed type', { type: ['string', 'number'] }, { type: 'string' }, /type narrowed from string\|number to string/],
    ['number to integer', { type: 'number' }, { type: 'integer' }, /type narrowed/],
    ['an enum losing a value', obj(), { ...obj(), properties: { id: { type: 'string' }, plan: { enum: ['free'] } } }, /\/properties\/plan: enum lost the value "premium"/],
    ['additionalProperties becoming false', obj(), obj({ additionalProperties: false }), /additionalProperties became false/],
    ['a raised minimum', { type: 'number', minimum: 1 }, { type: 'number', minimum: 5 }, /minimum was added or raised to 5/],
    ['a lowered maxLength', { type: 'string', maxLength: 10 }, { type: 'string', maxLength: 5 }, /maxLength was added or lowered to 5/],
    ['a new pattern (not analysed)', { type: 'string' }, { type: 'string', pattern: '^a' }, /pattern was added or changed \(amebo does not analyse pattern/],
    ['a nested item type', { type: 'array', items: { type: 'string' } }, { type: 'array', items: { type: 'number' } }, /\/items: type narrowed/],
    ['a newly constrained property under open additionalProperties', obj(), { ...obj(), properties: { ...obj().properties, extra: { type: 'string' } } }, /\/properties\/extra: type narrowed from any to string/],
  ])('flags %s', (_name, before, after, message) => {
    expect(breakingChanges(before, after).join('\n')).toMatch(message);
  });

  it.each([
    ['a new optional field when additional properties were closed', obj({ additionalProperties: false }), { ...obj({ additionalProperties: false }), properties: { ...obj().properties, x: { type: 'string' } } }],
    ['a dropped required field', obj({ required: ['id'] }), obj()],
    ['a widened type', { type: 'integer' }, { type: ['number', 'null'] }],
    ['an enum gaining a value', { enum: ['a'] }, { enum: ['a', 'b'] }],
    ['a lowered minimum', { minimum: 5 }, { minimum: 1 }],
    ['annotations only', { type: 'string' }, { type: 'string', description: 'the id', title: 'Id', examples: ['x'] }],
    ['an identical schema', obj({ required: ['id'], allOf: [{ type: 'object' }] }), obj({ required: ['id'], allOf: [{ type: 'object' }] })],
    ['true to anything-goes object', true, {}],
  ])('accepts %s', (_name, before, after) => {
    expect(breakingChanges(before, after)).toEqual([]);
  });
});

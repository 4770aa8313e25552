/**
 * The schema compiler: validators that cannot affect each other, every schema the draft allows
 * (boolean schemas, an empty enum, JavaScript property names), and limits that refuse only what would
 * crash or stall validation.
 */
import { describe, expect, it } from 'vitest';
import { SchemaCompiler } from '../../src/schema/compile.js';
import { canonicalJson } from '../../src/schema/unique-items.js';
import { normalizeSchema } from '../../src/schema/normalize.js';

const proto = (json: string): unknown => JSON.parse(json);

describe('isolation between schemas', () => {
  it('gives each schema its own patterns (the first pattern compiled used to answer for all)', () => {
    const c = new SchemaCompiler();
    const one = c.compile({ type: 'object', properties: { code: { type: 'string', pattern: '^[0-9]+$' } } });
    const two = c.compile({ type: 'object', properties: { name: { type: 'string', pattern: '^[a-z]+$' } } });
    expect(one.validate({ code: '123' })).toBeNull();
    expect(two.validate({ name: 'abc' })).toBeNull();
    expect(two.validate({ name: '123' })).toEqual([{ pointer: '/name', keyword: 'pattern', message: 'must match pattern "^[a-z]+$"' }]);
    expect(one.validate({ code: 'abc' })).not.toBeNull();
  });

  it('lets two schemas use the same $id with different contents', () => {
    const c = new SchemaCompiler();
    const a = c.compile({ $id: 'https://example.com/thing', type: 'string' });
    const b = c.compile({ $id: 'https://example.com/thing', type: 'integer' });
    expect(a.validate('x')).toBeNull();
    expect(a.validate(1)).not.toBeNull();
    expect(b.validate(1)).toBeNull();
    expect(b.validate('x')).not.toBeNull();
    // Compiling the first again (a reload) still gives its own verdicts.
    expect(c.compile({ $id: 'https://example.com/thing', type: 'string' }).validate('x')).toBeNull();
  });

  it('shares one validator between equal schemas, whatever their key order', () => {
    const c = new SchemaCompiler();
    expect(c.compile({ type: 'string', minLength: 1 })).toBe(c.compile({ minLength: 1, type: 'string' }));
  });
});

describe('every schema the draft allows', () => {
  it('accepts boolean schemas', () => {
    const c = new SchemaCompiler();
    expect(c.compile(true).validate({ anything: [1, 'x'] })).toBeNull();
    expect(c.compile(false).validate({})).not.toBeNull();
    expect(c.compile(false).validate(null)).not.toBeNull();
  });

  it('accepts an empty enum, which no payload satisfies', () => {
    const v = new SchemaCompiler().compile({ enum: [] });
    for (const payload of [null, 0, 'a', {}, []]) expect(v.validate(payload)).not.toBeNull();
  });

  it('checks a property named __proto__ like any other', () => {
    const v = new SchemaCompiler().compile(proto('{"type":"object","properties":{"__proto__":{"type":"string"}},"required":["__proto__"],"additionalProperties":false}'));
    expect(v.validate(proto('{"__proto__":"x"}'))).toBeNull();
    expect(v.validate(proto('{"__proto__":5}'))).toEqual([{ pointer: '/__proto__', keyword: 'type', message: 'must be string' }]);
    expect(v.validate({})).toEqual([{ pointer: '/__proto__', keyword: 'required', message: "must have required property '__proto__'" }]);
    expect(v.validate(proto('{"__proto__":"x","other":1}'))).toEqual([{ pointer: '/other', keyword: 'additionalProperties', message: 'must NOT have additional properties' }]);
  });

  it('checks __proto__ in dependentRequired, dependentSchemas and patternProperties', () => {
    const c = new SchemaCompiler();
    const dep = c.compile(proto('{"$schema":"https://json-schema.org/draft/2020-12/schema","dependentRequired":{"__proto__":["a"]},"dependentSchemas":{"__proto__":{"required":["b"]}}}'));
    expect(dep.validate(proto('{"__proto__":1}'))).not.toBeNull();
    expect(dep.validate(proto('{"__proto__":1,"a":1,"b":2}'))).toBeNull();
    expect(dep.validate({ a: 1 })).toBeNull();
    const pat = c.compile(proto('{"patternProperties":{"__proto__":{"type":"number"}}}'));
    expect(pat.validate(proto('{"x__proto__y":"s"}'))).not.toBeNull();
    expect(pat.validate(proto('{"x__proto__y":1}'))).toBeNull();
  });

  it('does not take inherited members of Object.prototype for properties', () => {
    const v = new SchemaCompiler().compile({ properties: { toString: { type: 'string' }, constructor: { type: 'number' } }, required: ['constructor'] });
    expect(v.validate({ constructor: 1 })).toBeNull();
    expect(v.validate({})).toEqual([{ pointer: '/constructor', keyword: 'required', message: "must have required property 'constructor'" }]);
    expect(v.validate({ constructor: 1, toString: 5 })).not.toBeNull();
  });

  it('leaves the schema it was given untouched', () => {
    const text = '{"properties":{"__proto__":{"type":"string"}},"enum":[]}';
    const schema = proto(text);
    normalizeSchema(schema);
    new SchemaCompiler().compile(schema);
    expect(JSON.stringify(schema)).toBe(text);
  });
});

describe('limits that refuse only what is unsafe', () => {
  it('refuses a schema whose validation recurses without end, when it is compiled', () => {
    const c = new SchemaCompiler();
    expect(() => c.compile({ $ref: '#' })).toThrow(/recurses without end/);
    expect(() => c.compile({ properties: { a: { $ref: '#/definitions/x' } }, definitions: { x: { anyOf: [{ $ref: '#/definitions/y' }] }, y: { allOf: [{ $ref: '#/definitions/x' }] } } })).toThrow(/recurses without end/);
    // Recursion that descends into the payload is fine.
    const tree = c.compile({ type: 'object', properties: { child: { $ref: '#' } } });
    expect(tree.validate({ child: { child: {} } })).toBeNull();
  });

  it('answers a loop no probe reaches with a violation, not a crash', () => {
    const loop = { anyOf: [{ $ref: '#/definitions/y' }] };
    const v = new SchemaCompiler().compile({ properties: { a: { properties: { b: { $ref: '#/definitions/x' } } } }, definitions: { x: loop, y: { allOf: [{ $ref: '#/definitions/x' }] } } });
    expect(v.validate({ a: { b: 1 } })).toEqual([{ pointer: '/', keyword: '$ref', message: 'cannot be validated: the schema recurses too deeply for this payload' }]);
    expect(v.validate({ a: {} })).toBeNull();
  });

  it('refuses what is not a schema with the reason', () => {
    const c = new SchemaCompiler();
    expect(() => c.compile([])).toThrow(/an object, true or false/);
    expect(() => c.compile({ type: 'nonsense' })).toThrow(/not a valid draft-07 JSON Schema: schemata\/type must be equal to one of the allowed values/);
    expect(() => c.compile({ pattern: '^(a)\\1$' })).toThrow(/cannot run in linear time/);
  });

  it('checks uniqueItems in one pass, with JSON Schema equality', () => {
    const v = new SchemaCompiler().compile({ type: 'array', uniqueItems: true });
    expect(v.validate([{ a: 1, b: 2 }, { b: 2, a: 1 }])).toEqual([{ pointer: '/', keyword: 'uniqueItems', message: 'must NOT have duplicate items (items ## 0 and 1 are identical)' }]);
    expect(v.validate([1, '1', [1], { a: 1 }, null, true])).toBeNull();
    expect(v.validate([[1, 2], [2, 1]])).toBeNull();
    // 60,000 distinct objects: ajv's pairwise comparison would take minutes, this takes milliseconds.
    const many = Array.from({ length: 60_000 }, (_, i) => ({ id: i }));
    expect(v.validate(many)).toBeNull();
    expect(v.validate([...many, { id: 59_999 }])).not.toBeNull();
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[1,{"c":2,"d":1}]}');
  });

  it('asserts format in every draft, 2020-12 included', () => {
    const v = new SchemaCompiler().compile({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'string', format: 'email' });
    expect(v.validate('ada@example.com')).toBeNull();
    expect(v.validate('not an e-mail')).not.toBeNull();
  });
});

/**
 * Filters checked against the schema of each action they apply to, before they ship: comparing a
 * string field with `$gt: 5`, testing a number with `$regex`, or naming a field that
 * `additionalProperties: false` forbids can never match, so it is an error (`path: message`), not a
 * filter that silently drops every event. The check is sound where the schema is plain (`type`,
 * `properties`, `items`, `enum`, `const`) and says nothing where it cannot know (`$ref`, `anyOf`,
 * `patternProperties`, ...): it refuses only what is certainly wrong.
 */
import type { JsonSchema } from '../types.js';
import type { Filter } from './filter.js';

type Json = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array';
type Node = Readonly<Record<string, unknown>>;

/** What a path may hold: `any` when the schema does not say. */
type Kinds = ReadonlySet<Json> | 'any';

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

function kindOf(value: unknown): Json {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as Json;
}

/** The JSON types a schema admits, from `type`, `const` or `enum`; `any` when it does not say. */
function kinds(schema: unknown): Kinds {
  if (schema === false) return new Set();
  if (!isNode(schema)) return 'any';
  if ('const' in schema) return new Set([kindOf(schema['const'])]);
  if (Array.isArray(schema['enum'])) return new Set(schema['enum'].map(kindOf));
  const t = schema['type'];
  if (typeof t === 'string') return new Set([t as Json]);
  if (Array.isArray(t)) return new Set(t as Json[]);
  return 'any';
}

function admits(k: Kinds, value: Json): boolean {
  if (k === 'any') return true;
  if (k.has(value)) return true;
  // An integer is a number; a number field holds integers.
  if (value === 'integer' && k.has('number')) return true;
  if (value === 'number' && k.has('integer')) return true;
  return false;
}

/**
 * The subschema at a dotted path, or `unknown` when the schema does not pin it down, or a reason the
 * path cannot exist. Arrays follow MongoDB: a numeric token picks an element, a name looks inside the
 * elements.
 */
type Resolved = { readonly schema: unknown } | { readonly unknown: true } | { readonly forbidden: string };

function resolve(schema: JsonSchema, path: readonly string[]): Resolved {
  let here: unknown = schema;
  for (let i = 0; i < path.length; i++) {
    const token = path[i]!;
    if (here === true || !isNode(here)) return { unknown: true };
    const k = kinds(here);
    if (k !== 'any' && k.has('array') && !k.has('object')) {
      if (!isNode(here['items']) && here['items'] !== false) return { unknown: true };
      here = here['items'];
      if (/^\d+$/.test(token)) continue;
      if (here === true || !isNode(here)) return { unknown: true };
    }
    const props = isNode(here['properties']) ? here['properties'] : undefined;
    if (props && Object.prototype.hasOwnProperty.call(props, token)) {
      here = props[token];
      continue;
    }
    if (here['patternProperties'] !== undefined || here['$ref'] !== undefined || here['allOf'] || here['anyOf'] || here['oneOf']) return { unknown: true };
    if (here['additionalProperties'] === false) {
      return { forbidden: `names "${path.slice(0, i + 1).join('.')}", which the schema forbids (additionalProperties: false)` };
    }
    if (isNode(here['additionalProperties'])) {
      here = here['additionalProperties'];
      continue;
    }
    return { unknown: true };
  }
  return { schema: here };
}

/** The types a condition can match at a field of kinds `k` (elements count for arrays). */
function elementKinds(schema: unknown): Kinds {
  const k = kinds(schema);
  if (k === 'any' || !isNode(schema) || !k.has('array')) return k;
  const items = kinds(schema['items']);
  return items === 'any' ? 'any' : new Set([...k, ...items]);
}

/** Every way `filter` cannot match payloads of `schema`, as `path: message` under `at`. */
export function filterTypeErrors(filter: Filter, schema: JsonSchema, at = 'filter'): string[] {
  const errors: string[] = [];
  const query = (q: unknown, path: string): void => {
    if (!isNode(q)) return;
    for (const [key, value] of Object.entries(q)) {
      const here = `${path}.${key}`;
      if (key === '$and' || key === '$or') (Array.isArray(value) ? value : []).forEach((v, i) => query(v, `${here}.${i}`));
      else if (key === '$not') query(value, here);
      else if (!key.startsWith('$')) field(key, value, here);
    }
  };
  const field = (key: string, c: unknown, path: string): void => {
    const r = resolve(schema, key.split('.'));
    if ('forbidden' in r) return void errors.push(`${path}: ${r.forbidden}`);
    if ('unknown' in r) return;
    const k = elementKinds(r.schema);
    const operand = (op: string, v: unknown, where: string) => {
      if (op === '$exists' || op === '$options') return;
      if (op === '$not') return isNode(v) && Object.keys(v).every((x) => x.startsWith('$')) ? Object.entries(v).forEach(([o, w]) => operand(o, w, `${where}.${o}`)) : undefined;
      if (op === '$regex') {
        if (!admits(k, 'string')) errors.push(`${where}: $regex tests strings, but the field holds ${describe(k)}`);
        return;
      }
      if (op === '$gt' || op === '$gte' || op === '$lt' || op === '$lte') {
        const want = kindOf(v);
        if (!admits(k, want)) errors.push(`${where}: compares with ${want === 'integer' ? 'a number' : `a ${want}`}, but the field holds ${describe(k)}`);
        return;
      }
      // $ne and $nin with an impossible value match everything: not wrong, so not checked.
      if (op === '$ne' || op === '$nin') return;
      const values = op === '$in' ? (Array.isArray(v) ? v : []) : [v];
      const allowed = enumerated(r.schema);
      const problems = values.map((x) => {
        const t = kindOf(x);
        // null matches a missing field too, so it is never impossible.
        if (t === 'null') return null;
        if (!admits(k, t)) return `${JSON.stringify(x)} is ${t === 'integer' ? 'a number' : `a ${t}`}, but the field holds ${describe(k)}`;
        if (allowed && !allowed.some((a) => JSON.stringify(a) === JSON.stringify(x))) return `${JSON.stringify(x)} is not one of the values the schema allows (${allowed.map((a) => JSON.stringify(a)).join(', ')})`;
        return null;
      });
      // A condition is wrong when no value it names can match ($in with one good value still can).
      if (values.length > 0 && problems.every((p) => p !== null)) {
        problems.forEach((p, i) => errors.push(`${op === '$in' ? `${where}.${i}` : where}: ${p}`));
      }
    };
    if (isNode(c) && Object.keys(c).length > 0 && Object.keys(c).every((x) => x.startsWith('$'))) {
      for (const [op, v] of Object.entries(c)) operand(op, v, `${path}.${op}`);
    } else operand('$eq', c, path);
  };
  query(filter, at);
  return errors;
}

/** The values a field may take when its schema lists them (`enum`, `const`), else null. */
function enumerated(schema: unknown): readonly unknown[] | null {
  if (!isNode(schema)) return null;
  if ('const' in schema) return [schema['const']];
  return Array.isArray(schema['enum']) ? schema['enum'] : null;
}

function describe(k: Kinds): string {
  if (k === 'any') return 'anything';
  if (k.size === 0) return 'nothing (its schema is false)';
  return [...k].map((t) => (t === 'integer' ? 'numbers' : t === 'null' ? 'null' : `${t}s`)).join(' or ');
}

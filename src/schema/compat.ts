/**
 * Schema evolution: would the new schema reject a payload the old one accepted? The check compares
 * schemas, not stored events, so it stays fast however long the log is.
 *
 * It is sound and conservative: the common keywords are analysed precisely (type, required, enum, const,
 * properties, additionalProperties, items, numeric and length bounds), and any other keyword that
 * validates (pattern, format, allOf/anyOf/oneOf/not, $ref, if/then/else, patternProperties, ...) counts as
 * breaking when it is added or changed, because amebo cannot prove the change is safe. Annotations
 * (title, description, examples, default, $comment, deprecated, readOnly, writeOnly) never count.
 */

type Schema = boolean | Record<string, unknown>;

const ANNOTATIONS = new Set(['title', 'description', 'examples', 'default', '$comment', 'deprecated', 'readOnly', 'writeOnly', '$id', 'example']);
const ANALYSED = new Set([
  'type',
  'required',
  'enum',
  'const',
  'properties',
  'additionalProperties',
  'items',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'uniqueItems',
]);
const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'] as const;
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'] as const;

/** Every way `next` rejects payloads that `prev` accepted, as `pointer: what changed`. Empty when safe. */
export function breakingChanges(prev: unknown, next: unknown): string[] {
  const out: string[] = [];
  compare(asSchema(prev), asSchema(next), '', out);
  return out;
}

function asSchema(s: unknown): Schema {
  if (typeof s === 'boolean') return s;
  if (s !== null && typeof s === 'object' && !Array.isArray(s)) return s as Record<string, unknown>;
  return true;
}

function at(path: string): string {
  return path === '' ? '(root)' : path;
}

function compare(prev: Schema, next: Schema, path: string, out: string[]): void {
  if (next === true) return;
  if (prev === false) return;
  if (next === false) {
    out.push(`${at(path)}: the schema now rejects everything`);
    return;
  }
  const p: Record<string, unknown> = prev === true ? {} : prev;
  const n = next;

  // type: the new set of types must include every old one (integer counts inside number).
  const pt = types(p['type']);
  const nt = types(n['type']);
  if (nt !== null) {
    const lost = pt === null ? ['any'] : pt.filter((t) => !nt.includes(t) && !(t === 'integer' && nt.includes('number')));
    if (lost.length > 0) out.push(`${at(path)}: type narrowed from ${pt === null ? 'any' : pt.join('|')} to ${nt.join('|')}`);
  }

  const pr = new Set(strings(p['required']));
  for (const r of strings(n['required'])) if (!pr.has(r)) out.push(`${at(path)}: "${r}" is newly required`);

  if (Array.isArray(n['enum'])) {
    if (!Array.isArray(p['enum'])) out.push(`${at(path)}: an enum was added`);
    else for (const v of p['enum']) if (!n['enum'].some((w) => equal(v, w))) out.push(`${at(path)}: enum lost the value ${JSON.stringify(v)}`);
  }
  if ('const' in n && !('const' in p && equal(p['const'], n['const']))) out.push(`${at(path)}: const was added or changed`);

  for (const k of LOWER_BOUNDS) {
    if (typeof n[k] === 'number' && !(typeof p[k] === 'number' && (p[k] as number) >= (n[k] as number))) out.push(`${at(path)}: ${k} was added or raised to ${n[k]}`);
  }
  for (const k of UPPER_BOUNDS) {
    if (typeof n[k] === 'number' && !(typeof p[k] === 'number' && (p[k] as number) <= (n[k] as number))) out.push(`${at(path)}: ${k} was added or lowered to ${n[k]}`);
  }
  if (n['uniqueItems'] === true && p['uniqueItems'] !== true) out.push(`${at(path)}: uniqueItems was added`);

  // properties: each property's schema must accept what it accepted before; a property that was not
  // described before was governed by additionalProperties.
  const pp = (p['properties'] ?? {}) as Record<string, Schema>;
  const np = (n['properties'] ?? {}) as Record<string, Schema>;
  const pAdditional = asSchema(p['additionalProperties'] ?? true);
  for (const [name, schema] of Object.entries(np)) {
    compare(name in pp ? asSchema(pp[name]) : pAdditional, asSchema(schema), `${path}/properties/${name}`, out);
  }
  const nAdditional = asSchema(n['additionalProperties'] ?? true);
  if (nAdditional === false && pAdditional !== false) out.push(`${at(path)}: additionalProperties became false`);
  else compare(pAdditional, nAdditional, `${path}/additionalProperties`, out);
  // A property described before but not now falls under the new additionalProperties.
  for (const [name, schema] of Object.entries(pp)) {
    if (!(name in np) && nAdditional !== true) compare(asSchema(schema), nAdditional, `${path}/properties/${name}`, out);
  }

  if (n['items'] !== undefined) {
    if (Array.isArray(n['items']) || Array.isArray(p['items'])) {
      if (!equal(p['items'], n['items'])) out.push(`${at(path)}: tuple items changed`);
    } else compare(asSchema(p['items'] ?? true), asSchema(n['items']), `${path}/items`, out);
  }

  // Everything else that validates: unchanged or breaking.
  for (const k of Object.keys(n)) {
    if (ANALYSED.has(k) || ANNOTATIONS.has(k)) continue;
    if (k === '$schema') {
      if (p[k] !== undefined && p[k] !== n[k]) out.push(`${at(path)}: $schema changed to another draft`);
      continue;
    }
    if (!equal(p[k], n[k])) out.push(`${at(path)}: ${k} was added or changed (amebo does not analyse ${k}, so it counts as breaking)`);
  }
}

function types(t: unknown): string[] | null {
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return null;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Rewrites of a schema into an equivalent one that ajv checks as the specification says. The input is
 * never modified, and a schema that needs no rewrite is returned as it is.
 *
 * **An empty `enum`** is a valid schema that no instance satisfies; ajv refuses to compile it, so it
 * becomes `not: {}` (through `allOf` when the schema already has a `not`).
 *
 * **Properties named `__proto__`.** Ajv leaves the name out wherever a
 * schema maps property names to something (`properties`, `patternProperties`, `dependencies`,
 * `dependentRequired`, `dependentSchemas`), to keep its own code safe from prototype pollution, so
 * such a property was never checked. Before compiling, amebo rewrites each of those entries into an
 * equivalent form ajv does check:
 *
 * - `properties: {"__proto__": S}` → `patternProperties: {"^__proto__$": S}` (an exact-match pattern
 *   applies to the same one property and counts for `additionalProperties` the same way);
 * - a `patternProperties` key `__proto__` → the same regular expression written `(?:__proto__)`;
 * - `dependentRequired`/`dependencies: {"__proto__": [names]}` and `dependentSchemas`/`dependencies:
 *   {"__proto__": S}` → `allOf: [{if: {required: ["__proto__"]}, then: …}]`.
 *
 * `required: ["__proto__"]` and names such as `constructor` or `toString` need no rewrite: the compiler
 * runs ajv with `ownProperties`, so inherited members of Object.prototype never count as present.
 */

type Node = Record<string, unknown>;

const PROTO = '__proto__';
/** Keywords whose values are data (compared or annotated), never schemas. */
const DATA = new Set(['const', 'enum', 'default', 'examples']);
/** Keywords mapping names to subschemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasProto = (v: unknown): boolean => isNode(v) && Object.prototype.hasOwnProperty.call(v, PROTO);

/** True when the schema has an empty `enum`, or maps the name `__proto__` where ajv would skip it. */
export function needsRewrite(schema: unknown): boolean {
  let found = false;
  visit(schema, (node) => {
    if (Array.isArray(node['enum']) && node['enum'].length === 0) found = true;
    for (const key of ['properties', 'patternProperties', 'dependencies', 'dependentRequired', 'dependentSchemas']) {
      if (hasProto(node[key])) found = true;
    }
  });
  return found;
}

/** The schema, rewritten where ajv would not check it as the specification says. */
export function normalizeSchema(schema: unknown): unknown {
  if (!needsRewrite(schema)) return schema;
  return rewrite(schema);
}

function rewrite(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rewrite);
  if (!isNode(schema)) return schema;
  const out: Node = {};
  const extraAllOf: Node[] = [];
  let extraPatterns: Array<[string, unknown]> = [];
  for (const key of Object.keys(schema)) {
    const value = schema[key];
    if (key === 'enum' && Array.isArray(value) && value.length === 0) {
      extraAllOf.push({ not: {} });
      continue;
    }
    if (DATA.has(key) || !isNode(value) || (!SCHEMA_MAPS.has(key) && key !== 'dependencies' && key !== 'dependentRequired')) {
      define(out, key, DATA.has(key) ? value : rewrite(value));
      continue;
    }
    const map: Node = {};
    for (const name of Object.keys(value)) {
      const entry = Array.isArray(value[name]) ? value[name] : rewrite(value[name]);
      if (name !== PROTO || key === '$defs' || key === 'definitions') {
        define(map, name, entry);
        continue;
      }
      if (key === 'properties') extraPatterns.push(['^__proto__$', entry]);
      else if (key === 'patternProperties') extraPatterns.push(['(?:__proto__)', entry]);
      else if (Array.isArray(entry)) extraAllOf.push({ if: { required: [PROTO] }, then: { required: entry } });
      else extraAllOf.push({ if: { required: [PROTO] }, then: entry });
    }
    define(out, key, map);
  }
  if (extraPatterns.length > 0) {
    const patterns: Node = isNode(out['patternProperties']) ? { ...(out['patternProperties'] as Node) } : {};
    // A pattern already taken keeps its schema; the moved one then applies through allOf.
    extraPatterns = extraPatterns.filter(([p, s]) => {
      if (!Object.prototype.hasOwnProperty.call(patterns, p)) {
        define(patterns, p, s);
        return false;
      }
      return true;
    });
    for (const [p, s] of extraPatterns) extraAllOf.push({ patternProperties: { [p]: s } });
    define(out, 'patternProperties', patterns);
  }
  if (extraAllOf.length > 0) define(out, 'allOf', [...(Array.isArray(out['allOf']) ? (out['allOf'] as unknown[]) : []), ...extraAllOf]);
  return out;
}

/** Sets an own property, even one named `__proto__` (plain assignment would set the prototype). */
function define(target: Node, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function visit(schema: unknown, fn: (node: Node) => void): void {
  const stack: unknown[] = [schema];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if (!isNode(node)) continue;
    fn(node);
    for (const key of Object.keys(node)) if (!DATA.has(key)) stack.push(node[key]);
  }
}

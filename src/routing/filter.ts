/**
 * A subscription's payload filter: a MongoDB-style query, evaluated by sift with only the operators
 * amebo documents (`$eq $ne $gt $gte $lt $lte $in $nin $exists $regex`, combined with `$and $or $not`).
 * `$regex` runs on RE2 in linear time, like every schema pattern. Filters come from JSON or YAML, so
 * they are data only: anything else (a `$where`, an unknown operator, an object mixing operators and
 * fields) is refused with its path before it reaches sift.
 */
import siftModule from 'sift';
import type { Query } from 'sift';
import { linearPattern, PatternError } from '../schema/linear-regexp.js';

/** A filter as written: field paths (dotted for nested fields) to values or operator objects. */
export type Filter = Readonly<Record<string, unknown>>;

const COMPARISONS = new Set(['$gt', '$gte', '$lt', '$lte']);
const FIELD_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$regex', '$options', '$not']);
const MAX_DEPTH = 16;
const MAX_NODES = 512;
const FIELD = /^[^$.][^.]*(\.[^$.][^.]*)*$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown) => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** Every problem of a filter, as `path: message` under `at` (e.g. `filter`). Empty when it is valid. */
export function filterErrors(filter: unknown, at = 'filter'): string[] {
  const errors: string[] = [];
  let nodes = 0;
  const query = (q: unknown, path: string, depth: number): void => {
    if (++nodes > MAX_NODES) return void errors.push(`${at}: more than ${MAX_NODES} conditions`);
    if (depth > MAX_DEPTH) return void errors.push(`${path}: nested deeper than ${MAX_DEPTH}`);
    if (!isObject(q)) return void errors.push(`${path}: must be an object of field paths and conditions`);
    for (const [key, value] of Object.entries(q)) {
      const here = `${path}.${key}`;
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(value) || value.length === 0) errors.push(`${here}: must be a non-empty list of filters`);
        else value.forEach((v, i) => query(v, `${here}.${i}`, depth + 1));
      } else if (key === '$not') query(value, here, depth + 1);
      else if (key.startsWith('$')) errors.push(`${here}: unknown operator; a filter uses $and, $or, $not and field paths`);
      else if (!FIELD.test(key)) errors.push(`${here}: a field path is dot-separated names, none empty or starting with "$"`);
      else condition(value, here, depth + 1);
    }
  };
  const condition = (c: unknown, path: string, depth: number): void => {
    if (++nodes > MAX_NODES) return void errors.push(`${at}: more than ${MAX_NODES} conditions`);
    if (!isObject(c)) {
      if (!isScalar(c) && !Array.isArray(c)) errors.push(`${path}: must be a value or an object of operators`);
      return;
    }
    const keys = Object.keys(c);
    if (keys.length === 0 || !keys.every((k) => k.startsWith('$'))) {
      return void errors.push(`${path}: an object here must hold operators only ($eq, $gt, ...); to compare with an object, use $eq`);
    }
    for (const [op, v] of Object.entries(c)) {
      const here = `${path}.${op}`;
      if (!FIELD_OPERATORS.has(op)) errors.push(`${here}: unknown operator; use $eq $ne $gt $gte $lt $lte $in $nin $exists $regex $not`);
      else if (COMPARISONS.has(op) && typeof v !== 'number' && typeof v !== 'string') errors.push(`${here}: must be a number or a string`);
      else if ((op === '$in' || op === '$nin') && !Array.isArray(v)) errors.push(`${here}: must be a list of values`);
      else if (op === '$exists' && typeof v !== 'boolean') errors.push(`${here}: must be true or false`);
      else if (op === '$options' && (v !== 'i' && v !== '')) errors.push(`${here}: only "i" (case-insensitive) is supported`);
      else if (op === '$options' && !('$regex' in c)) errors.push(`${here}: goes with $regex`);
      else if (op === '$not') condition(v, here, depth + 1);
      else if (op === '$regex') {
        if (typeof v !== 'string') errors.push(`${here}: must be a regular expression, as a string`);
        else {
          try {
            linearPattern(v, c['$options'] === 'i' ? 'ui' : 'u');
          } catch (err) {
            errors.push(`${here}: ${err instanceof PatternError ? err.message : String(err)}`);
          }
        }
      }
    }
  };
  query(filter, at, 0);
  return errors;
}

// sift is CommonJS: Node gives its exports as the default import only.
const { createQueryTester, createEqualsOperation, $and, $eq, $exists, $gt, $gte, $in, $lt, $lte, $ne, $nin, $not, $or } = siftModule as unknown as typeof import('sift');

/** $regex on RE2: the pattern (and `$options: "i"`) of the owning query, tested on strings only. */
function $regex(pattern: string, owner: Query<unknown>, options: Parameters<typeof import('sift').createEqualsOperation>[2]) {
  const re = linearPattern(pattern, (owner as Record<string, unknown>)['$options'] === 'i' ? 'ui' : 'u');
  return createEqualsOperation((value: unknown) => typeof value === 'string' && re.test(value), owner, options);
}

const OPERATIONS = { $and, $or, $not, $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $regex, $options: () => null };

/** A test of payloads against a filter that `filterErrors` found valid. */
export function compileFilter(filter: Filter): (payload: unknown) => boolean {
  return createQueryTester(filter as Query<unknown>, { operations: OPERATIONS as never });
}

/**
 * `uniqueItems` in linear time. Ajv compares every pair of items that are not all scalars with a deep
 * equality, so one 230 KB payload of 20,000 distinct objects held the event loop for 4.9 s (measured):
 * a stall any publisher could cause. Here each item is reduced to a canonical JSON text (object keys
 * sorted) and the texts go through a Map, so equal items meet in one pass over the payload. JSON Schema
 * equality is exactly that: same type, same value, objects equal whatever the order of their keys.
 */
import type { Ajv } from 'ajv';

/** A JSON value's text with object keys sorted: two values are equal in JSON Schema iff these are. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  // Numbers parsed from JSON are already canonical (1.0 and 1 are the same double).
  return JSON.stringify(value) ?? 'null';
}

interface KeywordError {
  readonly keyword: string;
  readonly message: string;
  readonly params: Record<string, unknown>;
}

/** A function keyword of ajv reports its failures on its own `errors` property. */
function uniqueItems(schema: unknown, data: unknown): boolean {
  uniqueItems.errors = null;
  if (schema !== true || !Array.isArray(data) || data.length < 2) return true;
  const seen = new Map<string, number>();
  for (let i = 0; i < data.length; i++) {
    const key = canonicalJson(data[i]);
    const j = seen.get(key);
    if (j !== undefined) {
      uniqueItems.errors = [{ keyword: 'uniqueItems', message: `must NOT have duplicate items (items ## ${j} and ${i} are identical)`, params: { i, j } }];
      return false;
    }
    seen.set(key, i);
  }
  return true;
}
uniqueItems.errors = null as KeywordError[] | null;

/** Replaces ajv's `uniqueItems` of `ajv` with the linear one. */
export function useLinearUniqueItems(ajv: Ajv): void {
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate: uniqueItems as never });
}

/**
 * Finds regular expressions in a JSON Schema that could take exponential time (catastrophic
 * backtracking), so an action cannot turn every publish into a denial of service. The star-height
 * analysis is safe-regex2's (fastify's); this module only walks the schema to find the patterns.
 */
import safeRegex from 'safe-regex2';

export interface UnsafePattern {
  readonly path: string;
  readonly pattern: string;
}

/** Keywords whose values are data, not subschemas: a "pattern" inside them is not a regex. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example']);

/** Every `pattern` and `patternProperties` key in `schema` that is unsafe or not a valid regex. */
export function unsafePatterns(schema: unknown): UnsafePattern[] {
  const found: UnsafePattern[] = [];
  const stack: Array<{ node: unknown; path: string }> = [{ node: schema, path: '' }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (Array.isArray(node)) {
      node.forEach((child, i) => stack.push({ node: child, path: `${path}/${i}` }));
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    for (const [key, value] of Object.entries(node)) {
      const here = `${path}/${key}`;
      if (DATA_KEYWORDS.has(key)) continue;
      if (key === 'pattern' && typeof value === 'string' && !isSafe(value)) found.push({ path: here, pattern: value });
      if (key === 'patternProperties' && value !== null && typeof value === 'object') {
        for (const p of Object.keys(value)) if (!isSafe(p)) found.push({ path: `${here}/${p}`, pattern: p });
      }
      if (value !== null && typeof value === 'object') stack.push({ node: value, path: here });
    }
  }
  return found;
}

function isSafe(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
  } catch {
    // Ajv reports invalid patterns itself with a precise message.
    return true;
  }
  return safeRegex(pattern);
}

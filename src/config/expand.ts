/** `${ENV_VAR}` expansion and forbidden-key checks over a parsed config tree. Pure. */

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string; `$${` stays a literal `${`. An unset
 * variable without a default adds `path: environment variable NAME is not set` to `errors`.
 * Expansion happens after YAML parsing, so a variable's value can never change the file's structure.
 */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, errors: string[], path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === '$${') return '${';
      const v = env[name!];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      errors.push(`${path || '(root)'}: environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, errors, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty, not assignment: a key named "__proto__" (allowed inside schemata) must stay a
      // plain property instead of replacing the object's prototype.
      Object.defineProperty(out, k, { value: expandEnv(v, env, errors, path ? `${path}.${k}` : k), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

/** Paths of keys that could pollute prototypes (`__proto__`, `constructor`, `prototype`). */
export function forbiddenKeys(value: unknown, path = ''): string[] {
  const found: string[] = [];
  if (Array.isArray(value)) value.forEach((v, i) => found.push(...forbiddenKeys(v, `${path}[${i}]`)));
  else if (value !== null && typeof value === 'object') {
    for (const k of Object.keys(value)) {
      const here = path ? `${path}.${k}` : k;
      // Inside an action's inline schema these are ordinary property names, which JSON Schema allows.
      if (FORBIDDEN.has(k) && !/^actions\.[^.]+(\.[^.]+)*\.schemata\./.test(`${here}.`)) found.push(here);
      found.push(...forbiddenKeys((value as Record<string, unknown>)[k], here));
    }
  }
  return found;
}

/**
 * The compile cache for action schemas. One Ajv instance per draft; compiled validators are cached by
 * the schema's content hash, so a reload that leaves a schema alone reuses its validator and a reload
 * never grows memory with copies of the same schema.
 */
import { createHash } from 'node:crypto';
import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction, type Options } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { amebo } from '../errors.js';
import { unsafePatterns } from './safe-pattern.js';
import { RE2JS } from 're2js';

/** One schema violation, as returned in a 422's `details.violations`. */
export interface Violation {
  /** JSON pointer to the offending value (for `required`, to the missing property). */
  readonly pointer: string;
  readonly keyword: string;
  readonly message: string;
}

/** A compiled payload validator. */
export interface PayloadValidator {
  /** Content hash of the schema. */
  readonly hash: string;
  readonly draft: Draft;
  /** Returns null when the payload is valid, or every violation. */
  validate(payload: unknown): Violation[] | null;
}

export type Draft = 'draft-07' | '2019-09' | '2020-12';

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/**
 * Every `pattern` and `patternProperties` key runs on RE2 (re2js, pure JS): matching takes time linear
 * in the input, so no pattern can stall the daemon on a hostile payload. RE2 has no backreferences or
 * lookarounds; a schema that uses them is refused with the reason.
 */
const linearRegExp = Object.assign(
  (pattern: string) => {
    let re: ReturnType<typeof RE2JS.compile>;
    try {
      re = RE2JS.compile(pattern);
    } catch (err) {
      throw new Error(`pattern ${JSON.stringify(pattern)} cannot run in linear time (${(err as Error).message}); backreferences and lookarounds are not supported`);
    }
    return { test: (s: string) => re.matcher(s).find() };
  },
  { code: 'RE2JS' },
);

const OPTIONS: Options = {
  allErrors: true,
  strict: false,
  // Schemas with an $id must not collide across reloads: keep them out of the instance's registry.
  addUsedSchema: false,
  validateFormats: true,
  code: { regExp: linearRegExp as unknown as NonNullable<Options['code']>['regExp'] },
};

/** Which draft a schema asks for through `$schema`. Draft-07 is the default. */
export function draftOf(schema: unknown): Draft {
  const uri = typeof schema === 'object' && schema !== null ? (schema as { $schema?: unknown }).$schema : undefined;
  if (typeof uri === 'string') {
    if (uri.includes('2020-12')) return '2020-12';
    if (uri.includes('2019-09')) return '2019-09';
  }
  return 'draft-07';
}

/** Stable JSON text with sorted keys, so equal schemas hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function schemaHash(schema: unknown): string {
  return createHash('sha256').update(canonical(schema)).digest('hex');
}

function toViolation(e: ErrorObject): Violation {
  let pointer = e.instancePath;
  if (e.keyword === 'required' && typeof e.params['missingProperty'] === 'string') {
    pointer = `${pointer}/${e.params['missingProperty'].replace(/~/g, '~0').replace(/\//g, '~1')}`;
  } else if (e.keyword === 'additionalProperties' && typeof e.params['additionalProperty'] === 'string') {
    pointer = `${pointer}/${e.params['additionalProperty'].replace(/~/g, '~0').replace(/\//g, '~1')}`;
  }
  return { pointer: pointer || '/', keyword: e.keyword, message: e.message ?? 'is invalid' };
}

/**
 * The path where a schema names a property `__proto__` (in properties, required or the dependent*
 * keywords), or null. Ajv cannot check such a property: it accepts any value, or none, for it.
 */
function protoNames(schema: unknown, path = ''): string | null {
  if (Array.isArray(schema)) {
    for (let i = 0; i < schema.length; i++) {
      const found = protoNames(schema[i], `${path}/${i}`);
      if (found) return found;
    }
    return null;
  }
  if (schema === null || typeof schema !== 'object') return null;
  for (const key of Object.keys(schema)) {
    const value = (schema as Record<string, unknown>)[key];
    const names = key === 'properties' || key === 'dependentRequired' || key === 'dependentSchemas' || key === 'dependencies';
    if (names && value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, '__proto__')) return `${path}/${key}/__proto__`;
    if (key === 'required' && Array.isArray(value) && value.includes('__proto__')) return `${path}/required`;
    const found = protoNames(value, `${path}/${key}`);
    if (found) return found;
  }
  return null;
}

/** Compiles schemas for all drafts and caches the result by content hash. */
export class SchemaCompiler {
  readonly #instances = new Map<Draft, Ajv>();
  readonly #cache = new Map<string, PayloadValidator>();

  #ajv(draft: Draft): Ajv {
    let ajv = this.#instances.get(draft);
    if (!ajv) {
      const Ctor = draft === '2020-12' ? Ajv2020 : draft === '2019-09' ? Ajv2019 : Ajv;
      ajv = addFormats(new Ctor(OPTIONS) as Ajv);
      this.#instances.set(draft, ajv);
    }
    return ajv;
  }

  /**
   * Compiles a payload schema. Throws AMEBO_ERR_INVALID_SCHEMA with the reason when it is not a valid
   * schema of its draft, or when it uses a regular expression that could take exponential time.
   */
  compile(schema: unknown): PayloadValidator {
    if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
      throw amebo('AMEBO_ERR_INVALID_SCHEMA', 'schemata must be a JSON Schema object');
    }
    const hash = schemaHash(schema);
    const cached = this.#cache.get(hash);
    if (cached) return cached;

    const proto = protoNames(schema);
    if (proto !== null) {
      throw amebo('AMEBO_ERR_INVALID_SCHEMA', `schemata names a property "__proto__" (${proto}); JSON Schema validators cannot check it, so amebo refuses it`);
    }
    const unsafe = unsafePatterns(schema);
    if (unsafe.length > 0) {
      throw amebo(
        'AMEBO_ERR_INVALID_SCHEMA',
        `schemata has a pattern that can take exponential time: ${unsafe[0]!.path}: ${JSON.stringify(unsafe[0]!.pattern)}`,
        { unsafe_patterns: unsafe },
      );
    }
    const draft = draftOf(schema);
    const ajv = this.#ajv(draft);
    let fn: ValidateFunction;
    try {
      fn = ajv.compile(schema as AnySchema);
    } catch (err) {
      throw amebo('AMEBO_ERR_INVALID_SCHEMA', `schemata is not a valid ${draft} JSON Schema: ${(err as Error).message}`);
    }
    const validator: PayloadValidator = {
      hash,
      draft,
      validate(payload) {
        if (fn(payload)) return null;
        return (fn.errors ?? []).map(toViolation);
      },
    };
    this.#cache.set(hash, validator);
    return validator;
  }

  /** Drops cached validators whose hash is not in `keep` (after a reload). */
  prune(keep: ReadonlySet<string>): void {
    for (const hash of this.#cache.keys()) if (!keep.has(hash)) this.#cache.delete(hash);
  }
}

/**
 * Action schemas, compiled one by one into validators that cannot affect each other.
 *
 * - **Isolation.** Each schema is compiled by an Ajv instance of its own, so nothing compiled for one
 *   action (a pattern, an `$id`, a format, a keyword) can change the verdicts of another, across creates,
 *   updates, reloads and restarts. Checking a schema against its draft's meta-schema is the costly part
 *   of a fresh instance (3–6 ms); that check runs on one shared instance per draft, which only ever
 *   validates schemas and compiles nothing but the meta-schemas, so a compile costs about 0.5 ms.
 * - **Safety that refuses only the unsafe.** Every `pattern` runs on RE2 in linear time
 *   (linear-regexp.ts); `uniqueItems` runs in linear time (unique-items.ts); a schema whose validation
 *   recurses without end is refused when it is compiled, and a payload that would still overflow the
 *   stack gets a 422, never a 500.
 * - **Every schema the draft allows**: boolean schemas, an empty `enum`, and properties named
 *   `__proto__`, `constructor` or `toString` (normalize.ts, and ajv's `ownProperties`).
 * - `format` is asserted in every draft, 2020-12 included (the seed expects `"format": "email"` to be
 *   checked).
 *
 * Validators are cached by the schema's content hash: equal schemas give equal verdicts, so sharing
 * one is safe, and a reload that leaves a schema alone reuses its validator.
 */
import { createHash } from 'node:crypto';
import { Ajv, type AnySchema, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { amebo } from '../errors.js';
import { canonicalJson, useLinearUniqueItems } from './unique-items.js';
import { normalizeSchema } from './normalize.js';
import { ajvRegExp, PatternError } from './linear-regexp.js';

import type { JsonSchema } from '../types.js';

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

type AjvClass = new (options: Options) => Ajv;

const CLASSES: Record<Draft, AjvClass> = { 'draft-07': Ajv, '2019-09': Ajv2019 as unknown as AjvClass, '2020-12': Ajv2020 as unknown as AjvClass };
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

const COMPILE_OPTIONS: Options = {
  allErrors: true,
  strict: false,
  // Checked once, on the shared checker of the draft (see `#check`).
  validateSchema: false,
  // Inherited members of Object.prototype (`toString`, `constructor`) are not properties of a payload.
  ownProperties: true,
  validateFormats: true,
  code: { regExp: ajvRegExp as unknown as NonNullable<Options['code']>['regExp'] },
};

/** Instances validated once at compile time: a schema whose validation overflows on these is refused. */
const PROBES: readonly unknown[] = [null, true, 0, 1.5, '', 'a', [], [0], {}, { a: 0 }];
const MAX_PROBE_NAMES = 256;

/**
 * The fixed probes, plus objects that carry every property name the schema mentions (as null, a
 * number, a string, an array and an object), so a `$ref` loop reached only through a named property is
 * found at compile time too.
 */
function probesFor(schema: unknown): unknown[] {
  const names = new Set<string>();
  const stack: unknown[] = [schema];
  while (stack.length > 0 && names.size < MAX_PROBE_NAMES) {
    const node = stack.pop();
    if (Array.isArray(node)) stack.push(...node);
    else if (typeof node === 'object' && node !== null) {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'const' || key === 'enum' || key === 'default' || key === 'examples') continue;
        if ((key === 'properties' || key === 'dependentSchemas' || key === 'dependentRequired') && typeof value === 'object' && value !== null) {
          for (const name of Object.keys(value)) names.add(name);
        }
        if (key === 'required' && Array.isArray(value)) for (const name of value) if (typeof name === 'string') names.add(name);
        stack.push(value);
      }
    }
  }
  if (names.size === 0) return [...PROBES];
  const withAll = (value: () => unknown) => {
    const o: Record<string, unknown> = {};
    for (const name of names) Object.defineProperty(o, name, { value: value(), enumerable: true, writable: true, configurable: true });
    return o;
  };
  return [...PROBES, withAll(() => null), withAll(() => 0), withAll(() => 'a'), withAll(() => []), withAll(() => ({}))];
}

/** Which draft a schema asks for through `$schema`. Draft-07 is the default. */
export function draftOf(schema: unknown): Draft {
  const uri = typeof schema === 'object' && schema !== null ? (schema as { $schema?: unknown }).$schema : undefined;
  if (typeof uri === 'string') {
    if (uri.includes('2020-12')) return '2020-12';
    if (uri.includes('2019-09')) return '2019-09';
  }
  return 'draft-07';
}

export function schemaHash(schema: unknown): string {
  return createHash('sha256').update(canonicalJson(schema)).digest('hex');
}

const escapePointer = (name: string) => name.replace(/~/g, '~0').replace(/\//g, '~1');

function toViolation(e: ErrorObject): Violation {
  let pointer = e.instancePath;
  if (e.keyword === 'required' && typeof e.params['missingProperty'] === 'string') {
    pointer = `${pointer}/${escapePointer(e.params['missingProperty'])}`;
  } else if (e.keyword === 'additionalProperties' && typeof e.params['additionalProperty'] === 'string') {
    pointer = `${pointer}/${escapePointer(e.params['additionalProperty'])}`;
  }
  return { pointer: pointer || '/', keyword: e.keyword, message: e.message ?? 'is invalid' };
}

function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

const RECURSION_VIOLATION: readonly Violation[] = Object.freeze([
  { pointer: '/', keyword: '$ref', message: 'cannot be validated: the schema recurses too deeply for this payload' },
]);

/** Compiles action schemas, each in isolation, and caches the validators by content hash. */
export class SchemaCompiler {
  readonly #checkers = new Map<Draft, Ajv>();
  readonly #cache = new Map<string, PayloadValidator>();

  /** The shared instance that checks schemas against their draft's meta-schema, and nothing else. */
  #checker(draft: Draft): Ajv {
    let ajv = this.#checkers.get(draft);
    if (!ajv) {
      ajv = new CLASSES[draft]({ strict: false, allErrors: true, validateFormats: true });
      addFormats(ajv);
      this.#checkers.set(draft, ajv);
    }
    return ajv;
  }

  #check(schema: JsonSchema, draft: Draft): void {
    if (typeof schema === 'boolean') return;
    const checker = this.#checker(draft);
    let valid: boolean;
    try {
      valid = checker.validateSchema(schema as AnySchema) as boolean;
    } catch (err) {
      throw amebo('AMEBO_ERR_INVALID_SCHEMA', `schemata is not a valid ${draft} JSON Schema: ${(err as Error).message}`);
    }
    if (!valid) {
      throw amebo('AMEBO_ERR_INVALID_SCHEMA', `schemata is not a valid ${draft} JSON Schema: ${checker.errorsText(checker.errors, { dataVar: 'schemata' })}`, {
        violations: (checker.errors ?? []).map(toViolation),
      });
    }
  }

  /**
   * Compiles a payload schema. Throws AMEBO_ERR_INVALID_SCHEMA with the reason when it is not a valid
   * schema of its draft, uses a pattern that cannot run in linear time, or recurses without end.
   */
  compile(schema: unknown): PayloadValidator {
    if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
      throw amebo('AMEBO_ERR_INVALID_SCHEMA', 'schemata must be a JSON Schema: an object, true or false');
    }
    const hash = schemaHash(schema);
    const cached = this.#cache.get(hash);
    if (cached) return cached;

    const draft = draftOf(schema);
    // Normalised first: ajv's meta-schemas refuse an empty enum, which the drafts allow.
    const normal = normalizeSchema(schema) as JsonSchema;
    this.#check(normal, draft);
    const ajv = new CLASSES[draft](COMPILE_OPTIONS);
    addFormats(ajv);
    useLinearUniqueItems(ajv);
    let fn: ValidateFunction;
    try {
      fn = ajv.compile(normal as AnySchema);
    } catch (err) {
      if (err instanceof PatternError) throw amebo('AMEBO_ERR_INVALID_SCHEMA', `schemata cannot be used: ${err.message}`, { pattern: err.pattern, reason: err.reason });
      const reason = isStackOverflow(err) ? 'its references nest or recurse too deeply to compile' : (err as Error).message;
      throw amebo('AMEBO_ERR_INVALID_SCHEMA', `schemata is not a valid ${draft} JSON Schema: ${reason}`);
    }
    for (const probe of probesFor(schema)) {
      try {
        fn(probe);
      } catch (err) {
        if (!isStackOverflow(err)) throw err;
        throw amebo(
          'AMEBO_ERR_INVALID_SCHEMA',
          `schemata cannot be used: validating even ${JSON.stringify(probe).slice(0, 80)} against it recurses without end (a $ref, $dynamicRef or $recursiveRef loop that never descends into the payload)`,
        );
      }
    }
    const validator: PayloadValidator = {
      hash,
      draft,
      validate(payload) {
        try {
          if (fn(payload)) return null;
        } catch (err) {
          // The payload depth is bounded (server.max_depth), so only a schema that recurses on the
          // same part of the payload can get here; its verdict is a clean 422, never a crash.
          if (isStackOverflow(err)) return [...RECURSION_VIOLATION];
          throw err;
        }
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

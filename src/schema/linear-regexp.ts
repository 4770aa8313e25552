/**
 * The regular-expression engine behind every `pattern` and `patternProperties` key: RE2 (re2js, pure
 * JS), whose matching takes time linear in the input, so no pattern can stall the daemon on a hostile
 * payload, whatever its nesting of quantifiers; or, for a pattern proven deterministic, V8's own
 * engine, which is then linear too and much faster. Patterns are ECMA-262 regular expressions, rewritten
 * into RE2's syntax with the same meaning (ecma-to-re2.ts). Backreferences and lookarounds have no
 * linear-time match: they, and the rare constructs RE2 lacks (see `PatternError`), are the only
 * patterns refused.
 */
import { RE2JS } from 're2js';
import { ecmaToRe2, NotLinear } from './ecma-to-re2.js';
import { isDeterministic } from './deterministic.js';

/** What ajv needs of a compiled pattern. */
export interface LinearPattern {
  test(input: string): boolean;
  /**
   * Ajv shares compiled patterns within an instance under the key `String(rx)`. Each pattern must
   * therefore name itself exactly: an object's default "[object Object]" made every pattern of an
   * instance answer with the first one compiled.
   */
  toString(): string;
}

/**
 * Why a pattern is refused: not a regular expression at all, one that needs backtracking, or one RE2
 * cannot express (a repeat count over 1000, a Unicode property it does not know).
 */
export class PatternError extends Error {
  constructor(
    readonly pattern: string,
    readonly reason: 'invalid' | 'not-linear' | 'unsupported',
    detail: string,
  ) {
    super(
      reason === 'invalid'
        ? `pattern ${JSON.stringify(pattern)} is not a valid regular expression (${detail})`
        : reason === 'not-linear'
          ? `pattern ${JSON.stringify(pattern)} cannot run in linear time: ${detail}; backreferences and lookarounds are not supported`
          : `pattern ${JSON.stringify(pattern)} is beyond the linear-time engine (RE2): ${detail}`,
    );
    this.name = 'PatternError';
  }
}

/**
 * Compiles `pattern` for linear-time matching, or throws a PatternError that says why it cannot.
 * `flags` are ECMAScript's: `u` always (as ajv runs patterns), `i` for a case-insensitive match.
 * Every pattern must compile on RE2, so the patterns refused are the same whichever engine runs them;
 * a deterministic one (deterministic.ts) then runs on V8's engine, 5–15× faster per match and still
 * linear, and the rest on RE2.
 */
export function linearPattern(pattern: string, flags = 'u'): LinearPattern {
  let v8: RegExp;
  try {
    // A pattern JavaScript rejects is not a JSON Schema pattern, whatever RE2 would make of it.
    v8 = new RegExp(pattern, flags);
  } catch (err) {
    throw new PatternError(pattern, 'invalid', (err as Error).message.replace(/^Invalid regular expression: /, ''));
  }
  let re: ReturnType<typeof RE2JS.compile>;
  try {
    re = RE2JS.compile(ecmaToRe2(pattern), flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (err) {
    if (err instanceof NotLinear) throw new PatternError(pattern, 'not-linear', err.message);
    // What RE2 cannot express: a repeat count over 1000, v-flag set operations, some Unicode properties.
    throw new PatternError(pattern, 'unsupported', (err as Error).message.replace(/^error parsing regexp: /, ''));
  }
  const key = `re2:${flags}:${JSON.stringify(pattern)}`;
  if (flags === 'u' && isDeterministic(pattern)) return { test: (input: string) => v8.test(input), toString: () => key };
  return { test: (input: string) => re.test(input), toString: () => key };
}

/** The `code.regExp` option of ajv: ajv calls it for each pattern and embeds it by its `code` name. */
export const ajvRegExp = Object.assign(linearPattern, { code: 'linearPattern' });

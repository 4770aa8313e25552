/**
 * Patterns on RE2: the rewrite from ECMAScript syntax must mean what JavaScript means. Each pattern of
 * the table is matched by V8 (the reference) and by RE2 through the rewrite on the same inputs, and
 * every verdict must agree; the patterns RE2 cannot run are refused with the reason.
 */
import { describe, expect, it } from 'vitest';
import { linearPattern, PatternError } from '../../src/schema/linear-regexp.js';

const INPUTS = [
  '', 'a', 'abc', 'ABC', 'a.b', 'a..b', '.a', '123', '12a', 'héllo', 'Ωμέγα', '日本', '😀', 'a😀b', '\n', '\r', '\r\n', '\u2028', '\u00a0', '\ufeff', '\t', ' ', 'a b', 'a\nb',
  'foo bar', 'foo_bar', '[x]', 'a-b', '-', '\\', '/', '{}', 'aaaa', 'aaaa!', 'ab'.repeat(10), '2026-12-01', 'user@example.com', 'é', '\u0000', '\u007f', '\u0080', 'Straße',
];

const PATTERNS = [
  '^[a-z]+(\\.[a-z]+)*$', '^[0-9]+$', '\\d', '\\D', '\\w+', '^\\W*$', '\\s', '\\S', '^\\s*$', '^.$', '^..$', '.', '^[^]$', '[]', '^[^\\n]*$',
  '^[\\u0000-\\u007F]*$', '\\u00e9', '\\u{1F600}', '\\uD83D\\uDE00', '^\\p{Letter}+$', '^\\p{L}+$', '^\\P{L}+$', '\\p{Lu}', '\\p{Script=Greek}', '\\p{sc=Han}', '\\p{Nd}',
  '^[\\p{L}\\d_-]+$', '[\\s\\S]', '[^\\s]', '[\\b]', '\\bfoo\\b', '\\Bo', '\\cJ', '^(?<year>\\d{4})-\\d{2}-\\d{2}$', '^a{2,3}$', '^a{2,}$', 'a+?', '^(a|ab)(c|bcd)?$',
  '[\\[\\]]', '\\/', '\\\\', '^-?\\d+(\\.\\d+)?$', '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$', 'x*', '^$', '\\.', '[.]', '[a-c&]', 'ß', '^(?:a|b)+$', '\\0',
];

describe('patterns rewritten for RE2', () => {
  it.each(PATTERNS)('%s matches exactly what JavaScript matches', (pattern) => {
    const js = new RegExp(pattern, 'u');
    const re2 = linearPattern(pattern);
    const disagreements = INPUTS.filter((input) => js.test(input) !== re2.test(input)).map((input) => JSON.stringify(input));
    expect(disagreements).toEqual([]);
  });

  it('names each pattern exactly, so ajv never shares one pattern for another', () => {
    const keys = PATTERNS.map((p) => String(linearPattern(p)));
    expect(new Set(keys).size).toBe(PATTERNS.length);
    // The two spellings of a slash mean the same but are different patterns: they keep different keys.
    expect(String(linearPattern('a/b'))).not.toBe(String(linearPattern('a\\/b')));
  });

  it('matches ambiguous nested quantifiers in linear time', () => {
    // V8 backtracks for longer than this test may run on each of these; RE2 answers at once.
    const hostile: Array<[string, string]> = [
      ['^(a+)+$', `${'a'.repeat(5_000)}!`],
      ['^(a|aa)+$', `${'a'.repeat(5_000)}!`],
      ['^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$', `${'a'.repeat(5_000)}!`],
      ['^[a-z]+(\\.[a-z]+)*$', `${'a.'.repeat(5_000)}!`],
    ];
    for (const [pattern, input] of hostile) expect(linearPattern(pattern).test(input)).toBe(false);
  });

  it.each([
    ['^(a)\\1$', 'not-linear', /the backreference \\1 needs backtracking/],
    ['^(?<x>a)\\k<x>$', 'not-linear', /backreference/],
    ['^(?=a)a', 'not-linear', /the lookahead \(\?=a\) needs backtracking/],
    ['(?<!a)b', 'not-linear', /the lookbehind/],
    ['^[a-', 'invalid', /is not a valid regular expression/],
    ['a{,3}', 'invalid', /is not a valid regular expression/],
    ['a{2000}', 'unsupported', /beyond the linear-time engine \(RE2\): invalid repeat count/],
    ['\\p{Script_Extensions=Greek}', 'unsupported', /beyond the linear-time engine/],
  ])('refuses %s (%s)', (pattern, reason, message) => {
    let error: unknown;
    try {
      linearPattern(pattern);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PatternError);
    expect((error as PatternError).reason).toBe(reason);
    expect((error as PatternError).message).toMatch(message);
  });
});

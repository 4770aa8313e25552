/**
 * Which patterns run on V8's engine (schema/deterministic.ts): only those proven to match in linear
 * time on a backtracking engine; the rest stay on RE2. Verdicts are the same on both engines.
 */
import { describe, expect, it } from 'vitest';
import { RE2JS } from 're2js';
import { isDeterministic } from '../../src/schema/deterministic.js';
import { ecmaToRe2 } from '../../src/schema/ecma-to-re2.js';
import { linearPattern } from '../../src/schema/linear-regexp.js';

const DETERMINISTIC = [
  '^[a-z]+(\\.[a-z]+)*$',
  '^[A-Z]{2}$',
  '^https?://',
  '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
  '^\\d{4}-\\d{2}-\\d{2}$',
  '^(?:free|pro|enterprise)$',
  '^[a-z0-9_-]{3,16}$',
  '^',
  '^a*',
  // A property is taken as every character: only its overlaps are refused.
  '^[^\\p{L}]+$',
];
// Exponential or polynomial on a backtracking engine, or not provable by the check: RE2.
const NOT = [
  '^(a|a\\.)+$',
  '^(a|aa)+$',
  '^(a+)+$',
  '^(a*)*$',
  '^a*a*$',
  '^[^@]+@[^@]+\\.[a-z]+$',
  '^(ab|ac)$',
  '[a-z]+x',
  'abc$',
  '^(a|)$',
  '^\\w+\\b',
  '^(?=a)a$',
  '^[^\\p{L}]+a$',
  '^a|^b',
  '^(a)\\1$',
  '^.*x$',
];

describe('deterministic patterns', () => {
  it('are recognised', () => {
    for (const p of DETERMINISTIC) expect(isDeterministic(p), p).toBe(true);
  });
  it('exclude every pattern that can backtrack more than linearly, and what cannot be proven', () => {
    for (const p of NOT) expect(isDeterministic(p), p).toBe(false);
  });
  it('give the verdicts RE2 gives', () => {
    const inputs = ['', 'a', 'ada.lovelace', 'ada..lovelace', 'GB', 'gb', 'GBR', 'https://x', 'http:/x', '123e4567-e89b-12d3-a456-426614174000', '2026-12-01', 'pro', 'ab_c-9', 'x\ny', 'é', '😀'];
    for (const p of DETERMINISTIC) {
      const fast = linearPattern(p);
      const re2 = RE2JS.compile(ecmaToRe2(p));
      for (const s of inputs) expect(fast.test(s), `${p} on ${JSON.stringify(s)}`).toBe(re2.test(s));
    }
  });
});

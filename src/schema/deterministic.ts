/**
 * Which patterns V8's own (backtracking) engine may run without giving up linear time.
 *
 * RE2 (re2js) matches any pattern in linear time but costs 5–15× V8 per match: on the bench schema its
 * three patterns were half the cost of validating a payload (bench/micro/validate.mjs). V8 backtracks,
 * which is exponential on patterns such as `^(a|aa)+$`, but not on a pattern that is *deterministic*:
 *
 * - anchored: it starts with `^` (and may end with `$`), so it is tried at one position only;
 * - at every choice it meets (an alternation, or a quantifier choosing between one more repetition and
 *   what follows it) the first characters of the options are disjoint, and no option can match the
 *   empty string.
 *
 * Then the next character decides each choice: a wrong option fails on its first character, so a
 * failure unwinds without trying anything else, and a match takes time linear in the input. Anything
 * this check cannot prove (lookarounds, backreferences, `\b`, Unicode properties inside a negated class,
 * several top-level alternatives, ...) stays on RE2. `^[a-z]+(\.[a-z]+)*$`, `^[A-Z]{2}$`, `^https?://`
 * and a UUID pattern pass; `^(a|a\.)+$`, `^(a+)+$` and `^[^@]+@[^@]+\.[a-z]+$` do not.
 */
import { RegExpParser, type AST } from '@eslint-community/regexpp';

type Range = readonly [number, number];
const MAX = 0x10ffff;
const ALL: readonly Range[] = [[0, MAX]];
const DIGIT: readonly Range[] = [[0x30, 0x39]];
const WORD: readonly Range[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
const SPACE: readonly Range[] = [
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
];
const LINE_TERMINATORS: readonly Range[] = [[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]];

/** A set of first characters; `end` is `$`, `accept` the end of a pattern without `$` (matches at once). */
interface First {
  readonly ranges: readonly Range[];
  readonly end: boolean;
  readonly accept: boolean;
}

class NotDeterministic extends Error {}

const parser = new RegExpParser({ ecmaVersion: 2025 });

/** True when V8 can match `pattern` (Unicode mode, no other flags) in time linear in the input. */
export function isDeterministic(pattern: string): boolean {
  let ast: AST.Pattern;
  try {
    ast = parser.parsePattern(pattern, 0, pattern.length, { unicode: true });
  } catch {
    return false;
  }
  if (ast.alternatives.length !== 1) return false;
  const elements = ast.alternatives[0]!.elements;
  if (elements.length === 0 || !isAssertion(elements[0]!, 'start')) return false;
  let body = elements.slice(1);
  let follow: First = { ranges: [], end: false, accept: true };
  if (body.length > 0 && isAssertion(body[body.length - 1]!, 'end')) {
    body = body.slice(0, -1);
    follow = { ranges: [], end: true, accept: false };
  }
  try {
    sequence(body, follow);
    return true;
  } catch (err) {
    if (err instanceof NotDeterministic) return false;
    throw err;
  }
}

function isAssertion(e: AST.Element, kind: 'start' | 'end'): boolean {
  return e.type === 'Assertion' && e.kind === kind;
}

/** Checks a sequence followed by `follow`; returns the sequence's first set (with `follow` if it can be empty). */
function sequence(elements: readonly AST.Element[], follow: First): First {
  let after = follow;
  for (let i = elements.length - 1; i >= 0; i--) {
    const e = elements[i]!;
    const first = element(e, after);
    after = nullable(e) ? union(first, after) : first;
  }
  return after;
}

/** Checks one element followed by `after`; returns its own first set. */
function element(e: AST.Element, after: First): First {
  switch (e.type) {
    case 'Character':
      return chars([[e.value, e.value]]);
    case 'CharacterSet':
      return chars(characterSet(e));
    case 'CharacterClass':
      return chars(characterClass(e));
    case 'Group':
    case 'CapturingGroup': {
      if (e.type === 'Group' && e.modifiers) throw new NotDeterministic();
      return alternatives(e.alternatives, after);
    }
    case 'Quantifier': {
      if (nullable(e.element)) throw new NotDeterministic();
      const own = firstOf(e.element);
      // A choice between one more repetition and what follows: the next character must decide it.
      if (e.max > e.min && overlaps(own, after)) throw new NotDeterministic();
      element(e.element, e.max > 1 ? union(own, after) : after);
      return own;
    }
    default:
      // Assertions inside the pattern, lookarounds, backreferences: not proven.
      throw new NotDeterministic();
  }
}

function alternatives(alts: readonly AST.Alternative[], after: First): First {
  const firsts = alts.map((a) => {
    if (a.elements.every(nullable)) throw new NotDeterministic();
    return sequence(a.elements, after);
  });
  for (let i = 0; i < firsts.length; i++) for (let j = i + 1; j < firsts.length; j++) if (overlaps(firsts[i]!, firsts[j]!)) throw new NotDeterministic();
  return firsts.reduce(union, chars([]));
}

/** The first set of an element on its own (what follows it does not matter: it is not nullable). */
function firstOf(e: AST.Element): First {
  return element(e, chars([]));
}

function nullable(e: AST.Element): boolean {
  switch (e.type) {
    case 'Character':
    case 'CharacterSet':
    case 'CharacterClass':
      return false;
    case 'Quantifier':
      return e.min === 0 || nullable(e.element);
    case 'Group':
    case 'CapturingGroup':
      return e.alternatives.some((a) => a.elements.every(nullable));
    default:
      return true;
  }
}

function characterSet(e: AST.CharacterSet): readonly Range[] {
  switch (e.kind) {
    case 'any':
      return complement(LINE_TERMINATORS);
    case 'digit':
      return e.negate ? complement(DIGIT) : DIGIT;
    case 'word':
      return e.negate ? complement(WORD) : WORD;
    case 'space':
      return e.negate ? complement(SPACE) : SPACE;
    default:
      // A Unicode property: every character, as far as this check knows (an over-approximation).
      return ALL;
  }
}

function characterClass(e: AST.CharacterClass): readonly Range[] {
  const parts: Range[] = [];
  let approximate = false;
  for (const el of e.elements) {
    if (el.type === 'Character') parts.push([el.value, el.value]);
    else if (el.type === 'CharacterClassRange') parts.push([el.min.value, el.max.value]);
    else if (el.type === 'CharacterSet') {
      if (el.kind === 'property') approximate = true;
      parts.push(...characterSet(el));
    } else throw new NotDeterministic();
  }
  // The complement of an over-approximation would be an under-approximation: unsafe, so everything.
  if (approximate) return ALL;
  const set = normalise(parts);
  return e.negate ? complement(set) : set;
}

const chars = (ranges: readonly Range[]): First => ({ ranges: normalise(ranges), end: false, accept: false });

function union(a: First, b: First): First {
  return { ranges: normalise([...a.ranges, ...b.ranges]), end: a.end || b.end, accept: a.accept || b.accept };
}

/** Characters in common. `$` and the end of the pattern never share a character with anything. */
function overlaps(a: First, b: First): boolean {
  for (const [lo, hi] of a.ranges) for (const [lo2, hi2] of b.ranges) if (lo <= hi2 && lo2 <= hi) return true;
  return false;
}

function normalise(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalise(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX) out.push([next, MAX]);
  return out;
}

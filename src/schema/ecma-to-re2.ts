/**
 * ECMA-262 regular expressions (the dialect of JSON Schema's `pattern`) rewritten in RE2's syntax, so
 * that RE2 matches exactly what JavaScript would. The pattern is parsed by regexpp (the parser ESLint
 * uses, complete for ES2025, in Unicode mode as ajv runs patterns) and printed back for RE2:
 *
 * - `\uXXXX`, `\u{X}`, surrogate pairs and `\cX`, which RE2 does not read, become `\x{…}` code points;
 * - `.` excludes every ECMAScript line terminator (`\n \r \u2028 \u2029`), RE2's only `\n`;
 * - `\s` is ECMAScript's white space (it includes `\u00a0`, `\ufeff`, `\u2028`...), RE2's only ASCII;
 * - `\p{Letter}`, `\p{General_Category=…}` and `\p{Script=…}` become RE2's `\p{L}` / `\p{Greek}`;
 * - `[^]`, `[]` and `[\b]` get their ECMAScript meaning; capturing groups become non-capturing.
 *
 * Backreferences and lookarounds have no linear-time match: they throw `NotLinear`. The few constructs
 * RE2 lacks (v-flag set operations, modifier groups, properties of strings, Script_Extensions) throw
 * `Unsupported`.
 */
import { RegExpParser, type AST } from '@eslint-community/regexpp';

/** The pattern uses a feature no linear-time engine can match (backreferences, lookarounds). */
export class NotLinear extends Error {
  override readonly name = 'NotLinear';
}

/** The pattern uses a construct RE2 cannot express (v-flag set operations, some Unicode properties). */
export class Unsupported extends Error {
  override readonly name = 'Unsupported';
}

type Range = readonly [number, number];
const MAX_CODE_POINT = 0x10ffff;

const DIGIT: readonly Range[] = [[0x30, 0x39]];
const WORD: readonly Range[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
/** ECMAScript WhiteSpace and LineTerminator: what `\s` matches in JavaScript. */
const SPACE: readonly Range[] = [
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
];
const LINE_TERMINATORS: readonly Range[] = [[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]];

/** General_Category long names (and aliases) → the short names RE2 knows. */
const GENERAL_CATEGORY: Readonly<Record<string, string>> = {
  Letter: 'L', Cased_Letter: 'LC', Uppercase_Letter: 'Lu', Lowercase_Letter: 'Ll', Titlecase_Letter: 'Lt', Modifier_Letter: 'Lm', Other_Letter: 'Lo',
  Mark: 'M', Combining_Mark: 'M', Nonspacing_Mark: 'Mn', Spacing_Mark: 'Mc', Enclosing_Mark: 'Me',
  Number: 'N', Decimal_Number: 'Nd', digit: 'Nd', Letter_Number: 'Nl', Other_Number: 'No',
  Punctuation: 'P', punct: 'P', Connector_Punctuation: 'Pc', Dash_Punctuation: 'Pd', Open_Punctuation: 'Ps', Close_Punctuation: 'Pe',
  Initial_Punctuation: 'Pi', Final_Punctuation: 'Pf', Other_Punctuation: 'Po',
  Symbol: 'S', Math_Symbol: 'Sm', Currency_Symbol: 'Sc', Modifier_Symbol: 'Sk', Other_Symbol: 'So',
  Separator: 'Z', Space_Separator: 'Zs', Line_Separator: 'Zl', Paragraph_Separator: 'Zp',
  Other: 'C', Control: 'Cc', cntrl: 'Cc', Format: 'Cf', Surrogate: 'Cs', Private_Use: 'Co', Unassigned: 'Cn',
};

const parser = new RegExpParser({ ecmaVersion: 2025 });

/** `pattern` (ECMAScript, Unicode mode) in RE2 syntax. Throws SyntaxError, NotLinear or Unsupported. */
export function ecmaToRe2(pattern: string): string {
  const ast = parser.parsePattern(pattern, 0, pattern.length, { unicode: true });
  return alternatives(ast.alternatives);
}

function alternatives(alts: readonly AST.Alternative[]): string {
  return alts.map((a) => a.elements.map(element).join('')).join('|');
}

function element(node: AST.Element): string {
  switch (node.type) {
    case 'Character':
      return char(node.value);
    case 'CharacterSet':
      return characterSet(node);
    case 'CharacterClass':
      return characterClass(node);
    case 'ExpressionCharacterClass':
      throw new Unsupported('set operations in character classes (the v flag) are not supported');
    case 'Group':
      if (node.modifiers) throw new Unsupported('modifier groups are not supported');
      return `(?:${alternatives(node.alternatives)})`;
    case 'CapturingGroup':
      return `(?:${alternatives(node.alternatives)})`;
    case 'Quantifier':
      return quantifier(node);
    case 'Backreference':
      throw new NotLinear(`the backreference ${node.raw} needs backtracking`);
    case 'Assertion':
      if (node.kind === 'lookahead' || node.kind === 'lookbehind') throw new NotLinear(`the ${node.kind} ${node.raw} needs backtracking`);
      if (node.kind === 'word') return node.negate ? '\\B' : '\\b';
      return node.kind === 'start' ? '^' : '$';
  }
}

function quantifier(node: AST.Quantifier): string {
  const inner = element(node.element);
  const { min, max } = node;
  let q: string;
  if (min === 0 && max === Infinity) q = '*';
  else if (min === 1 && max === Infinity) q = '+';
  else if (min === 0 && max === 1) q = '?';
  else if (max === Infinity) q = `{${min},}`;
  else q = min === max ? `{${min}}` : `{${min},${max}}`;
  return `${inner}${q}${node.greedy ? '' : '?'}`;
}

/** One code point, escaped unless it is a letter or digit (RE2 reads `\x{…}` everywhere). */
function char(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) return String.fromCodePoint(cp);
  return `\\x{${cp.toString(16)}}`;
}

function ranges(rs: readonly Range[]): string {
  return rs.map(([lo, hi]) => (lo === hi ? char(lo) : `${char(lo)}-${char(hi)}`)).join('');
}

function complement(rs: readonly Range[]): Range[] {
  const sorted = [...rs].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

function escapeRanges(node: AST.EscapeCharacterSet): Range[] {
  const base = node.kind === 'digit' ? DIGIT : node.kind === 'space' ? SPACE : WORD;
  return node.negate ? complement(base) : [...base];
}

function property(node: AST.UnicodePropertyCharacterSet): string {
  if (node.strings) throw new Unsupported(`the property of strings ${node.raw} is not supported`);
  let name: string;
  if (node.value === null) name = GENERAL_CATEGORY[node.key] ?? node.key;
  else if (node.key === 'General_Category' || node.key === 'gc') name = GENERAL_CATEGORY[node.value] ?? node.value;
  else if (node.key === 'Script' || node.key === 'sc') name = node.value;
  else throw new Unsupported(`the property ${node.raw} is not supported`);
  return `\\${node.negate ? 'P' : 'p'}{${name}}`;
}

function characterSet(node: AST.CharacterSet): string {
  if (node.kind === 'any') return `[${ranges(complement(LINE_TERMINATORS))}]`;
  if (node.kind === 'property') return property(node);
  return `[${ranges(escapeRanges(node))}]`;
}

function characterClass(node: AST.CharacterClass): string {
  const parts: string[] = [];
  for (const el of node.elements) {
    switch (el.type) {
      case 'Character':
        parts.push(char(el.value));
        break;
      case 'CharacterClassRange':
        parts.push(`${char(el.min.value)}-${char(el.max.value)}`);
        break;
      case 'CharacterSet':
        parts.push(el.kind === 'property' ? property(el) : ranges(escapeRanges(el)));
        break;
      default:
        throw new Unsupported('set operations in character classes (the v flag) are not supported');
    }
  }
  // RE2 has no empty class: [] matches nothing and [^] anything, as in JavaScript.
  if (parts.length === 0) return node.negate ? `[${ranges([[0, MAX_CODE_POINT]])}]` : `[^${ranges([[0, MAX_CODE_POINT]])}]`;
  return `[${node.negate ? '^' : ''}${parts.join('')}]`;
}

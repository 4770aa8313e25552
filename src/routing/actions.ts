/**
 * The actions a subscription takes: one name, a list of names, or patterns in NATS's style, where `*`
 * stands for one dot-separated token and a final `>` for one or more (`user.*`, `order.>`). The
 * webhook body's `action` says which one fired.
 */

/** A subscription's `action` as written: one name or pattern, or a list of them. */
export type ActionSpec = string | readonly string[];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const TOKEN = /^[A-Za-z0-9_:-]+$/;

/** Why `entry` is not an action name or pattern, or null when it is one. */
export function actionEntryError(entry: string): string | null {
  if (!entry.includes('*') && !entry.includes('>')) {
    return NAME.test(entry) ? null : `"${entry}" is not an action name (1 to 128 of letters, digits, ".", "_", ":", "-")`;
  }
  if (entry.length > 128) return `"${entry}" is longer than 128 characters`;
  const tokens = entry.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '*') continue;
    if (t === '>') {
      if (i !== tokens.length - 1) return `"${entry}": ">" may only be the last token`;
      continue;
    }
    if (!TOKEN.test(t)) return `"${entry}": each dot-separated token is a name, "*" (one token) or a final ">" (the rest)`;
  }
  return null;
}

/** The problems of a spec as `path: message` under `at` (`at.i` for an entry of a list). */
export function actionSpecErrors(spec: unknown, at: string): string[] {
  if (typeof spec === 'string') {
    const e = actionEntryError(spec);
    return e === null ? [] : [`${at}: ${e}`];
  }
  if (!Array.isArray(spec) || spec.length === 0) return [`${at}: must be an action name, a pattern, or a non-empty list of them`];
  const errors: string[] = [];
  spec.forEach((entry, i) => {
    const e = typeof entry === 'string' ? actionEntryError(entry) : 'must be a string';
    if (e !== null) errors.push(`${at}.${i}: ${e}`);
  });
  return errors;
}

export function isPattern(entry: string): boolean {
  return entry.includes('*') || entry.includes('>');
}

function entryMatches(entry: string, action: string): boolean {
  if (!isPattern(entry)) return entry === action;
  const want = entry.split('.');
  const have = action.split('.');
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w === '>') return have.length > i;
    if (i >= have.length) return false;
    if (w !== '*' && w !== have[i]) return false;
  }
  return want.length === have.length;
}

/** A test of action names against a spec. */
export function actionMatcher(spec: ActionSpec): (action: string) => boolean {
  const entries = typeof spec === 'string' ? [spec] : [...spec];
  return (action) => entries.some((e) => entryMatches(e, action));
}

/** The entries of a spec as a list. */
export function actionEntries(spec: ActionSpec): readonly string[] {
  return typeof spec === 'string' ? [spec] : spec;
}

/**
 * What each key does in `amebo tail`, as a pure function from the state and the key to an intent.
 * The input hook only carries the intent out.
 */
import type { WireGistId } from '../../client/types.js';
import { selectedRow, type TailAction, type TailState } from './tail-state.js';

/** The parts of a key press that matter here (a subset of Ink's `Key`). */
export interface KeyPress {
  readonly upArrow?: boolean;
  readonly downArrow?: boolean;
  readonly pageUp?: boolean;
  readonly pageDown?: boolean;
  readonly return?: boolean;
  readonly escape?: boolean;
  readonly backspace?: boolean;
  readonly delete?: boolean;
  readonly ctrl?: boolean;
  readonly meta?: boolean;
  readonly tab?: boolean;
}

/** What a key asks for: a state change, a request to the daemon, or quitting. */
export type TailIntent =
  | { readonly kind: 'none' }
  | { readonly kind: 'dispatch'; readonly action: TailAction }
  | { readonly kind: 'open-detail'; readonly gistId: WireGistId }
  | { readonly kind: 'replay'; readonly gistId: WireGistId }
  | { readonly kind: 'quit' };

const none: TailIntent = { kind: 'none' };
const act = (action: TailAction): TailIntent => ({ kind: 'dispatch', action });
const hint = (text: string): TailIntent => act({ type: 'notice', notice: { text, tone: 'info' } });

/** The help line the footer shows. */
export const KEY_HELP = '/ filter  f failures  space pause  ↑↓ select  enter attempts  r replay  q quit';

/** Maps one key press to an intent. `pageSize` is how far page up/down move. */
export function interpretKey(state: TailState, input: string, key: KeyPress, pageSize = 10): TailIntent {
  if (key.ctrl && input === 'c') return { kind: 'quit' };

  if (state.filterEditing) {
    if (key.return) return act({ type: 'filter-commit' });
    if (key.escape) return act({ type: 'filter-cancel' });
    if (key.backspace || key.delete) return act({ type: 'filter-backspace' });
    if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.tab) return none;
    // Pasted text arrives as one string; keep only printable characters.
    const text = input.replace(/[\u0000-\u001f\u007f]/g, '');
    return text === '' ? none : act({ type: 'filter-input', text });
  }

  if (state.detail !== null) {
    if (input === 'q') return { kind: 'quit' };
    if (key.escape || key.return || key.backspace || input === 'h') return act({ type: 'detail-close' });
    if (input === 'r') return { kind: 'replay', gistId: state.detail.gistId };
    return none;
  }

  if (input === 'q') return { kind: 'quit' };
  if (input === '/') return act({ type: 'filter-start' });
  if (input === 'f') return act({ type: 'toggle-failures' });
  if (input === ' ' || input === 'p') return act({ type: 'toggle-pause' });
  if (key.upArrow || input === 'k') return act({ type: 'move', delta: -1 });
  if (key.downArrow || input === 'j') return act({ type: 'move', delta: 1 });
  if (key.pageUp) return act({ type: 'move', delta: -pageSize });
  if (key.pageDown) return act({ type: 'move', delta: pageSize });
  if (key.escape) {
    if (state.selectedKey !== null) return act({ type: 'select-none' });
    if (state.filter !== '') return act({ type: 'filter-cancel' });
    return none;
  }
  if (key.return || input === 'r') {
    const row = selectedRow(state);
    if (!row) return hint('select a delivery first (↑/↓)');
    return key.return ? { kind: 'open-detail', gistId: row.gist_id } : { kind: 'replay', gistId: row.gist_id };
  }
  return none;
}

/**
 * Splits input that arrived as one chunk (typed ahead under load, pasted, or sent by tmux as
 * `ship\r`) into single key presses, so each is interpreted on its own: Ink keeps `\r` inside such a
 * chunk instead of reporting a return.
 */
export function splitKeys(input: string, key: KeyPress): Array<readonly [string, KeyPress]> {
  const chars = Array.from(input);
  if (chars.length <= 1 || key.ctrl || key.meta || key.upArrow || key.downArrow || key.pageUp || key.pageDown) return [[input, key]];
  return chars.map((ch): readonly [string, KeyPress] => {
    if (ch === '\r' || ch === '\n') return ['', { return: true }];
    if (ch === '\x7f' || ch === '\b') return ['', { backspace: true }];
    if (ch === '\t') return ['', { tab: true }];
    if (ch === '\x1b') return ['', { escape: true }];
    return [ch, {}];
  });
}

/**
 * The state of `amebo tail` and the pure reducer that advances it. No React and no I/O: the hooks
 * feed it stream batches and key intents, and the components only read it.
 */
import type { DeliveryMessage, StreamMessage, StreamStatus } from '../../client/stream.js';
import type { StreamStats, WireGist, WireGistId } from '../../client/types.js';
import type { BusMessage, GistState } from '../../types.js';
import type { AmeboError } from '../../errors.js';

/** One delivery in the live list: the bus's delivery message with a local, unique `key`. */
export interface TailRow extends Omit<Extract<BusMessage, { type: 'delivery' }>, 'type'> {
  readonly key: number;
}

/** The gist shown in the attempts view. */
export type DetailView =
  | { readonly gistId: WireGistId; readonly phase: 'loading' }
  | { readonly gistId: WireGistId; readonly phase: 'ready'; readonly gist: WireGist }
  | { readonly gistId: WireGistId; readonly phase: 'error'; readonly message: string };

/** A one-line message in the footer. */
export interface Notice {
  readonly text: string;
  readonly tone: 'info' | 'error';
}

/** Connection state as the header shows it. */
export interface ConnectionView {
  readonly state: 'connecting' | 'open' | 'retrying' | 'closed';
  readonly message?: string | undefined;
  /** The error behind `message`, with its code. */
  readonly error?: AmeboError | undefined;
  /** How many times the stream has (re)connected. */
  readonly connects: number;
}

/** Everything the TUI shows. */
export interface TailState {
  /** Newest first, at most `capacity`. */
  readonly rows: readonly TailRow[];
  readonly capacity: number;
  readonly nextKey: number;
  /** While paused, the rows on screen; new rows still enter `rows`. */
  readonly frozen: readonly TailRow[] | null;
  readonly missedWhilePaused: number;
  readonly stats: StreamStats | null;
  readonly totals: { readonly deliveries: number; readonly failures: number; readonly published: number; readonly dropped: number };
  readonly filter: string;
  readonly filterEditing: boolean;
  readonly failuresOnly: boolean;
  readonly selectedKey: number | null;
  readonly detail: DetailView | null;
  readonly connection: ConnectionView;
  readonly notice: Notice | null;
}

/** What can happen to the state. */
export type TailAction =
  | { readonly type: 'messages'; readonly messages: readonly StreamMessage[]; readonly dropped?: number | undefined }
  | { readonly type: 'connection'; readonly status: StreamStatus }
  | { readonly type: 'toggle-pause' }
  | { readonly type: 'toggle-failures' }
  | { readonly type: 'filter-start' }
  | { readonly type: 'filter-input'; readonly text: string }
  | { readonly type: 'filter-backspace' }
  | { readonly type: 'filter-commit' }
  | { readonly type: 'filter-cancel' }
  | { readonly type: 'move'; readonly delta: number }
  | { readonly type: 'select-none' }
  | { readonly type: 'detail-open'; readonly gistId: WireGistId }
  | { readonly type: 'detail-loaded'; readonly gist: WireGist }
  | { readonly type: 'detail-failed'; readonly gistId: WireGistId; readonly message: string }
  | { readonly type: 'detail-close' }
  | { readonly type: 'notice'; readonly notice: Notice | null };

/** The state before anything arrived. `capacity` bounds the rows kept (the ring). */
export function initialTailState(options: { capacity?: number; filter?: string; failuresOnly?: boolean } = {}): TailState {
  return {
    rows: [],
    capacity: Math.max(1, options.capacity ?? 1_000),
    nextKey: 1,
    frozen: null,
    missedWhilePaused: 0,
    stats: null,
    totals: { deliveries: 0, failures: 0, published: 0, dropped: 0 },
    filter: options.filter ?? '',
    filterEditing: false,
    failuresOnly: options.failuresOnly ?? false,
    selectedKey: null,
    detail: null,
    connection: { state: 'connecting', connects: 0 },
    notice: null,
  };
}

/** True for the states that mean "this attempt did not succeed". */
export const isFailure = (state: GistState): boolean => state === 'failed' || state === 'dead';

/** Does a row pass the text filter (substring of action or subscription) and the failures toggle? */
export function matches(row: TailRow, filter: string, failuresOnly: boolean): boolean {
  if (failuresOnly && !isFailure(row.state)) return false;
  if (filter === '') return true;
  const f = filter.toLowerCase();
  return row.action.toLowerCase().includes(f) || row.subscription.toLowerCase().includes(f);
}

/** The rows on screen, newest first: frozen while paused, filtered. */
export function visibleRows(state: TailState): readonly TailRow[] {
  const source = state.frozen ?? state.rows;
  if (state.filter === '' && !state.failuresOnly) return source;
  return source.filter((r) => matches(r, state.filter, state.failuresOnly));
}

/** The selected row, if it is still on screen. */
export function selectedRow(state: TailState): TailRow | undefined {
  if (state.selectedKey === null) return undefined;
  return visibleRows(state).find((r) => r.key === state.selectedKey);
}

/** First row index to draw so that the selection stays within a window of `height` rows. */
export function windowStart(count: number, selectedIndex: number, height: number): number {
  if (selectedIndex < 0 || height <= 0) return 0;
  const start = selectedIndex - height + 1;
  return Math.max(0, Math.min(start, Math.max(0, count - height)));
}

function toRow(d: DeliveryMessage, key: number): TailRow {
  return {
    key,
    gist_id: d.gist_id,
    event_id: d.event_id,
    action: d.action,
    subscription: d.subscription,
    attempt: d.attempt,
    status: d.status,
    latency_ms: d.latency_ms,
    state: d.state,
    error: d.error,
    replay: d.replay,
    at: d.at,
  };
}

function applyMessages(state: TailState, messages: readonly StreamMessage[], dropped: number): TailState {
  const fresh: TailRow[] = [];
  let { nextKey, stats } = state;
  let { deliveries, failures, published } = state.totals;
  for (const m of messages) {
    if (m.type === 'delivery') {
      fresh.push(toRow(m.delivery, nextKey++));
      deliveries++;
      if (isFailure(m.delivery.state)) failures++;
    } else if (m.type === 'published') {
      published++;
    } else {
      stats = m.stats;
    }
  }
  const totals = { deliveries, failures, published, dropped: state.totals.dropped + dropped };
  if (fresh.length === 0) return { ...state, stats, totals, nextKey };
  // Newest first; a batch larger than the ring keeps only its newest rows.
  const newest = fresh.length > state.capacity ? fresh.slice(fresh.length - state.capacity) : fresh;
  newest.reverse();
  const rows = newest.length >= state.capacity ? newest : newest.concat(state.rows.slice(0, state.capacity - newest.length));
  let { selectedKey } = state;
  if (selectedKey !== null && state.frozen === null && !rows.some((r) => r.key === selectedKey)) selectedKey = null;
  return {
    ...state,
    rows,
    nextKey,
    stats,
    totals,
    selectedKey,
    missedWhilePaused: state.frozen === null ? 0 : state.missedWhilePaused + fresh.length,
  };
}

function move(state: TailState, delta: number): TailState {
  const rows = visibleRows(state);
  if (rows.length === 0) return { ...state, selectedKey: null };
  const at = state.selectedKey === null ? -1 : rows.findIndex((r) => r.key === state.selectedKey);
  const next = at === -1 ? 0 : Math.max(0, Math.min(rows.length - 1, at + delta));
  return { ...state, selectedKey: (rows[next] as TailRow).key };
}

/** Advances the state. Pure: same state and action, same result. */
export function tailReducer(state: TailState, action: TailAction): TailState {
  switch (action.type) {
    case 'messages':
      return applyMessages(state, action.messages, action.dropped ?? 0);
    case 'connection': {
      const s = action.status;
      const connects = state.connection.connects + (s.state === 'open' ? 1 : 0);
      const error = s.state === 'retrying' || s.state === 'closed' ? s.error : undefined;
      return { ...state, connection: { state: s.state, message: error?.message, error, connects } };
    }
    case 'toggle-pause':
      return state.frozen === null
        ? { ...state, frozen: state.rows, missedWhilePaused: 0 }
        : { ...state, frozen: null, missedWhilePaused: 0 };
    case 'toggle-failures':
      return { ...state, failuresOnly: !state.failuresOnly };
    case 'filter-start':
      return { ...state, filterEditing: true };
    case 'filter-input':
      return { ...state, filter: state.filter + action.text };
    case 'filter-backspace':
      return { ...state, filter: Array.from(state.filter).slice(0, -1).join('') };
    case 'filter-commit':
      return { ...state, filterEditing: false };
    case 'filter-cancel':
      return { ...state, filterEditing: false, filter: '' };
    case 'move':
      return move(state, action.delta);
    case 'select-none':
      return { ...state, selectedKey: null };
    case 'detail-open':
      return { ...state, detail: { gistId: action.gistId, phase: 'loading' } };
    case 'detail-loaded':
      // A late answer for a gist no longer shown is ignored.
      if (state.detail?.gistId !== action.gist.id) return state;
      return { ...state, detail: { gistId: action.gist.id, phase: 'ready', gist: action.gist } };
    case 'detail-failed':
      if (state.detail?.gistId !== action.gistId) return state;
      return { ...state, detail: { gistId: action.gistId, phase: 'error', message: action.message } };
    case 'detail-close':
      return { ...state, detail: null };
    case 'notice':
      return { ...state, notice: action.notice };
  }
}

import { describe, expect, it } from 'vitest';
import type { StreamMessage } from '../../src/client/stream.js';
import { Batcher, type Timers } from '../../src/tui/core/batcher.js';
import { interpretKey, splitKeys } from '../../src/tui/core/keys.js';
import { rowCells, rowLayout, statusColor, stateColor } from '../../src/tui/core/row-format.js';
import { initialTailState, selectedRow, tailReducer, visibleRows, windowStart, type TailAction, type TailState } from '../../src/tui/core/tail-state.js';
import type { GistState } from '../../src/types.js';

let gist = 0;
const d = (over: { action?: string; subscription?: string; state?: GistState; status?: number | null } = {}): StreamMessage => {
  gist++;
  return {
    type: 'delivery',
    seq: gist,
    delivery: {
      type: 'delivery',
      gist_id: gist,
      event_id: gist,
      action: over.action ?? 'user.created',
      subscription: over.subscription ?? 'welcome-emails',
      attempt: 1,
      status: over.status === undefined ? 200 : over.status,
      latency_ms: 5,
      state: over.state ?? 'delivered',
      error: null,
      replay: false,
      at: '2026-11-03T10:00:00.000Z',
    },
  };
};
const reduce = (s: TailState, ...actions: TailAction[]): TailState => actions.reduce(tailReducer, s);
const msgs = (...m: StreamMessage[]): TailAction => ({ type: 'messages', messages: m });

describe('tail reducer', () => {
  it('puts the newest delivery first and keeps a bounded ring', () => {
    let s = initialTailState({ capacity: 3 });
    s = reduce(s, msgs(d(), d()), msgs(d(), d(), d()));
    expect(s.rows).toHaveLength(3);
    expect(s.rows.map((r) => r.key)).toEqual([5, 4, 3]);
    expect(s.totals.deliveries).toBe(5);
    // A batch bigger than the ring keeps only its newest rows.
    s = reduce(s, msgs(...Array.from({ length: 10 }, () => d())));
    expect(s.rows.map((r) => r.key)).toEqual([15, 14, 13]);
  });

  it('counts failures and published events and keeps the latest stats', () => {
    const stats = { published_per_s: 3, delivered_per_s: 2, failed_per_s: 1, backlog: 9, inflight: 2, at: 'x' };
    const s = reduce(
      initialTailState(),
      msgs(d({ state: 'failed' }), d({ state: 'dead' }), d(), { type: 'published', seq: 1, published: { type: 'published', event_id: 1, action: 'a', at: 'x', gists: 1 } }),
      msgs({ type: 'stats', seq: 2, stats }),
    );
    expect(s.totals).toEqual({ deliveries: 3, failures: 2, published: 1, dropped: 0 });
    expect(s.stats).toEqual(stats);
  });

  it('filters by action or subscription substring, case-insensitively, and by failures', () => {
    let s = reduce(initialTailState(), msgs(d({ action: 'order.paid' }), d({ subscription: 'Billing', state: 'dead' }), d()));
    s = reduce(s, { type: 'filter-start' }, { type: 'filter-input', text: 'bill' });
    expect(visibleRows(s).map((r) => r.subscription)).toEqual(['Billing']);
    s = reduce(s, { type: 'filter-backspace' }, { type: 'filter-backspace' }, { type: 'filter-backspace' }, { type: 'filter-backspace' });
    s = reduce(s, { type: 'filter-input', text: 'ORDER' }, { type: 'filter-commit' });
    expect(s.filterEditing).toBe(false);
    expect(visibleRows(s).map((r) => r.action)).toEqual(['order.paid']);
    s = reduce(s, { type: 'filter-cancel' }, { type: 'toggle-failures' });
    expect(visibleRows(s).map((r) => r.state)).toEqual(['dead']);
  });

  it('freezes the screen while paused, still taking rows in, and counts what was missed', () => {
    let s = reduce(initialTailState(), msgs(d(), d()), { type: 'toggle-pause' });
    s = reduce(s, msgs(d(), d(), d()));
    expect(visibleRows(s).map((r) => r.key)).toEqual([2, 1]);
    expect(s.missedWhilePaused).toBe(3);
    s = reduce(s, { type: 'toggle-pause' });
    expect(visibleRows(s).map((r) => r.key)).toEqual([5, 4, 3, 2, 1]);
    expect(s.missedWhilePaused).toBe(0);
  });

  it('moves the selection within the visible rows and drops it when the row leaves the ring', () => {
    let s = reduce(initialTailState({ capacity: 3 }), msgs(d(), d(), d()));
    s = reduce(s, { type: 'move', delta: 1 });
    expect(selectedRow(s)?.key).toBe(3);
    s = reduce(s, { type: 'move', delta: 1 }, { type: 'move', delta: 5 });
    expect(selectedRow(s)?.key).toBe(1);
    s = reduce(s, { type: 'move', delta: -1 });
    expect(selectedRow(s)?.key).toBe(2);
    s = reduce(s, msgs(d(), d()));
    expect(s.selectedKey).toBeNull();
  });

  it('keeps the attempts view only for the gist it was opened for', () => {
    const g = { id: 4 } as never;
    let s = reduce(initialTailState(), { type: 'detail-open', gistId: 4 });
    expect(s.detail).toEqual({ gistId: 4, phase: 'loading' });
    s = reduce(s, { type: 'detail-loaded', gist: { id: 5 } as never });
    expect(s.detail?.phase).toBe('loading');
    s = reduce(s, { type: 'detail-loaded', gist: g });
    expect(s.detail).toMatchObject({ phase: 'ready', gist: { id: 4 } });
    expect(reduce(s, { type: 'detail-close' }).detail).toBeNull();
  });

  it('tracks the connection and counts connects', () => {
    const err = { message: 'down' } as never;
    const s = reduce(
      initialTailState(),
      { type: 'connection', status: { state: 'open', attempt: 1 } },
      { type: 'connection', status: { state: 'retrying', attempt: 1, retryInMs: 10, error: err } },
      { type: 'connection', status: { state: 'open', attempt: 2 } },
    );
    expect(s.connection).toEqual({ state: 'open', message: undefined, error: undefined, connects: 2 });
  });

  it('windows the list around the selection', () => {
    expect(windowStart(100, -1, 10)).toBe(0);
    expect(windowStart(100, 5, 10)).toBe(0);
    expect(windowStart(100, 25, 10)).toBe(16);
    expect(windowStart(12, 11, 10)).toBe(2);
  });
});

describe('keys', () => {
  const withRows = reduce(initialTailState(), msgs(d(), d()));

  it('maps the documented keys', () => {
    expect(interpretKey(withRows, 'q', {})).toEqual({ kind: 'quit' });
    expect(interpretKey(withRows, 'c', { ctrl: true })).toEqual({ kind: 'quit' });
    expect(interpretKey(withRows, '/', {})).toEqual({ kind: 'dispatch', action: { type: 'filter-start' } });
    expect(interpretKey(withRows, 'f', {})).toEqual({ kind: 'dispatch', action: { type: 'toggle-failures' } });
    expect(interpretKey(withRows, ' ', {})).toEqual({ kind: 'dispatch', action: { type: 'toggle-pause' } });
    expect(interpretKey(withRows, '', { downArrow: true })).toEqual({ kind: 'dispatch', action: { type: 'move', delta: 1 } });
    expect(interpretKey(withRows, '', { pageUp: true }, 7)).toEqual({ kind: 'dispatch', action: { type: 'move', delta: -7 } });
  });

  it('opens and replays the selected gist, and says so when nothing is selected', () => {
    expect(interpretKey(withRows, '', { return: true })).toMatchObject({ kind: 'dispatch', action: { type: 'notice' } });
    const sel = reduce(withRows, { type: 'move', delta: 1 });
    const gistId = selectedRow(sel)?.gist_id as number;
    expect(interpretKey(sel, '', { return: true })).toEqual({ kind: 'open-detail', gistId });
    expect(interpretKey(sel, 'r', {})).toEqual({ kind: 'replay', gistId });
  });

  it('types into the filter while editing, so q and f are text there', () => {
    const editing = reduce(withRows, { type: 'filter-start' });
    expect(interpretKey(editing, 'q', {})).toEqual({ kind: 'dispatch', action: { type: 'filter-input', text: 'q' } });
    expect(interpretKey(editing, 'f', {})).toEqual({ kind: 'dispatch', action: { type: 'filter-input', text: 'f' } });
    expect(interpretKey(editing, '', { backspace: true })).toEqual({ kind: 'dispatch', action: { type: 'filter-backspace' } });
    expect(interpretKey(editing, '', { return: true })).toEqual({ kind: 'dispatch', action: { type: 'filter-commit' } });
    expect(interpretKey(editing, '', { escape: true })).toEqual({ kind: 'dispatch', action: { type: 'filter-cancel' } });
  });

  it('in the attempts view, esc goes back and r replays that gist', () => {
    const s = reduce(withRows, { type: 'detail-open', gistId: 77 });
    expect(interpretKey(s, '', { escape: true })).toEqual({ kind: 'dispatch', action: { type: 'detail-close' } });
    expect(interpretKey(s, 'r', {})).toEqual({ kind: 'replay', gistId: 77 });
    expect(interpretKey(s, 'f', {})).toEqual({ kind: 'none' });
  });
});

describe('splitKeys', () => {
  it('splits a chunk of typed-ahead keys, turning CR into return', () => {
    expect(splitKeys('ship\r', {})).toEqual([['s', {}], ['h', {}], ['i', {}], ['p', {}], ['', { return: true }]]);
    expect(splitKeys('a\x7f', {})).toEqual([['a', {}], ['', { backspace: true }]]);
  });

  it('leaves single keys and escape sequences alone', () => {
    expect(splitKeys('q', {})).toEqual([['q', {}]]);
    expect(splitKeys('', { upArrow: true })).toEqual([['', { upArrow: true }]]);
    expect(splitKeys('ab', { meta: true })).toEqual([['ab', { meta: true }]]);
  });
});

describe('batcher', () => {
  function fakeTimers() {
    let now = 0;
    const timers: { at: number; fn: () => void; id: number }[] = [];
    let seq = 0;
    const api: Timers = {
      now: () => now,
      setTimeout: (fn, ms) => {
        timers.push({ at: now + ms, fn, id: ++seq });
        return seq;
      },
      clearTimeout: (h) => {
        const i = timers.findIndex((t) => t.id === h);
        if (i >= 0) timers.splice(i, 1);
      },
    };
    const advance = (ms: number): void => {
      now += ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers.splice(timers.indexOf(due), 1);
        due.fn();
      }
    };
    return { api, advance };
  }

  it('flushes at most once per interval however fast items arrive: 2,000/s gives 10 flushes/s', () => {
    const { api, advance } = fakeTimers();
    const flushes: number[] = [];
    const b = new Batcher<number>((items) => flushes.push(items.length), { intervalMs: 100, timers: api });
    for (let ms = 0; ms < 1_000; ms++) {
      b.push(ms);
      b.push(ms);
      advance(1);
    }
    advance(100);
    expect(flushes.length).toBeLessThanOrEqual(11);
    expect(flushes.reduce((a, n) => a + n, 0)).toBe(2_000);
  });

  it('bounds what it holds, dropping the oldest and counting them', () => {
    const { api, advance } = fakeTimers();
    const got: { items: number[]; dropped: number }[] = [];
    const b = new Batcher<number>((items, dropped) => got.push({ items, dropped }), { intervalMs: 100, maxPending: 3, timers: api });
    for (let i = 0; i < 10; i++) b.push(i);
    expect(b.pending).toBe(3);
    advance(0);
    expect(got).toEqual([{ items: [7, 8, 9], dropped: 7 }]);
  });

  it('discards everything after close', () => {
    const { api, advance } = fakeTimers();
    const flushes: number[] = [];
    const b = new Batcher<number>((items) => flushes.push(items.length), { timers: api });
    b.push(1);
    b.close();
    b.push(2);
    advance(1_000);
    expect(flushes).toEqual([]);
  });
});

describe('row format', () => {
  it('fits a row into the width and colours by state and status', () => {
    const layout = rowLayout(100);
    const s = reduce(initialTailState(), msgs(d({ status: 503, state: 'failed' })));
    const c = rowCells(s.rows[0] as never, layout);
    const line = [c.time, c.event, c.action, c.subscription, c.attempt, c.status, c.latency, c.state].join(' ');
    expect(line.length).toBeLessThanOrEqual(99);
    expect(c.status.trim()).toBe('503');
    expect(stateColor('dead')).toBe('red');
    expect(stateColor('delivered')).toBe('green');
    expect(statusColor(503)).toBe('red');
    expect(statusColor(null)).toBe('gray');
  });
});

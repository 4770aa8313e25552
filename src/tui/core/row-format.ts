/**
 * How a delivery row is laid out in columns for a terminal of a given width. Pure string work, so it
 * is tested without rendering.
 */
import { formatLatency } from '../../format/duration.js';
import { truncate } from '../../format/table.js';
import { clockTime } from '../../format/time.js';
import type { GistState } from '../../types.js';
import type { TailRow } from './tail-state.js';

/** Widths of the columns, in characters. */
export interface RowLayout {
  readonly time: number;
  readonly event: number;
  readonly action: number;
  readonly subscription: number;
  readonly attempt: number;
  readonly status: number;
  readonly latency: number;
  readonly state: number;
}

const FIXED = { time: 12, event: 8, attempt: 3, status: 6, latency: 8, state: 9 } as const;
const GAPS = 7;

/** Splits the width left after the fixed columns between action (55%) and subscription. */
export function rowLayout(width: number): RowLayout {
  const fixed = FIXED.time + FIXED.event + FIXED.attempt + FIXED.status + FIXED.latency + FIXED.state + GAPS;
  const flex = Math.max(16, width - 1 - fixed);
  const action = Math.floor(flex * 0.55);
  return { ...FIXED, action, subscription: flex - action };
}

const left = (s: string, w: number): string => truncate(s, w).padEnd(w);
const right = (s: string, w: number): string => truncate(s, w).padStart(w);

/** The cells of one row, already padded to the layout. */
export interface RowCells {
  readonly time: string;
  readonly event: string;
  readonly action: string;
  readonly subscription: string;
  readonly attempt: string;
  readonly status: string;
  readonly latency: string;
  readonly state: string;
}

/** Formats a row's cells. A replayed attempt is marked with `↻` after its attempt number. */
export function rowCells(row: TailRow, layout: RowLayout): RowCells {
  return {
    time: left(clockTime(row.at), layout.time),
    event: right(String(row.event_id), layout.event),
    action: left(row.action, layout.action),
    subscription: left(row.subscription, layout.subscription),
    attempt: right(`${row.attempt}${row.replay ? '↻' : ''}`, layout.attempt),
    status: right(row.status === null ? (row.error ? 'err' : '-') : String(row.status), layout.status),
    latency: right(formatLatency(row.latency_ms), layout.latency),
    state: left(row.state, layout.state),
  };
}

/** The heading cells, padded the same way. */
export function headingCells(layout: RowLayout): RowCells {
  return {
    time: left('TIME', layout.time),
    event: right('EVENT', layout.event),
    action: left('ACTION', layout.action),
    subscription: left('SUBSCRIPTION', layout.subscription),
    attempt: right('#', layout.attempt),
    status: right('STATUS', layout.status),
    latency: right('LATENCY', layout.latency),
    state: left('STATE', layout.state),
  };
}

/** The colour of a gist state. */
export function stateColor(state: GistState): 'green' | 'yellow' | 'red' | 'cyan' {
  switch (state) {
    case 'delivered':
      return 'green';
    case 'failed':
      return 'yellow';
    case 'dead':
      return 'red';
    case 'pending':
      return 'cyan';
  }
}

/** The colour of an HTTP status: green 2xx, yellow 3xx/429/408, red otherwise, gray for none. */
export function statusColor(status: number | null): 'green' | 'yellow' | 'red' | 'gray' {
  if (status === null) return 'gray';
  if (status >= 200 && status < 300) return 'green';
  if ((status >= 300 && status < 400) || status === 408 || status === 429) return 'yellow';
  return 'red';
}

/** A rate for the header: one decimal below 10/s, whole numbers above. */
export function formatRate(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
}

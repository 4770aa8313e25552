/**
 * Aligned plain-text tables and key/value blocks for the client verbs' output.
 */

/** One column: its heading and how to read a cell from a row. */
export interface Column<T> {
  readonly header: string;
  readonly get: (row: T) => string | number | null | undefined;
  /** Pad on the left (numbers). */
  readonly align?: 'left' | 'right' | undefined;
  /** Cut longer cells to this many characters, ending in `…`. */
  readonly max?: number | undefined;
}

/** Cuts `text` to `max` characters, ending in `…` when it was longer. Newlines become spaces. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s*[\r\n]+\s*/g, ' ');
  const chars = Array.from(flat);
  if (chars.length <= max) return flat;
  return chars.slice(0, Math.max(0, max - 1)).join('') + '…';
}

const width = (s: string): number => Array.from(s).length;

function cell(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return '-';
  return String(v);
}

/**
 * Renders rows as a table: a header line, then one line per row, columns two spaces apart, no
 * trailing spaces. Returns the text with a final newline.
 */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((r) => columns.map((c) => (c.max ? truncate(cell(c.get(r)), c.max) : cell(c.get(r)).replace(/[\r\n]+/g, ' '))));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((row) => width(row[i] as string))));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => {
        const pad = ' '.repeat((widths[i] as number) - width(v));
        return columns[i]?.align === 'right' ? pad + v : v + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** Renders `key  value` lines with the values aligned. */
export function renderKeyValues(pairs: readonly (readonly [string, string | number | null | undefined])[]): string {
  const w = Math.max(0, ...pairs.map(([k]) => width(k)));
  return pairs.map(([k, v]) => `${k.padEnd(w)}  ${cell(v)}`.trimEnd()).join('\n') + '\n';
}

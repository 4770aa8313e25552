/**
 * Times on the command line: `--from`/`--to` take ISO 8601 or a duration meaning "that long ago".
 */
import { parseDuration } from './duration.js';

/**
 * Parses an ISO 8601 time (`2026-11-03`, `2026-11-03T12:00:00Z`) or a duration ago (`15m`, `2h`,
 * `1d`) into an ISO string the API accepts. Returns undefined when it is neither.
 */
export function parseTimeArg(text: string, now: number = Date.now()): string | undefined {
  const t = text.trim();
  const ago = parseDuration(t);
  if (ago !== undefined && !/^\d+(\.\d+)?$/.test(t)) return new Date(now - ago).toISOString();
  // Only accept strings that look like dates: Date.parse is lenient about odd inputs.
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** `HH:MM:SS.mmm` in local time, for the live list where the date is today. */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** An ISO time without its milliseconds, as listings show it; `-` for none. */
export function shortIso(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace(/\.\d{3}Z$/, 'Z');
}

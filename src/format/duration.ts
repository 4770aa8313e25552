/**
 * Durations as people write them in amebo (`500ms`, `30s`, `5m`, `1h`, `2d`) and as amebo prints them.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `500ms`, `30s`, `1.5m`, `1h`, `2d` or compounds like `1h30m` into milliseconds. A bare number
 * is seconds. Returns undefined for anything else, so the caller can name the option in its message.
 */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1_000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m !== null; m = re.exec(t)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  return matched === t.length ? total : undefined;
}

/** Prints a duration compactly: `850ms`, `1.2s`, `3m 20s`, `2h 5m`, `3d 4h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a < 1_000) return `${sign}${Math.round(a)}ms`;
  if (a < 60_000) return `${sign}${trim(a / 1_000)}s`;
  const pair = (big: number, bigUnit: string, small: number, smallUnit: string): string =>
    small > 0 ? `${sign}${big}${bigUnit} ${small}${smallUnit}` : `${sign}${big}${bigUnit}`;
  if (a < 3_600_000) return pair(Math.floor(a / 60_000), 'm', Math.floor((a % 60_000) / 1_000), 's');
  if (a < 86_400_000) return pair(Math.floor(a / 3_600_000), 'h', Math.floor((a % 3_600_000) / 60_000), 'm');
  return pair(Math.floor(a / 86_400_000), 'd', Math.floor((a % 86_400_000) / 3_600_000), 'h');
}

/** Prints a latency with a precision that suits it: `0.4ms`, `12ms`, `1.25s`. */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 10) return `${trim(ms, 1)}ms`;
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  return `${trim(ms / 1_000, 2)}s`;
}

function trim(n: number, digits = 1): string {
  return n.toFixed(digits).replace(/\.?0+$/, '');
}

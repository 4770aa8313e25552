/**
 * Publishing many events from NDJSON through `POST /v1/events/batch`, one chunk per request, with a
 * progress line on a terminal. Each chunk is all-or-nothing; the first rejected chunk stops the run
 * and the report says exactly which lines were and were not published.
 */
import type { AmeboClient } from '../../client/api.js';
import { violationsOf } from '../../client/errors.js';
import type { BatchItemResult, PublishInput } from '../../client/types.js';
import { isAmeboError, toAmeboError } from '../../errors.js';
import { violationLine } from '../../format/errors.js';
import { io, out } from '../../format/io.js';
import { count } from '../../format/words.js';
import { chunked, type NumberedLine } from '../../format/ndjson.js';
import { lineToEvent, type LineDefaults } from './publish-input.js';

/** How a batch run went. */
export interface BatchSummary {
  /** Events newly stored (HTTP 201 items). */
  created: number;
  /** Deduper repeats (HTTP 200 items): the original event is returned, nothing new is stored. */
  duplicates: number;
  firstId: number | undefined;
  lastId: number | undefined;
}

/** Options of a batch run. */
export interface BatchOptions extends LineDefaults {
  readonly chunkSize: number;
  /** Print each stored event as an NDJSON line on stdout. */
  readonly json: boolean;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** Most rejected lines listed before the rest are only counted. */
const MAX_LISTED = 20;

/**
 * The lines of a rejected chunk that the daemon named, with their input line numbers. Items the
 * daemon refused only because another item failed ("not stored: ...") are left out: they are fine.
 */
function rejectionLines(results: unknown, lines: readonly NumberedLine[]): string[] {
  if (!Array.isArray(results)) return [];
  const out: string[] = [];
  let culprits = 0;
  results.forEach((item: unknown, i) => {
    const r = item as Partial<BatchItemResult> | null;
    if (!r || typeof r !== 'object' || (typeof r.status === 'number' && r.status < 300)) return;
    if (typeof r.error === 'string' && r.error.startsWith('not stored:')) return;
    culprits++;
    if (culprits > MAX_LISTED) return;
    const where = `line ${lines[i]?.n ?? `#${i + 1}`}`;
    const violations = violationsOf(r.details);
    if (violations.length > 0) for (const v of violations) out.push(`${where}: ${violationLine(v)}`);
    else if (r.error) out.push(`${where}: ${r.error}`);
  });
  if (culprits > MAX_LISTED) out.push(`… and ${count(culprits - MAX_LISTED, 'more rejected line')}`);
  return out;
}

/** Publishes every line, chunk by chunk, and returns the exit code. */
export async function publishMany(client: AmeboClient, lines: AsyncIterable<NumberedLine>, opts: BatchOptions): Promise<number> {
  const { stderr } = io();
  const tty = stderr.isTTY === true;
  const started = Date.now();
  const sum: BatchSummary = { created: 0, duplicates: 0, firstId: undefined, lastId: undefined };
  const progress = (): void => {
    if (!tty) return;
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    const done = sum.created + sum.duplicates;
    stderr.write(`\r\x1b[Kpublished ${count(done, 'event')} (${fmt(Math.round(done / secs))}/s)`);
  };
  const clearProgress = (): void => {
    if (tty) stderr.write('\r\x1b[K');
  };

  for await (const chunk of chunked(lines, opts.chunkSize)) {
    let events: PublishInput[];
    let results: BatchItemResult[];
    try {
      events = chunk.map((line) => lineToEvent(line, opts));
      results = await client.publishBatch(events);
    } catch (error) {
      clearProgress();
      const e = isAmeboError(error) ? toAmeboError(error) : undefined;
      const detail = e ? rejectionLines(e.details?.['results'], chunk) : [];
      const first = chunk[0]?.n ?? 0;
      const last = chunk[chunk.length - 1]?.n ?? first;
      const lines = [`amebo: ${e ? e.message : String(error)}`, ...detail];
      lines.push(
        `${count(sum.created + sum.duplicates, 'event')} before line ${first} ${sum.created + sum.duplicates === 1 ? 'was' : 'were'} published; lines ${first}-${last} and after were not`,
      );
      stderr.write(lines.join('\n') + '\n');
      return e ? e.exit : 1;
    }
    const jsonLines: string[] = [];
    for (const r of results) {
      if (r.status === 200) sum.duplicates++;
      else sum.created++;
      if (r.data) {
        sum.firstId ??= r.data.id;
        sum.lastId = r.data.id;
        if (opts.json) jsonLines.push(JSON.stringify(r.data));
      }
    }
    if (jsonLines.length > 0) await out(jsonLines.join('\n') + '\n');
    progress();
  }
  clearProgress();
  if (!opts.json) {
    const secs = (Date.now() - started) / 1000;
    const ids = sum.firstId === undefined ? '' : ` (ids ${sum.firstId}-${sum.lastId})`;
    const dup = sum.duplicates > 0 ? `, ${count(sum.duplicates, 'deduper repeat')}` : '';
    await out(`published ${count(sum.created, 'event')}${ids}${dup} in ${secs.toFixed(1)}s\n`);
  }
  return 0;
}

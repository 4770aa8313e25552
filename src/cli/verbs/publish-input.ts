/**
 * Reading what `amebo publish` publishes: a payload argument, a file, or stdin holding either one
 * JSON document or NDJSON (one payload, or one event object, per line). Streams are read line by
 * line so a large NDJSON input is never held whole.
 */
import { createReadStream } from 'node:fs';
import { amebo } from '../../errors.js';
import type { PublishInput } from '../../client/types.js';
import { parseJsonLine, readLines, type NumberedLine } from '../../format/ndjson.js';
import { io } from '../../format/io.js';

/** What the input turned out to hold. */
export type PublishSource =
  | { readonly kind: 'single'; readonly payload: unknown }
  | { readonly kind: 'many'; readonly lines: AsyncIterable<NumberedLine> };

/** Opens `-` (stdin) or `@file` as a stream; undefined when `arg` is neither. */
export function openSource(arg: string | undefined): AsyncIterable<string | Uint8Array> | undefined {
  if (arg === undefined || arg === '-') return io().stdin as AsyncIterable<string | Uint8Array>;
  if (arg.startsWith('@')) {
    const path = arg.slice(1);
    const stream = createReadStream(path);
    // Surface a missing file as a usage error rather than an unhandled stream error.
    return (async function* () {
      try {
        for await (const chunk of stream) yield chunk as Buffer;
      } catch (e) {
        const code = (e as { code?: string }).code;
        throw amebo('AMEBO_ERR_BAD_REQUEST', `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
    })();
  }
  return undefined;
}

/** Parses a PAYLOAD argument given inline. A missing one is `{}`. */
export function parseInlinePayload(arg: string | undefined): unknown {
  if (arg === undefined) return {};
  const r = parseJsonLine(arg);
  if (!r.ok) throw amebo('AMEBO_ERR_BAD_JSON', `PAYLOAD is not valid JSON (${r.message}); use @file or - to read it from a file or stdin`);
  return r.value;
}

async function* prepend<T>(first: readonly T[], rest: AsyncIterator<T>): AsyncGenerator<T> {
  yield* first;
  for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
}

/**
 * Decides between one document and NDJSON by reading as little as needed: a first line that is not
 * JSON by itself means one (pretty-printed) document; two or more JSON lines mean NDJSON.
 * With `forceMany`, every line is an item even when there is only one.
 */
export async function detectSource(stream: AsyncIterable<string | Uint8Array>, forceMany: boolean): Promise<PublishSource> {
  const it = readLines(stream)[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) {
    if (forceMany) return { kind: 'many', lines: prepend([], it) };
    throw amebo('AMEBO_ERR_BAD_REQUEST', 'the input is empty: expected a JSON payload');
  }
  if (forceMany) return { kind: 'many', lines: prepend([first.value], it) };
  const parsed = parseJsonLine(first.value.text);
  if (!parsed.ok) {
    const parts = [first.value.text];
    for (let r = await it.next(); !r.done; r = await it.next()) parts.push(r.value.text);
    const whole = parseJsonLine(parts.join('\n'));
    if (!whole.ok) throw amebo('AMEBO_ERR_BAD_JSON', `the input is neither one JSON document nor NDJSON (${whole.message})`);
    return { kind: 'single', payload: whole.value };
  }
  const second = await it.next();
  if (second.done) return { kind: 'single', payload: parsed.value };
  return { kind: 'many', lines: prepend([first.value, second.value], it) };
}

/** How NDJSON lines become events. */
export interface LineDefaults {
  /** When set, each line is a payload of this action; otherwise each line is an event object. */
  readonly action?: string | undefined;
  readonly sleep_until?: number | undefined;
}

/** Turns one NDJSON line into the event to publish; a malformed line is a usage error naming it. */
export function lineToEvent(line: NumberedLine, defaults: LineDefaults): PublishInput {
  const r = parseJsonLine(line.text);
  if (!r.ok) throw amebo('AMEBO_ERR_BAD_JSON', `line ${line.n}: not valid JSON (${r.message})`);
  if (defaults.action !== undefined) {
    return { action: defaults.action, payload: r.value, sleep_until: defaults.sleep_until };
  }
  const v = r.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as { action?: unknown }).action !== 'string') {
    throw amebo(
      'AMEBO_ERR_BAD_REQUEST',
      `line ${line.n}: expected an event object {"action": ..., "payload": ...} (or give ACTION to publish each line as a payload)`,
    );
  }
  const o = v as { action: string; payload?: unknown; deduper?: unknown; sleep_until?: unknown };
  return {
    action: o.action,
    payload: o.payload ?? {},
    deduper: typeof o.deduper === 'string' ? o.deduper : undefined,
    sleep_until: typeof o.sleep_until === 'number' ? o.sleep_until : defaults.sleep_until,
  };
}

/**
 * Newline-delimited JSON input: split a stream into lines without holding it all, and group items
 * into chunks for `POST /v1/events/batch`.
 */

/** One non-empty line of input and its 1-based line number. */
export interface NumberedLine {
  readonly n: number;
  readonly text: string;
}

/** Yields the non-blank lines of a byte or text stream, trimmed of `\r`, with their line numbers. */
export async function* readLines(stream: AsyncIterable<string | Uint8Array>): AsyncGenerator<NumberedLine> {
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  let n = 0;
  for await (const chunk of stream) {
    rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = rest.indexOf('\n'); nl !== -1; nl = rest.indexOf('\n', start)) {
      n++;
      const text = rest.slice(start, nl).replace(/\r$/, '');
      start = nl + 1;
      if (text.trim() !== '') yield { n, text };
    }
    rest = rest.slice(start);
  }
  rest += decoder.decode();
  if (rest.trim() !== '') yield { n: n + 1, text: rest.replace(/\r$/, '') };
}

/** Groups an async sequence into arrays of at most `size` items. */
export async function* chunked<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  if (!(size >= 1)) throw new RangeError('chunk size must be at least 1');
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Parses one line as JSON, or returns the parser's message. */
export function parseJsonLine(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}

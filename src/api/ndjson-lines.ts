/**
 * Splitting a request body into NDJSON lines as its chunks arrive. Chunks are cut into complete
 * lines and a rest that waits for the next chunk; the complete part of a chunk is decoded in one
 * call (UTF-8, fatal), and only a chunk with invalid UTF-8 is decoded line by line, so that the
 * bad line alone is refused. A line longer than the limit is dropped as it streams past, never
 * buffered whole, and reported in its place.
 */

/** One input line: its text, or why it cannot be read. */
export type Line = { readonly text: string } | { readonly problem: 'too-large' | 'not-utf8' };

const NEWLINE = 10;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Cuts a body's chunks into lines, at most `maxLineBytes` each (a longer one is reported, not kept). */
export class LineSplitter {
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** Inside a line that passed the limit: its bytes are dropped until its newline. */
  #skipping = false;

  constructor(private readonly maxLineBytes: number) {}

  /** The complete lines of a chunk, in order (blank lines included). */
  push(chunk: Buffer): Line[] {
    const out: Line[] = [];
    let from = 0;
    if (this.#skipping) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl === -1) return out;
      this.#skipping = false;
      out.push({ problem: 'too-large' });
      from = nl + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last < from) {
      this.#keep(chunk.subarray(from));
      return out;
    }
    let complete = chunk.subarray(from, last + 1);
    if (this.#parts.length > 0) {
      this.#parts.push(complete);
      complete = Buffer.concat(this.#parts, this.#partBytes + complete.length);
      this.#parts = [];
      this.#partBytes = 0;
    }
    this.#lines(complete, out);
    if (last + 1 < chunk.length) this.#keep(chunk.subarray(last + 1));
    return out;
  }

  /** The last line, when the body did not end with a newline. */
  end(): Line[] {
    const out: Line[] = [];
    if (this.#skipping) out.push({ problem: 'too-large' });
    else if (this.#partBytes > 0) this.#lines(Buffer.concat(this.#parts, this.#partBytes), out, false);
    this.#parts = [];
    this.#partBytes = 0;
    this.#skipping = false;
    return out;
  }

  #keep(rest: Buffer): void {
    if (this.#partBytes + rest.length > this.maxLineBytes) {
      this.#parts = [];
      this.#partBytes = 0;
      this.#skipping = true;
      return;
    }
    // A copy: the chunk's memory is the socket's, and a rest may wait for a while.
    this.#parts.push(Buffer.from(rest));
    this.#partBytes += rest.length;
  }

  /** Lines of `buf`, which ends with a newline unless `terminated` is false. */
  #lines(buf: Buffer, out: Line[], terminated = true): void {
    let text: string | undefined;
    try {
      text = decoder.decode(buf);
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      const lines = text.split('\n');
      if (terminated) lines.pop();
      for (const line of lines) out.push(line.length > this.maxLineBytes ? { problem: 'too-large' } : { text: line });
      return;
    }
    // Invalid UTF-8 somewhere: decode line by line so only the bad lines are refused.
    let start = 0;
    while (start < buf.length) {
      let nl = buf.indexOf(NEWLINE, start);
      if (nl === -1) nl = buf.length;
      const piece = buf.subarray(start, nl);
      try {
        const line = decoder.decode(piece);
        out.push(line.length > this.maxLineBytes ? { problem: 'too-large' } : { text: line });
      } catch {
        out.push({ problem: 'not-utf8' });
      }
      start = nl + 1;
    }
  }
}

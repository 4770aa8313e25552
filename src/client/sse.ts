/**
 * A Server-Sent Events parser, as the WHATWG spec describes it, with no I/O: feed it chunks as they
 * arrive and it returns the messages they complete. Chunks may split lines, CRLF pairs and UTF-8
 * sequences anywhere.
 */

/** One dispatched SSE message. */
export interface SseMessage {
  /** The `id:` in force when the message was dispatched (ids persist across messages, per spec). */
  readonly id: string | undefined;
  /** The `event:` field, or `message` when absent. */
  readonly event: string;
  /** The `data:` lines joined with `\n`. */
  readonly data: string;
}

/** Incremental SSE parser. */
export class SseParser {
  /** The last `id:` seen; send it back as `Last-Event-ID` when reconnecting. */
  lastEventId: string | undefined;
  /** The last `retry:` the server asked for, in ms. */
  retryMs: number | undefined;
  /** How many `:` comment lines (heartbeats) were seen. */
  comments = 0;

  #decoder = new TextDecoder('utf-8');
  #pending = '';
  #skipLf = false;
  #event = '';
  #data: string[] = [];
  #hasData = false;

  /** Feeds one chunk and returns the messages it completed, in order. */
  feed(chunk: string | Uint8Array): SseMessage[] {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const out: SseMessage[] = [];
    let start = 0;
    let i = 0;
    if (this.#skipLf && text.length > 0) {
      // The previous chunk ended with CR; an LF right after belongs to the same line break.
      if (text.charCodeAt(0) === 10) start = i = 1;
      this.#skipLf = false;
    }
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.#pending + text.slice(start, i);
      this.#pending = '';
      this.#line(line, out);
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.#skipLf = true;
        }
      }
      start = i + 1;
    }
    this.#pending += text.slice(start);
    return out;
  }

  #line(line: string, out: SseMessage[]): void {
    if (line === '') {
      this.#dispatch(out);
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) {
      this.comments++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.#data.push(value);
        this.#hasData = true;
        break;
      case 'event':
        this.#event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        // Unknown fields are ignored, as the spec says.
        break;
    }
  }

  #dispatch(out: SseMessage[]): void {
    if (this.#hasData) {
      out.push({ id: this.lastEventId, event: this.#event === '' ? 'message' : this.#event, data: this.#data.join('\n') });
    }
    this.#event = '';
    this.#data = [];
    this.#hasData = false;
  }

  /** Forgets a half-received message (after a disconnect), keeping `lastEventId`. */
  reset(): void {
    this.#decoder = new TextDecoder('utf-8');
    this.#pending = '';
    this.#skipLf = false;
    this.#event = '';
    this.#data = [];
    this.#hasData = false;
  }
}

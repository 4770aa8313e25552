/**
 * Keeping a payload's bytes. An event body is JSON text that holds the payload as one value; amebo
 * stores and delivers the payload as JSON text. Rather than serialise the parsed payload again
 * (`JSON.stringify`, about 0.5 µs for the bench's 341 bytes), the one pass over the text that
 * already checks its nesting depth also finds where the top-level `"payload"` value starts and ends,
 * and the text is kept as sent.
 *
 * The text is kept only when it means exactly what was validated: a body with two top-level
 * `"payload"` keys, or a payload with a repeated key anywhere (JSON.parse keeps the last, a receiver's
 * parser may keep the first), falls back to serialising the parsed value. Repeated keys are found by
 * counting: every `:` outside strings in the payload's text introduces one member, so the text has a
 * repeated key exactly when it has more `:` than the parsed payload has members.
 */

/** What one pass over an event body's text found. */
export interface EventScan {
  /** Deepest nesting of arrays and objects (stops counting past the limit). */
  readonly depth: number;
  /** Start and end (exclusive) of the top-level `payload` value, whitespace trimmed; -1 when none. */
  readonly start: number;
  readonly end: number;
  /** Members (`:` outside strings) inside the payload's text. */
  readonly members: number;
  /** How many top-level `"payload"` keys the body has. */
  readonly payloadKeys: number;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;

const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;

/** Index of the quote that closes the string opening at `i`, or -1. */
function closingQuote(text: string, i: number): number {
  let end = text.indexOf('"', i + 1);
  while (end !== -1) {
    let slashes = 0;
    while (text.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
  return -1;
}

/**
 * Scans an event body (`{"action": ..., "payload": ...}`) once: its depth, and the span of its
 * payload. Text that is not well-formed JSON gives meaningless spans, but JSON.parse rejects it
 * anyway; the depth is right for any text, so the depth limit holds before anything is parsed.
 */
export function scanEvent(text: string, limit: number): EventScan {
  let depth = 0;
  let deepest = 0;
  let start = -1;
  let end = -1;
  let members = 0;
  let payloadKeys = 0;
  // In the payload's value: from its first character until the depth falls back to 1.
  let inPayload = false;
  let payloadDepth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const close = closingQuote(text, i);
      if (close === -1) break;
      if (depth === 1 && !inPayload && close - i === 8 && text.startsWith('payload', i + 1)) {
        let j = close + 1;
        while (isSpace(text.charCodeAt(j))) j++;
        if (text.charCodeAt(j) === COLON) {
          payloadKeys++;
          j++;
          while (isSpace(text.charCodeAt(j))) j++;
          if (payloadKeys === 1) {
            start = j;
            inPayload = true;
            payloadDepth = depth;
          }
          i = j - 1;
          continue;
        }
      }
      i = close;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return { depth: deepest, start: -1, end: -1, members: 0, payloadKeys };
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
      if (inPayload && depth === payloadDepth - 1) {
        // A scalar payload that is the body's last member: it ends before this brace.
        end = i;
        inPayload = false;
      } else if (inPayload && depth === payloadDepth) {
        end = i + 1;
        inPayload = false;
      }
    } else if (inPayload) {
      if (c === COLON) members++;
      else if (c === COMMA && depth === payloadDepth) {
        end = i;
        inPayload = false;
      }
    }
  }
  if (start !== -1 && end !== -1) while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  if (end === -1) start = -1;
  return { depth: deepest, start, end, members, payloadKeys };
}

/** Members of every object in a parsed value: what its text has `:`s for when no key repeats. */
export function memberCount(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const item of value) n += memberCount(item);
    return n;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    n += 1 + memberCount((value as Record<string, unknown>)[key]);
  }
  return n;
}

/**
 * The payload's text as sent, when it can stand for the parsed `payload`: one `payload` key, found,
 * and no repeated key inside it. Otherwise undefined (the caller serialises the parsed value).
 */
export function keptPayloadText(text: string, scan: EventScan, payload: unknown): string | undefined {
  if (scan.payloadKeys !== 1 || scan.start === -1) return undefined;
  if (memberCount(payload) !== scan.members) return undefined;
  return text.slice(scan.start, scan.end);
}

/**
 * Reading a request body: content type, size limit, UTF-8, nesting depth, then one JSON.parse.
 * Each failure is a registry error with a precise message; the connection stays usable where HTTP
 * allows it.
 */
import type { IncomingMessage } from 'node:http';
import { amebo } from '../errors.js';
import { payloadText } from '../publish.js';
import { keptPayloadText, scanEvent } from './payload-text.js';

export interface BodyLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
  /** The body is one event: keep its payload's text (payload-text.ts) rather than serialise it again. */
  readonly keepPayload?: boolean;
}

/**
 * JSON is accepted with no content type or `application/x-www-form-urlencoded` too, because Amebo's
 * documented curl commands send `-d '{...}'` without `-H 'Content-Type: application/json'`.
 */
function checkContentType(header: string | undefined): void {
  if (header === undefined || header.trim() === '') return;
  const type = header.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type === 'application/x-www-form-urlencoded' || type === 'text/plain' || type.endsWith('+json')) return;
  throw amebo('AMEBO_ERR_UNSUPPORTED_MEDIA_TYPE', `content type ${type} is not supported; send JSON (application/json)`);
}

/** Reads and parses the JSON body. An empty body is `undefined`. */
export async function readJson(req: IncomingMessage, limits: BodyLimits): Promise<unknown> {
  checkContentType(req.headers['content-type']);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.maxBytes) {
    throw amebo('AMEBO_ERR_BODY_TOO_LARGE', `request body is ${declared} bytes; the limit is ${limits.maxBytes}`, { limit: limits.maxBytes });
  }
  const { chunks, size } = await readBody(req, limits.maxBytes);
  if (size === 0) return undefined;
  const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  let text: string;
  try {
    text = decoder.decode(buf);
  } catch {
    throw amebo('AMEBO_ERR_BAD_JSON', 'request body is not valid UTF-8');
  }
  const scan = limits.keepPayload ? scanEvent(text, limits.maxDepth) : undefined;
  const depth = scan ? scan.depth : maxDepth(text, limits.maxDepth);
  if (depth > limits.maxDepth) {
    throw amebo('AMEBO_ERR_BAD_JSON', `request body nests deeper than ${limits.maxDepth} levels`, { max_depth: limits.maxDepth });
  }
  try {
    const body: unknown = JSON.parse(text);
    if (scan && typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const kept = keptPayloadText(text, scan, (body as { payload?: unknown }).payload);
      if (kept !== undefined) (body as { [payloadText]?: string })[payloadText] = kept;
    }
    return body;
  } catch (err) {
    // V8 quotes a piece of the input (`..."secret":abc123"...`), which may be a credential: drop it.
    const problem = (err as Error).message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
    throw amebo('AMEBO_ERR_BAD_JSON', `request body is not valid JSON: ${problem}`);
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The body's chunks, through 'data' and 'end' events: an async iterator over the request costs a
 * promise and an iterator object per request, which showed in the profile of one event per request.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<{ chunks: Buffer[]; size: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.resume();
        reject(amebo('AMEBO_ERR_BODY_TOO_LARGE', `request body is larger than the limit of ${maxBytes} bytes`, { limit: maxBytes }));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ chunks, size });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    // The client went away before the body was complete: nothing will answer it.
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reject(amebo('AMEBO_ERR_BAD_REQUEST', 'the client closed the connection before the request body was complete'));
    };
    function cleanup(): void {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Deepest nesting of arrays/objects in JSON text, stopping as soon as `limit` is passed. */
export function maxDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Jump to the closing quote (indexOf is much faster than a character loop over long strings);
      // a quote preceded by an odd number of backslashes is escaped.
      let end = text.indexOf('"', i + 1);
      while (end !== -1) {
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === 92 /* \ */) slashes++;
        if (slashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (end === -1) return deepest;
      i = end;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return deepest;
}

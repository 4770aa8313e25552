/**
 * `POST /v1/events/stream`: amebo's fastest way in. The body is NDJSON, one event per line shaped as
 * `POST /v1/events`'s body; the answer is NDJSON too, one line per input line in the same order, each
 * written as soon as the group commit that holds its event lands.
 *
 * - **One pass per chunk.** The complete lines of a chunk are parsed, checked and handed to the core
 *   as one publish, so they share one append and one commit, and their answers go out in one write.
 * - **Backpressure.** Reading pauses while too many lines (or bytes) are unanswered, and while the
 *   socket has not drained the answers already written: a client that sends faster than the log
 *   commits, or that does not read its answers, is slowed by TCP, and memory stays bounded.
 * - **Nothing acknowledged is lost.** A line is answered `data` only after its commit. When the client
 *   goes away, what was handed to the log still commits; its answers are dropped.
 * - **Errors are lines.** A line that is not JSON, has the wrong shape, names an unknown action or
 *   fails the schema gets an error line (`{"error", "code", "details", "error_code"}`); the stream goes on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Core, PublishItem, PublishOutcome } from '../../amebo.js';
import { amebo, isAmeboError, toAmeboError, type AmeboError } from '../../errors.js';
import { payloadText } from '../../publish.js';
import { authenticate, type Principal } from '../auth.js';
import { errorReply } from '../http.js';
import { LineSplitter, type Line } from '../ndjson-lines.js';
import { keptPayloadText, scanEvent } from '../payload-text.js';
import { eventJson } from '../present.js';
import { checkBody } from '../validate.js';

/** Unanswered lines and bytes past which reading pauses. */
const MAX_UNANSWERED_LINES = 8192;
const MAX_UNANSWERED_BYTES = 8 * 1024 * 1024;
const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl']);

/** The route of the stream, as the router and the OpenAPI document spell it. */
export const STREAM_PATH = '/v1/events/stream';

/** The open streams of a server, so that closing the server ends them cleanly. */
export class IngestStreams {
  readonly #open = new Set<IngestStream>();

  /** Serves one `POST /v1/events/stream` request. */
  handle(core: Core, req: IncomingMessage, res: ServerResponse): void {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!NDJSON_TYPES.has(type)) {
      throw amebo('AMEBO_ERR_UNSUPPORTED_MEDIA_TYPE', `content type ${type || '(none)'} is not supported here; send NDJSON (application/x-ndjson), one event per line`);
    }
    const stream = new IngestStream(core, req, res, streamAuth(core, req), () => this.#open.delete(stream));
    this.#open.add(stream);
  }

  /** Stops reading every stream, answers what was read, and ends them. */
  close(): void {
    for (const s of this.#open) s.stop();
  }
}

/**
 * The stream's credentials. A bearer header counts for every line; without one, each line may carry
 * its `secret` (as Amebo's clients send it), and loopback callers of a daemon without an admin token
 * need none. A wrong header fails the whole request before it starts.
 */
function streamAuth(core: Core, req: IncomingMessage): Principal | AmeboError {
  const snap = core.registry.snapshot;
  try {
    return authenticate(req, snap, undefined, core.clock.now());
  } catch (err) {
    if (req.headers.authorization !== undefined || !isAmeboError(err)) throw err;
    return toAmeboError(err);
  }
}

interface Group {
  readonly principal: Principal;
  readonly items: PublishItem[];
  /** Where each item's answer goes in the batch. */
  readonly slots: number[];
}

class IngestStream {
  readonly #splitter: LineSplitter;
  readonly #maxDepth: number;
  readonly #hasHeader: boolean;
  /** Answers are written in order: each batch waits for the one before. */
  #tail: Promise<void> = Promise.resolve();
  #unansweredLines = 0;
  #unansweredBytes = 0;
  #waitingDrain = false;
  #paused = false;
  #done = false;
  #ended = false;
  #secrets = new Map<string, Principal | AmeboError>();
  #secretsSnapshot: unknown;
  readonly #idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly core: Core,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly auth: Principal | AmeboError,
    private readonly onClose: () => void,
  ) {
    const server = core.registry.snapshot.config.server;
    this.#splitter = new LineSplitter(server.max_body_bytes);
    this.#maxDepth = server.max_depth;
    this.#hasHeader = req.headers.authorization !== undefined;
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
    res.flushHeaders();
    req.on('data', (chunk: Buffer) => this.#read(this.#splitter.push(chunk), chunk.length));
    req.on('end', () => {
      this.#read(this.#splitter.end(), 0);
      this.#finish();
    });
    req.on('error', () => this.#abort());
    res.on('close', () => this.#abort());
    res.on('drain', () => {
      this.#waitingDrain = false;
      this.#flow();
    });
    // A stream that sends nothing for the request timeout is ended, answers first: an open request
    // must not hold a socket forever.
    const idleMs = server.request_timeout_ms;
    if (idleMs > 0) {
      this.#idle = setTimeout(() => this.stop(), idleMs);
      this.#idle.unref();
    }
  }

  /** Stops reading; what was read is answered, then the response ends and the connection closes. */
  stop(): void {
    if (this.#done) return;
    this.#done = true;
    this.req.pause();
    this.req.removeAllListeners('data');
    this.#end(true);
  }

  #read(lines: readonly Line[], bytes: number): void {
    if (this.#done) return;
    this.#idle?.refresh();
    if (lines.length === 0) return;
    const answers: string[] = [];
    const groups: Group[] = [];
    let group: Group | undefined;
    for (const line of lines) {
      if ('problem' in line) {
        answers.push(errorLine(line.problem === 'too-large' ? amebo('AMEBO_ERR_BODY_TOO_LARGE', `the line is longer than the limit of ${this.core.registry.snapshot.config.server.max_body_bytes} bytes`) : amebo('AMEBO_ERR_BAD_JSON', 'the line is not valid UTF-8')));
        continue;
      }
      const text = line.text;
      // Blank lines (a trailing \r\n, keep-alive newlines) carry no event and get no answer.
      if (text.length === 0 || text.trim().length === 0) continue;
      const parsed = this.#parse(text);
      if (!('principal' in parsed)) {
        answers.push(errorLine(parsed));
        continue;
      }
      if (group === undefined || group.principal !== parsed.principal) {
        group = { principal: parsed.principal, items: [], slots: [] };
        groups.push(group);
      }
      group.items.push(parsed.item);
      group.slots.push(answers.length);
      answers.push('');
    }
    if (answers.length === 0) return;
    this.#unansweredLines += answers.length;
    this.#unansweredBytes += bytes;
    this.#flow();
    const published = groups.length === 0 ? null : Promise.all(groups.map((g) => this.core.publish(g.items, g.principal, false)));
    // Handled below, once the batches before it are answered; until then it must not count as unhandled.
    published?.catch(() => undefined);
    this.#tail = this.#tail.then(async () => {
      if (published) {
        try {
          const results = await published;
          for (let g = 0; g < groups.length; g++) {
            const { slots } = groups[g]!;
            const outcomes = results[g]!;
            for (let i = 0; i < slots.length; i++) answers[slots[i]!] = outcomeLine(outcomes[i]!);
          }
        } catch (err) {
          // The append failed as a whole (storage full, shutting down): every event of it says so.
          const line = errorLine(toAmeboError(err));
          for (const g of groups) for (const slot of g.slots) answers[slot] = line;
        }
      }
      this.#unansweredLines -= answers.length;
      this.#unansweredBytes -= bytes;
      this.#write(`${answers.join('\n')}\n`);
      this.#flow();
    });
  }

  /** One line: JSON, the line's shape, its credentials; the rest is the core's. */
  #parse(text: string): { item: PublishItem; principal: Principal } | AmeboError {
    const scan = scanEvent(text, this.#maxDepth);
    if (scan.depth > this.#maxDepth) return amebo('AMEBO_ERR_BAD_JSON', `the line nests deeper than ${this.#maxDepth} levels`, { max_depth: this.#maxDepth });
    let item: PublishItem & { secret?: unknown };
    try {
      item = JSON.parse(text) as PublishItem;
    } catch (err) {
      const problem = (err as Error).message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
      return amebo('AMEBO_ERR_BAD_JSON', `the line is not valid JSON: ${problem}`);
    }
    let principal: Principal | AmeboError = this.auth;
    if (!this.#hasHeader && typeof item === 'object' && item !== null && typeof item.secret === 'string') principal = this.#bySecret(item.secret);
    if (!('kind' in principal)) return principal;
    try {
      checkBody('POST', STREAM_PATH, item);
    } catch (err) {
      return toAmeboError(err);
    }
    const kept = keptPayloadText(text, scan, item.payload);
    if (kept !== undefined) (item as { [payloadText]?: string })[payloadText] = kept;
    return { item, principal };
  }

  /** A line's own secret, checked once per stream and config in force. */
  #bySecret(secret: string): Principal | AmeboError {
    const snap = this.core.registry.snapshot;
    if (snap !== this.#secretsSnapshot) {
      this.#secrets = new Map();
      this.#secretsSnapshot = snap;
    }
    let p = this.#secrets.get(secret);
    if (p === undefined) {
      try {
        p = authenticate(this.req, snap, secret, this.core.clock.now());
      } catch (err) {
        p = toAmeboError(err);
      }
      if (this.#secrets.size < 16) this.#secrets.set(secret, p);
    }
    return p;
  }

  #write(text: string): void {
    if (this.res.destroyed || this.res.writableEnded) return;
    if (!this.res.write(text)) this.#waitingDrain = true;
  }

  /** Pauses or resumes reading to keep the unanswered work and the socket's buffer bounded. */
  #flow(): void {
    if (this.#done) return;
    const full = this.#waitingDrain || this.#unansweredLines >= MAX_UNANSWERED_LINES || this.#unansweredBytes >= MAX_UNANSWERED_BYTES;
    if (full && !this.#paused) {
      this.#paused = true;
      this.req.pause();
    } else if (!full && this.#paused) {
      this.#paused = false;
      this.req.resume();
    }
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#end(false);
  }

  #end(early: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    void this.#tail.then(() => {
      if (this.#idle) clearTimeout(this.#idle);
      if (!this.res.destroyed && !this.res.writableEnded) {
        // The rest of an unfinished body will not be read: the connection cannot carry another request.
        if (early) this.res.once('finish', () => this.req.socket.destroy());
        this.res.end();
      }
      this.onClose();
    });
  }

  /** The client went away (or the request broke): nothing more is read or written. */
  #abort(): void {
    if (this.res.writableFinished) return;
    this.#done = true;
    if (this.#idle) clearTimeout(this.#idle);
    this.req.removeAllListeners('data');
    void this.#tail.then(() => this.onClose());
  }
}

function outcomeLine(o: PublishOutcome): string {
  if (!o.ok) return errorLine(o.error);
  return o.duplicate ? `{"data":${eventJson(o.event)},"duplicate":true}` : `{"data":${eventJson(o.event)}}`;
}

function errorLine(err: AmeboError): string {
  const reply = errorReply(err);
  return JSON.stringify(reply.body);
}

/**
 * `amebo tail`: deliveries as they happen. On a terminal, a full-screen Ink app; with `--json` or a
 * stdout that is not a terminal, one NDJSON line per delivery (for jq).
 */
import { AmeboClient } from '../../client/api.js';
import { openStream, type StreamMessage, type StreamStatus } from '../../client/stream.js';
import type { AmeboError } from '../../errors.js';
import type { ClientOptions } from '../client-options.js';
import { describeError, exitCodeOf } from '../../format/errors.js';
import { io, type OutStream } from '../../format/io.js';

/** Options of `amebo tail`. */
export interface TailOptions extends ClientOptions {
  action?: string | undefined;
  subscription?: string | undefined;
  failures?: boolean | undefined;
  /** NDJSON mode: stop after this many deliveries. */
  count?: number | undefined;
  /** Rows the TUI keeps. */
  rows: number;
}

/** An abort signal that fires on the run's own signal or on SIGINT/SIGTERM; `dispose` unhooks it. */
function stopSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  const outer = io().signal;
  outer?.addEventListener('abort', stop, { once: true });
  if (outer?.aborted) stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      outer?.removeEventListener('abort', stop);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** Writes a line and, when the pipe is full, returns a promise that settles once it drains. */
function writeLine(stdout: OutStream, line: string): Promise<void> | undefined {
  if (stdout.write(line) || !stdout.once) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      stdout.off?.('drain', done);
      stdout.off?.('error', done);
      resolve();
    };
    stdout.once?.('drain', done);
    stdout.once?.('error', done);
  });
}

/** NDJSON mode: one line per delivery until interrupted, `--count` is reached, or the stream is refused. */
async function tailJson(client: AmeboClient, opts: TailOptions): Promise<number> {
  const { stdout, stderr } = io();
  const { signal, dispose } = stopSignal();
  let seen = 0;
  let refused: AmeboError | undefined;
  let lastNote = '';
  // A closed pipe (`amebo tail | head`) is a normal way to stop.
  const onPipeError = (): void => void handle.close();
  stdout.once?.('error', onPipeError);
  const handle = openStream(client.http, {
    action: opts.action,
    subscription: opts.subscription,
    failures: opts.failures,
    types: ['delivery'],
    failFast: true,
    onMessage: (m: StreamMessage) => {
      if (m.type !== 'delivery' || (opts.count !== undefined && seen >= opts.count)) return undefined;
      seen++;
      const { type: _type, ...delivery } = m.delivery;
      const wait = writeLine(stdout, `${JSON.stringify(delivery)}\n`);
      if (opts.count !== undefined && seen >= opts.count) void handle.close();
      return wait;
    },
    onStatus: (s: StreamStatus) => {
      if (s.state === 'closed' && s.error) refused = s.error;
      // Reconnect notes go to stderr once each, so a pipe to jq only ever sees deliveries.
      if (s.state === 'retrying') {
        const note = `amebo: ${s.error.message}; reconnecting`;
        if (note !== lastNote) stderr.write(`${note}\n`);
        lastNote = note;
      }
      if (s.state === 'open') lastNote = '';
    },
  });
  const onAbort = (): void => void handle.close();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await handle.done;
  } finally {
    signal.removeEventListener('abort', onAbort);
    stdout.off?.('error', onPipeError);
    dispose();
  }
  if (refused) {
    stderr.write(describeError(refused));
    return exitCodeOf(refused);
  }
  return 0;
}

/** TUI mode. */
async function tailTui(client: AmeboClient, opts: TailOptions): Promise<number> {
  const { renderTail } = await import('../../tui/render-tail.js');
  // The app ends with the stream's error when it could never connect (wrong --url, bad token).
  await renderTail({
    url: client.baseUrl,
    client,
    capacity: opts.rows,
    filter: '',
    failuresOnly: opts.failures === true,
    openStream: (handlers) =>
      openStream(client.http, {
        action: opts.action,
        subscription: opts.subscription,
        types: ['delivery', 'stats'],
        failFast: true,
        ...handlers,
      }),
  });
  return 0;
}

/** Runs `amebo tail`. */
export default async function tail(opts: TailOptions): Promise<number> {
  let client: AmeboClient | undefined;
  try {
    client = new AmeboClient({ url: opts.url, token: opts.token, env: {} });
    const { stdout, stdin } = io();
    const interactive = !opts.json && stdout.isTTY === true && stdin.isTTY === true;
    return interactive ? await tailTui(client, opts) : await tailJson(client, opts);
  } catch (error) {
    io().stderr.write(describeError(error));
    return exitCodeOf(error);
  } finally {
    await client?.close();
  }
}

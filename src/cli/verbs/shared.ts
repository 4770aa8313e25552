/**
 * What every client verb shares: building the client from `--url`/`--token`, turning failures into a
 * stderr message and an exit code, and commander argument parsers that reject bad input as usage
 * errors (exit 2).
 */
import { InvalidArgumentError } from 'commander';
import type { AmeboClient } from '../../client/api.js';
import type { ClientOptions } from '../client-options.js';
import { parseDuration } from '../../format/duration.js';
import { describeError, exitCodeOf } from '../../format/errors.js';
import { parseTimeArg } from '../../format/time.js';
import { io, out } from '../../format/io.js';
import { pageFooter } from '../../format/resources.js';
import type { Page } from '../../client/types.js';

/**
 * Runs a verb body with a client of the daemon. Any failure is printed on stderr and becomes the
 * exit code its registry entry names; the client is closed either way.
 */
export async function withClient(opts: ClientOptions, body: (client: AmeboClient) => Promise<number>): Promise<number> {
  let client: AmeboClient | undefined;
  try {
    // Loaded here, not at the top: undici is large, and `--version`/`--help` never need it. No env
    // defaults: commander has read $AMEBO_URL and $AMEBO_TOKEN, and $AMEBO_SECRET is not the CLI's.
    const { AmeboClient } = await import('../../client/api.js');
    client = new AmeboClient({ url: opts.url, token: opts.token, env: {} });
    return await body(client);
  } catch (error) {
    io().stderr.write(describeError(error));
    return exitCodeOf(error);
  } finally {
    await client?.close();
  }
}

/** Parses a whole number of at least `min`, for `--page`, `--per-page`, `--event`. */
export function intArg(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
      throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    }
    return Number(value);
  };
}

/** A gist id as typed: opaque (a number on LMDB, `<event>.<subscription>` on NATS), never empty. */
export function gistArg(value: string): string {
  const id = value.trim();
  if (id === '' || /[\s/?#]/.test(id)) throw new InvalidArgumentError('expected a gist id as amebo shows it (7, or 42.welcome-emails)');
  return id;
}

/** Parses `--from`/`--to`: ISO 8601, or a duration meaning that long ago. */
export function timeArg(value: string): string {
  const iso = parseTimeArg(value);
  if (iso === undefined) throw new InvalidArgumentError('expected an ISO 8601 time (2026-11-03T12:00:00Z) or a duration ago (15m, 2h, 1d)');
  return iso;
}

/** Parses a duration option (`30s`, `500ms`, `5m`) into milliseconds. */
export function durationArg(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 0) throw new InvalidArgumentError('expected a duration such as 500ms, 30s, 5m or 1h');
  return ms;
}

/** Prints `value` as indented JSON on stdout. */
export function printJson(value: unknown): void {
  io().stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints one page of a listing: the API's body as is with `--json`, else the table and a footer. */
export async function printPage<T>(page: Page<T>, json: boolean | undefined, table: (rows: readonly T[]) => string): Promise<number> {
  if (json) printJson(page);
  else await out(page.data.length > 0 ? table(page.data) + pageFooter(page.meta, page.data.length) : pageFooter(page.meta, 0));
  return 0;
}

/** Prints one object: JSON with `--json`, else its detail view. */
export async function printOne<T>(value: T, json: boolean | undefined, detail: (value: T) => string): Promise<number> {
  if (json) printJson(value);
  else await out(detail(value));
  return 0;
}

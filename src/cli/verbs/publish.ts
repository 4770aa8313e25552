/**
 * `amebo publish ACTION [PAYLOAD|@file|-]`: publishes one event and prints it, or many from NDJSON
 * through the batch endpoint.
 */
import { amebo } from '../../errors.js';
import type { ClientOptions } from '../client-options.js';
import { describeError, exitCodeOf } from '../../format/errors.js';
import { io, out } from '../../format/io.js';
import { eventDetail } from '../../format/resources.js';
import { publishMany } from './publish-batch.js';
import { detectSource, openSource, parseInlinePayload, type PublishSource } from './publish-input.js';
import { withClient } from './shared.js';

/** Options of `amebo publish`. */
export interface PublishOptions extends ClientOptions {
  deduper?: string | undefined;
  /** Delay before the first delivery, in ms (parsed from `--delay 30s`). */
  delay?: number | undefined;
  /** Read NDJSON even if it has one line. */
  ndjson?: boolean | undefined;
  /** Events per batch request. */
  batchSize: number;
}

async function readSource(payloadArg: string | undefined, ndjson: boolean): Promise<PublishSource> {
  const stream = openSource(payloadArg);
  if (stream === undefined || (payloadArg === undefined && !ndjson)) {
    if (ndjson) throw amebo('AMEBO_ERR_BAD_REQUEST', '--ndjson reads from stdin (-) or @file, not from an inline PAYLOAD');
    return { kind: 'single', payload: parseInlinePayload(payloadArg) };
  }
  return detectSource(stream, ndjson);
}

/** Runs `amebo publish`. */
export default async function publish(action: string | undefined, payloadArg: string | undefined, opts: PublishOptions): Promise<number> {
  const sleepUntil = opts.delay === undefined ? undefined : Math.ceil(opts.delay / 1000);
  let source: PublishSource;
  try {
    if (action === undefined && !opts.ndjson) {
      throw amebo('AMEBO_ERR_BAD_REQUEST', 'missing ACTION (only --ndjson input of event objects may leave it out)');
    }
    source = await readSource(payloadArg, opts.ndjson === true);
    if (source.kind === 'many' && opts.deduper !== undefined) {
      throw amebo('AMEBO_ERR_BAD_REQUEST', '--deduper names one event; with NDJSON, give each line its own "deduper" field');
    }
  } catch (error) {
    io().stderr.write(describeError(error));
    return exitCodeOf(error);
  }

  return withClient(opts, async (client) => {
    if (source.kind === 'many') {
      return publishMany(client, source.lines, {
        action,
        sleep_until: sleepUntil,
        chunkSize: opts.batchSize,
        json: opts.json === true,
      });
    }
    const { event, duplicate } = await client.publish({
      action: action as string,
      payload: source.payload,
      deduper: opts.deduper,
      sleep_until: sleepUntil,
    });
    if (opts.json) {
      await out(`${JSON.stringify(event, null, 2)}\n`);
    } else {
      await out(eventDetail(event));
      if (duplicate) io().stderr.write(`deduper ${JSON.stringify(event.deduper)} matched event ${event.id}: nothing new was published\n`);
    }
    return 0;
  });
}

/**
 * Reading a stretch of a stream in order: a short-lived consumer (R1, in memory, no acks) from a start
 * sequence, with one subject filter, pulled in batches until everything that matched when it was
 * created has come (its `num_pending` at creation), then deleted. The count at creation is also how a
 * listing learns its total without reading everything. A consumer per scan, not per message, because
 * one round trip per message is what makes scans slow.
 */
import { AckPolicy, DeliverPolicy, ReplayPolicy } from '@nats-io/jetstream';
import { nanos, type Msg } from '@nats-io/nats-core';
import type { NatsContext } from './connection.js';
import { retrying, readFailure } from './failures.js';
import { PullHandle, type Delivery } from './pull.js';

export interface ScanOptions {
  readonly stream: string;
  readonly filter: string;
  /** First sequence to read (default the start of the stream). */
  readonly from?: number | undefined;
  /** The last record of each subject only (gist states). */
  readonly lastPerSubject?: boolean | undefined;
}

const BATCH = 256;

/** A scan: how many messages match, and the messages in stream order. */
export interface Scan {
  readonly count: number;
  readonly messages: AsyncGenerator<{ readonly msg: Msg; readonly seq: number }>;
  /** Ends the scan early and removes its consumer (safe to call twice, and after the end). */
  close(): void;
}

/** Opens a scan; the count is known at once, the messages come as they are read. */
export async function openScan(ctx: NatsContext, options: ScanOptions): Promise<Scan> {
  const { jsm, settings } = ctx;
  const info = await retrying('a scan', settings.publish_timeout_ms, () =>
    jsm.consumers.add(options.stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: options.lastPerSubject ? DeliverPolicy.LastPerSubject : options.from ? DeliverPolicy.StartSequence : DeliverPolicy.All,
      opt_start_seq: options.lastPerSubject ? undefined : options.from,
      filter_subject: options.filter,
      replay_policy: ReplayPolicy.Instant,
      mem_storage: true,
      num_replicas: 1,
      // Removed by the server if this process dies mid-scan.
      inactive_threshold: nanos(30_000),
    }),
  ).catch((err: unknown) => {
    throw readFailure(err, 'a scan');
  });
  const count = info.num_pending;
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    void jsm.consumers.delete(options.stream, info.name).catch(() => undefined);
  };
  if (count === 0) {
    remove();
    return { count, messages: (async function* () {})(), close: () => undefined };
  }
  const messages = async function* () {
    const queue: Array<{ msg: Msg; seq: number }> = [];
    let wake: (() => void) | null = null;
    const handle = new PullHandle(ctx.nc, options.stream, info.name, (msg: Msg, d: Delivery) => {
      queue.push({ msg, seq: d.streamSeq });
      wake?.();
    });
    let received = 0;
    try {
      while (received < count) {
        if (queue.length === 0) {
          let pulled = false;
          if (!handle.busy) {
            void handle.pull({ batch: Math.min(BATCH, count - received), expiresMs: settings.request_timeout_ms }).then(() => {
              pulled = true;
              wake?.();
            });
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          if (queue.length === 0 && pulled && !handle.busy) {
            // The request ended with nothing: the stream lost what it held (pruned meanwhile).
            const left = await jsm.consumers.info(options.stream, info.name).catch(() => null);
            if (!left || left.num_pending === 0) return;
          }
          continue;
        }
        const next = queue.shift()!;
        received++;
        yield next;
      }
    } finally {
      handle.close();
      remove();
    }
  };
  const generator = messages();
  return {
    count,
    messages: generator,
    close: () => {
      remove();
      void generator.return(undefined);
    },
  };
}

/**
 * The connection to the cluster and the few calls every part of the engine makes through it: reads
 * from the stream leader (consistent: a follower's direct get may not have the write just
 * acknowledged yet), and writes retried with one message id until `publish_timeout`.
 */
import { readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { credsAuthenticator, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type PubAck, type StoredMsg } from '@nats-io/jetstream';
import { amebo, isAmeboError } from '../../errors.js';
import type { Clock } from '../../types.js';
import type { NatsSettings } from '../../config/load.js';
import { isWrongLastSequence, retrying, readFailure } from './failures.js';
import type { Names } from './names.js';

/** What every part of the engine shares. */
export interface NatsContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: Names;
  readonly settings: NatsSettings;
  readonly clock: Clock;
  /** Replicas of every stream and consumer, as decided at start. */
  readonly replicas: number;
  /** Random id of this process, in message ids and notices. */
  readonly process: string;
}

let counter = 0;

/** A message id unique to this process and call: the process's random id and a counter (no syscall). */
export function uniqueId(ctx: NatsContext): string {
  return `${ctx.process}.${(++counter).toString(36)}`;
}

/** The oldest server amebo runs on: 2.9 has the consumer API, direct gets and KV as used here. */
export const MIN_SERVER = [2, 9, 0] as const;

function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version.split(/[.-]/).map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < min.length; i++) {
    const v = parts[i] ?? 0;
    if (v !== min[i]) return v > min[i]!;
  }
  return true;
}

/** Connects, and refuses servers that are too old or have JetStream off. */
export async function openConnection(settings: NatsSettings, name: string): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: [...settings.servers],
      name,
      timeout: settings.connect_timeout_ms,
      // A lost server is normal in a cluster: keep reconnecting (to any server) for ever.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 5_000,
      maxPingOut: 2,
      // The client otherwise builds two Error objects (with stack traces) per request, to keep the
      // caller's stack for a failure that almost never comes: a fifth of the publish path's CPU.
      noAsyncTraces: true,
      // This process's own notices (bus, routes) are not echoed back to it.
      noEcho: true,
      user: settings.user,
      pass: settings.password,
      token: settings.token,
      authenticator: settings.creds ? credsAuthenticator(readFileSync(settings.creds)) : undefined,
      tls: settings.tls ? { caFile: settings.tls.ca, certFile: settings.tls.cert, keyFile: settings.tls.key } : undefined,
    });
  } catch (err) {
    throw amebo(
      'AMEBO_ERR_LOG_UNAVAILABLE',
      `cannot reach NATS at ${settings.servers.join(',')}: ${(err as Error).message}; start the servers, or check server.log and server.nats`,
      undefined,
      err,
    );
  }
  const info = nc.info;
  if (!info || !versionAtLeast(info.version, MIN_SERVER)) {
    await nc.close();
    throw amebo('AMEBO_ERR_CONFIG', `NATS server ${info?.version ?? '(unknown)'} is too old: amebo needs nats-server ${MIN_SERVER.join('.')} or newer`);
  }
  if (!info.jetstream) {
    await nc.close();
    throw amebo('AMEBO_ERR_CONFIG', `NATS server ${info.server_name} (${info.version}) has JetStream disabled: start it with -js (or a jetstream {} block)`);
  }
  return nc;
}

export async function clients(nc: NatsConnection, settings: NatsSettings): Promise<{ js: JetStreamClient; jsm: JetStreamManager }> {
  const opts = { timeout: settings.request_timeout_ms };
  return { js: jetstream(nc, opts), jsm: await jetstreamManager(nc, { ...opts, checkAPI: false }) };
}

/** A message of a stream from its leader; null when there is none. Transient failures are retried. */
export function getMessage(ctx: NatsContext, stream: string, query: { seq: number } | { last_by_subj: string } | { seq: number; next_by_subj: string }): Promise<StoredMsg | null> {
  return retrying('a read', ctx.settings.publish_timeout_ms, () => ctx.jsm.streams.getMessage(stream, query), ctx.settings.request_timeout_ms + 1_000).catch((err: unknown) => {
    throw readFailure(err, 'a read');
  });
}

/**
 * One management or read call (stream info, a listing, a purge), retried while the cluster has no
 * leader and capped per try, then a 503 of the registry: never a hang, never a 500.
 */
export function call<T>(ctx: NatsContext, what: string, op: () => Promise<T>): Promise<T> {
  return retrying(what, ctx.settings.publish_timeout_ms, op, ctx.settings.request_timeout_ms + 1_000).catch((err: unknown) => {
    throw readFailure(err, what);
  });
}

export interface WriteOptions {
  readonly msgID: string;
  readonly headers?: MsgHdrs | undefined;
  /** Compare-and-swap: the subject's last sequence must be this (0: the subject is empty). */
  readonly expectLastSubjectSeq?: number | undefined;
}

/** A write's acknowledgement, and how many times it was sent. */
export interface Written extends PubAck {
  /** 1 when the first try was answered; more when earlier tries may have landed unanswered. */
  readonly tries: number;
}

/**
 * Appends one message once it is stored on a quorum, retrying transient failures with the same
 * message id until `publish_timeout` (then AMEBO_ERR_LOG_UNAVAILABLE). A retry of a write that did
 * land is answered with the first write's sequence (`duplicate`), so nothing is stored twice; except
 * across a leader change on servers before 2.11, which a caller that must not store twice checks for
 * when `tries` > 1 (copies.ts).
 */
export function write(ctx: NatsContext, subject: string, data: string | Uint8Array, options: WriteOptions): Promise<Written> {
  let tries = 0;
  return retrying('a write', ctx.settings.publish_timeout_ms, () => {
    tries++;
    return ctx.js.publish(subject, data, {
      msgID: options.msgID,
      headers: options.headers,
      expect: options.expectLastSubjectSeq === undefined ? undefined : { lastSubjectSequence: options.expectLastSubjectSeq },
      timeout: Math.min(ctx.settings.request_timeout_ms, ctx.settings.publish_timeout_ms),
      retries: 1,
    });
  }, ctx.settings.request_timeout_ms + 1_000).then(
    (ack) => ({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, domain: ack.domain, tries }),
  ).catch((err: unknown) => {
    // A refused compare-and-swap is the caller's to judge; anything else is never a 500.
    if (isAmeboError(err) || isWrongLastSequence(err)) throw err;
    if (/max(imum)?[ _]payload|message size exceeds|exceeds maximum/i.test(String((err as Error)?.message))) {
      throw amebo('AMEBO_ERR_BODY_TOO_LARGE', `too large for the NATS servers' max_payload (${String((err as Error).message)}); raise max_payload on the servers (2MB for amebo's 1 MiB bodies)`);
    }
    throw readFailure(err, 'a write');
  });
}

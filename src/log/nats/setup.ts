/**
 * Start-up: make amebo's streams if they are missing, and refuse, with a message that says what to do,
 * streams that exist with other replicas or subjects (another deployment's, or one made by hand).
 * Creating is idempotent: instances starting together agree, since an identical create is a no-op.
 */
import { randomBytes } from 'node:crypto';
import { DiscardPolicy, RetentionPolicy, StorageType, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { amebo } from '../../errors.js';
import type { NatsContext } from './connection.js';
import { API, apiCode, retrying } from './failures.js';

/** The log's id, kept in the events stream's description: the prefix of every webhook-id. */
const ID_PREFIX = 'amebo log ';

function config(name: string, subjects: string[], replicas: number, extra: Partial<StreamConfig>): Partial<StreamConfig> {
  return {
    name,
    subjects,
    num_replicas: replicas,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    // No age or size limit: amebo prunes only events whose gists are all delivered (retention.ts).
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    duplicate_window: nanos(120_000),
    ...extra,
  };
}

/** Makes or verifies the three streams; returns the log's id. */
export async function ensureStreams(ctx: NatsContext): Promise<string> {
  const { names, replicas } = ctx;
  const events = await ensure(ctx, config(names.events, [names.eventSubjects], replicas, { description: `${ID_PREFIX}${randomBytes(8).toString('hex')}` }));
  await ensure(ctx, config(names.gists, [...names.gistSubjectList], replicas, { description: 'amebo: every attempt and replay of every gist' }));
  await ensure(ctx, config(names.tickets, [names.ticketSubjects], replicas, { retention: RetentionPolicy.Workqueue, description: 'amebo: replay tickets' }));
  const id = events.config.description?.startsWith(ID_PREFIX) ? events.config.description.slice(ID_PREFIX.length) : '';
  if (!/^[0-9a-f]{16}$/.test(id)) {
    throw amebo('AMEBO_ERR_CONFIG', `stream ${names.events} exists but was not made by amebo (its description is not "${ID_PREFIX}<id>"); choose another server.nats.prefix`);
  }
  return id;
}

async function ensure(ctx: NatsContext, want: Partial<StreamConfig>): Promise<StreamInfo> {
  const { jsm, settings } = ctx;
  const name = want.name!;
  const info = await retrying(`making stream ${name}`, Math.max(settings.publish_timeout_ms, 30_000), async () => {
    try {
      return await jsm.streams.info(name);
    } catch (err) {
      if (apiCode(err) !== API.streamNotFound) throw err;
    }
    try {
      return await jsm.streams.add({ ...want, name });
    } catch (err) {
      // Another instance made it between our look and our add: read theirs.
      if (apiCode(err) === API.streamNameInUse) return jsm.streams.info(name);
      throw err;
    }
  });
  verify(ctx, info, want);
  return info;
}

function verify(ctx: NatsContext, info: StreamInfo, want: Partial<StreamConfig>): void {
  const have = info.config;
  const problems: string[] = [];
  if (have.num_replicas !== want.num_replicas) problems.push(`${have.num_replicas} replica(s), but amebo is set to ${want.num_replicas} (server.nats.replicas)`);
  const subjects = [...(have.subjects ?? [])].sort().join(',');
  if (subjects !== [...want.subjects!].sort().join(',')) problems.push(`subjects [${subjects}], but amebo uses [${want.subjects!.join(',')}]`);
  if (have.retention !== want.retention) problems.push(`retention ${have.retention}, but amebo needs ${want.retention}`);
  if (problems.length > 0) {
    throw amebo(
      'AMEBO_ERR_CONFIG',
      `stream ${have.name} on ${ctx.nc.info?.server_name ?? 'NATS'} exists with ${problems.join('; and ')}. amebo does not change a stream it finds: ` +
        `set server.nats.replicas to match, use another server.nats.prefix, or change the stream yourself (nats stream edit ${have.name} --replicas N)`,
      { stream: have.name, problems },
    );
  }
}

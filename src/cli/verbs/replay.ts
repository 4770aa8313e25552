/**
 * `amebo replay`: re-delivers what the filters match through `POST /v1/replays` (or one gist through
 * `POST /v1/gists/:id/replay`), and with `--follow` watches it finish.
 */
import type { AmeboClient } from '../../client/api.js';
import type { ReplayInput, ReplayProgress } from '../../client/types.js';
import { amebo } from '../../errors.js';
import type { ClientOptions } from '../client-options.js';
import { describeError, exitCodeOf } from '../../format/errors.js';
import { io, out } from '../../format/io.js';
import { gistDetail } from '../../format/resources.js';
import { count } from '../../format/words.js';
import { printJson, withClient } from './shared.js';

/** Options of `amebo replay`. */
export interface ReplayOptions extends ClientOptions {
  from?: string | undefined;
  to?: string | undefined;
  action?: string | undefined;
  subscription?: string | undefined;
  event?: number | undefined;
  failed?: boolean | undefined;
  dryRun?: boolean | undefined;
  follow?: boolean | undefined;
  gist?: string | undefined;
  /** Poll interval of `--follow`, in ms. */
  interval: number;
}

const FILTERS = ['from', 'to', 'action', 'subscription', 'event', 'failed'] as const;

/**
 * One line of replay progress. Settled means delivered or dead; `failed` counts attempts that will be
 * retried, so it is shown apart.
 */
const progressLine = (p: ReplayProgress): string => {
  const settled = Math.min(p.count, p.delivered + p.dead);
  const retried = p.failed > 0 ? `, ${count(p.failed, 'failed attempt')} retried` : '';
  return `replay ${p.replay}: ${settled}/${p.count} settled (${p.delivered} delivered, ${p.dead} dead${retried})${p.done ? ', done' : ''}`;
};

const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Polls a replay until it is done (or the user interrupts), printing progress. */
async function follow(client: AmeboClient, id: string, opts: ReplayOptions): Promise<number> {
  const { stderr, signal } = io();
  const tty = stderr.isTTY === true;
  let last = '';
  for (;;) {
    const p = await client.getReplay(id);
    const line = progressLine(p);
    if (!opts.json && line !== last) {
      if (tty) stderr.write(`\r\x1b[K${line}`);
      else stderr.write(`${line}\n`);
      last = line;
    }
    if (p.done || signal?.aborted) {
      if (tty && !opts.json) stderr.write('\r\x1b[K');
      if (opts.json) printJson(p);
      else await out(`${line}${p.done ? '' : ' (still running)'}\n`);
      // A replay whose deliveries failed again did its job; report, but do not fail the command.
      return 0;
    }
    await sleep(opts.interval, signal);
  }
}

/** Runs `amebo replay`. */
export default async function replay(opts: ReplayOptions): Promise<number> {
  if (opts.gist !== undefined) {
    const used = FILTERS.filter((f) => opts[f] !== undefined && opts[f] !== false);
    if (used.length > 0 || opts.dryRun || opts.follow) {
      const error = amebo('AMEBO_ERR_BAD_REQUEST', `--gist replays one gist; it cannot be combined with ${[...used.map((f) => `--${f}`), ...(opts.dryRun ? ['--dry-run'] : []), ...(opts.follow ? ['--follow'] : [])].join(', ')}`);
      io().stderr.write(describeError(error));
      return exitCodeOf(error);
    }
    return replayGist(opts.gist, opts);
  }
  return withClient(opts, async (client) => {
    const input: ReplayInput = {
      from: opts.from,
      to: opts.to,
      action: opts.action,
      subscription: opts.subscription,
      event: opts.event,
      failed: opts.failed || undefined,
      dry_run: opts.dryRun || undefined,
    };
    const created = await client.createReplay(input);
    if (opts.dryRun || created.replay === null) {
      if (opts.json) printJson(created);
      else await out(`${count(created.count, 'delivery', 'deliveries')} would be replayed (dry run: nothing was queued)\n`);
      return 0;
    }
    if (opts.follow && created.count > 0) {
      if (!opts.json) io().stderr.write(`queued ${count(created.count, 'delivery', 'deliveries')} (replay ${created.replay})\n`);
      return follow(client, created.replay, opts);
    }
    if (opts.json) printJson(created);
    else await out(`queued ${count(created.count, 'delivery', 'deliveries')} (replay ${created.replay})\n`);
    return 0;
  });
}

/** Replays one gist now: `amebo replay --gist ID` and `amebo gists replay ID`. */
export async function replayGist(gistId: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const gist = await client.replayGist(gistId);
    if (opts.json) printJson(gist);
    else await out(`replay of gist ${gist.id} queued\n\n${gistDetail(gist)}`);
    return 0;
  });
}

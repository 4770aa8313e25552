/** /v1/gists and /v1/replays */
import type { Router } from '../router.js';
import { data, list, type Ctx } from '../http.js';
import { gistParam, pageOf, timeParam } from '../params.js';
import { presentGist } from '../present.js';
import { amebo } from '../../errors.js';
import type { GistState } from '../../types.js';
import type { ReplayInput } from '../../client/types.js';

const STATES = new Set(['pending', 'delivered', 'failed', 'dead']);

async function replayOne({ core, params, principal }: Ctx) {
  return data(presentGist(await core.replayGist(principal, gistParam(core, params['id']))), 202);
}

export function gistRoutes(router: Router): void {
  router.on('GET', '/v1/gists', async ({ core, url, principal }) => {
    const { page, per_page } = pageOf(url);
    const state = url.searchParams.get('state') || undefined;
    if (state !== undefined && !STATES.has(state)) throw amebo('AMEBO_ERR_VALIDATION', 'state must be pending, delivered, failed or dead', { field: 'state' });
    const event = url.searchParams.get('event');
    if (event !== null && !/^\d{1,15}$/.test(event)) throw amebo('AMEBO_ERR_VALIDATION', 'event must be an event id', { field: 'event' });
    const { items, total, exact } = await core.listGists(
      principal,
      {
        subscription: url.searchParams.get('subscription') || undefined,
        event: event === null ? undefined : Number(event),
        state: state as GistState | undefined,
      },
      { page, per_page },
    );
    return list(items.map(presentGist), total, page, per_page, exact !== false);
  });

  router.on('GET', '/v1/gists/:id', async ({ core, params, principal }) => {
    const id = gistParam(core, params['id']);
    const gist = await core.getGist(principal, id);
    if (!gist) throw amebo('AMEBO_ERR_NOT_FOUND', `no gist with id ${id}`);
    return data(presentGist(gist));
  });

  router.on('POST', '/v1/gists/:id/replay', replayOne);
  // Amebo's own client calls this path.
  router.on('POST', '/v1/regists/:id', replayOne);

  router.on('POST', '/v1/replays', async ({ core, body, principal }) => {
    // The body's shape is checked against the OpenAPI document before this runs (validate.ts).
    const b = (body ?? {}) as { readonly [K in keyof ReplayInput]?: ReplayInput[K] | null };
    const filter = {
      from: timeParam(b.from, 'from'),
      to: timeParam(b.to, 'to'),
      action: b.action ?? undefined,
      subscription: b.subscription ?? undefined,
      event: b.event ?? undefined,
      failed: b.failed === true,
    };
    if (filter.subscription !== undefined && !core.registry.snapshot.subscriptions.has(filter.subscription)) {
      throw amebo('AMEBO_ERR_NOT_FOUND', `no subscription named ${filter.subscription}`);
    }
    if (filter.action !== undefined && !core.registry.snapshot.actions.has(filter.action)) {
      throw amebo('AMEBO_ERR_UNKNOWN_ACTION', `unknown action "${filter.action}"`);
    }
    const dryRun = b.dry_run === true;
    return data(await core.startReplay(principal, filter, dryRun), dryRun ? 200 : 202);
  });

  router.on('GET', '/v1/replays/:id', ({ core, params, principal }) => {
    const status = core.replayStatus(principal, params['id']!);
    if (!status) throw amebo('AMEBO_ERR_NOT_FOUND', `no replay ${params['id']}`);
    return data(status);
  });
}

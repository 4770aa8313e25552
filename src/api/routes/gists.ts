/** /v1/gists and /v1/replays */
import type { Router } from '../router.js';
import { data, list, type Ctx } from '../http.js';
import { idParam, pageOf, timeParam } from '../params.js';
import { presentGist } from '../present.js';
import { amebo } from '../../errors.js';
import type { GistState } from '../../types.js';
import type { Principal } from '../auth.js';
import type { Core } from '../../amebo.js';
import type { ReplayInput } from '../../client/types.js';

const STATES = new Set(['pending', 'delivered', 'failed', 'dead']);

/** Subscriptions the caller may see: all for admin, its own for an application. */
function ownSubscriptions(core: Core, principal: Principal): ReadonlySet<string> | undefined {
  if (principal.kind !== 'app') return undefined;
  return new Set([...core.registry.snapshot.subscriptions.values()].filter((s) => s.application === principal.app).map((s) => s.name));
}

async function replayOne({ core, params, principal }: Ctx) {
  const id = idParam(params['id'], 'gist');
  const row = core.gists.get(id);
  const own = ownSubscriptions(core, principal);
  if (!row || (own && !own.has(row.subscription))) throw amebo('AMEBO_ERR_NOT_FOUND', `no gist with id ${id}`);
  if (!core.registry.snapshot.subscriptions.has(row.subscription)) {
    throw amebo('AMEBO_ERR_CONFLICT', `subscription ${row.subscription} no longer exists; restore it before replaying its gists`);
  }
  const next = await core.gists.replay(id, core.clock.now());
  core.scheduler.enqueue([{ id, subscription: row.subscription, due: next!.next_at! }]);
  return data(presentGist(next!, core.gists.attempts(id)), 202);
}

export function gistRoutes(router: Router): void {
  router.on('GET', '/v1/gists', ({ core, url, principal }) => {
    const { page, per_page } = pageOf(url);
    const state = url.searchParams.get('state') || undefined;
    if (state !== undefined && !STATES.has(state)) throw amebo('AMEBO_ERR_VALIDATION', 'state must be pending, delivered, failed or dead', { field: 'state' });
    const event = url.searchParams.get('event');
    if (event !== null && !/^\d{1,15}$/.test(event)) throw amebo('AMEBO_ERR_VALIDATION', 'event must be an event id', { field: 'event' });
    const { items, total } = core.query.gists(
      {
        subscription: url.searchParams.get('subscription') || undefined,
        event: event === null ? undefined : Number(event),
        state: state as GistState | undefined,
        subscriptions: ownSubscriptions(core, principal),
      },
      { page, per_page },
    );
    return list(items.map((g) => presentGist(g, core.gists.attempts(g.id))), total, page, per_page);
  });

  router.on('GET', '/v1/gists/:id', ({ core, params, principal }) => {
    const id = idParam(params['id'], 'gist');
    const row = core.gists.get(id);
    const own = ownSubscriptions(core, principal);
    if (!row || (own && !own.has(row.subscription))) throw amebo('AMEBO_ERR_NOT_FOUND', `no gist with id ${id}`);
    return data(presentGist(row, core.gists.attempts(id)));
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
      subscriptions: ownSubscriptions(core, principal),
    };
    if (filter.subscription !== undefined && !core.registry.snapshot.subscriptions.has(filter.subscription)) {
      throw amebo('AMEBO_ERR_NOT_FOUND', `no subscription named ${filter.subscription}`);
    }
    if (filter.action !== undefined && !core.registry.snapshot.actions.has(filter.action)) {
      throw amebo('AMEBO_ERR_UNKNOWN_ACTION', `unknown action "${filter.action}"`);
    }
    if (b.dry_run === true) return data({ replay: null, count: await core.replayer.count(filter), dry_run: true });
    return data(await core.replayer.start(filter, principal.kind === 'app' ? principal.app : null), 202);
  });

  router.on('GET', '/v1/replays/:id', ({ core, params, principal }) => {
    const status = core.replayer.status(params['id']!, principal.kind === 'app' ? principal.app : null);
    if (!status) throw amebo('AMEBO_ERR_NOT_FOUND', `no replay ${params['id']}`);
    return data(status);
  });
}

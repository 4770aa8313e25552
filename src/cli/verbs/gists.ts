/**
 * `amebo gists`: lists gists (deliveries) filtered and paginated; `gists show ID` prints every attempt
 * of one; `gists replay ID` delivers one again now.
 */
import type { GistState } from '../../types.js';
import type { ClientOptions } from '../client-options.js';
import { gistDetail, gistsTable } from '../../format/resources.js';
import { printOne, printPage, withClient } from './shared.js';

/** Runs `amebo gists replay ID` (shared with `amebo replay --gist ID`). */
export { replayGist as replay } from './replay.js';

/** Options of `amebo gists`. */
export interface GistsOptions extends ClientOptions {
  subscription?: string | undefined;
  event?: number | undefined;
  state?: GistState | undefined;
  page?: number | undefined;
  perPage?: number | undefined;
}

/** Runs `amebo gists`. */
export default async function gists(opts: GistsOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const page = await client.listGists({
      subscription: opts.subscription,
      event: opts.event,
      state: opts.state,
      page: opts.page,
      per_page: opts.perPage,
    });
    return printPage(page, opts.json, gistsTable);
  });
}

/** Runs `amebo gists show ID`: the gist and every attempt. */
export async function show(gistId: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const gist = await client.getGist(gistId);
    return printOne(gist, opts.json, gistDetail);
  });
}

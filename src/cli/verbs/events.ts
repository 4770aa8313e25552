/**
 * `amebo events`: lists what the log holds, filtered and paginated; `amebo events show ID` prints one.
 */
import type { ClientOptions } from '../client-options.js';
import { eventDetail, eventsTable } from '../../format/resources.js';
import { printOne, printPage, withClient } from './shared.js';

/** Options of `amebo events`. */
export interface EventsOptions extends ClientOptions {
  action?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  page?: number | undefined;
  perPage?: number | undefined;
}

/** Runs `amebo events`. */
export default async function events(opts: EventsOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const page = await client.listEvents({
      action: opts.action,
      from: opts.from,
      to: opts.to,
      page: opts.page,
      per_page: opts.perPage,
    });
    return printPage(page, opts.json, eventsTable);
  });
}

/** Runs `amebo events show ID`. */
export async function show(eventId: number, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const event = await client.getEvent(eventId);
    return printOne(event, opts.json, eventDetail);
  });
}

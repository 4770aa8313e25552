/** /v1/events: publish (one or a batch) and read the log. */
import type { Router } from '../router.js';
import type { Reply } from '../http.js';
import { idParam, pageOf, timeParam } from '../params.js';
import { eventJson } from '../present.js';
import { amebo } from '../../errors.js';
import type { PublishItem, PublishOutcome } from '../../amebo.js';


function outcomeJson(o: PublishOutcome): string {
  if (o.ok) return `{"status":${o.duplicate ? 200 : 201},"data":${eventJson(o.event)}}`;
  return JSON.stringify({ status: o.error.status, error: o.error.message, error_code: o.error.code, details: o.error.details ?? {} });
}

export function eventRoutes(router: Router): void {
  router.on('POST', '/v1/events', async ({ core, body, principal }): Promise<Reply> => {
    // The body's shape is checked against the OpenAPI document before this runs (validate.ts).
    const [outcome] = await core.publish([body as PublishItem], principal, true);
    if (!outcome!.ok) throw outcome!.error;
    return { status: outcome!.duplicate ? 200 : 201, raw: `{"data":${eventJson(outcome!.event)}}` };
  }, { keepsPayload: true });

  router.on('POST', '/v1/events/batch', async ({ core, body, principal }): Promise<Reply> => {
    const { events } = body as { events: PublishItem[] };
    const outcomes = await core.publish(events, principal, true);
    const invalid = outcomes.filter((o) => !o.ok && o.error.code !== 'AMEBO_ERR_BATCH_ABORTED');
    const failed = invalid.find((o) => !o.ok && o.error.code !== 'AMEBO_ERR_VALIDATION') ?? invalid[0];
    if (failed && !failed.ok) {
      const status = failed.error.status;
      const results = `[${outcomes.map(outcomeJson).join(',')}]`;
      const rejected = invalid.length;
      return {
        status,
        raw: `{"error":${JSON.stringify(`batch rejected: ${rejected} of ${outcomes.length} events ${rejected === 1 ? 'is' : 'are'} invalid; nothing was stored`)},"code":${status},"error_code":"${failed.error.code}","details":{"results":${results}}}`,
      };
    }
    return { status: 201, raw: `{"data":[${outcomes.map(outcomeJson).join(',')}]}` };
  });

  router.on('GET', '/v1/events', async ({ core, url, principal }): Promise<Reply> => {
    const { page, per_page } = pageOf(url);
    const order = url.searchParams.get('order');
    if (order !== null && order !== 'asc' && order !== 'desc') throw amebo('AMEBO_ERR_VALIDATION', 'order must be asc or desc', { field: 'order' });
    const { items, total, exact } = await core.listEvents(
      principal,
      {
        action: url.searchParams.get('action') || undefined,
        from: timeParam(url.searchParams.get('from'), 'from'),
        to: timeParam(url.searchParams.get('to'), 'to'),
        order: order === 'desc' ? 'desc' : 'asc',
      },
      { page, per_page },
    );
    return { status: 200, raw: `{"data":[${items.map(eventJson).join(',')}],"meta":{"total":${total},"page":${page},"per_page":${per_page}${exact === false ? ',"exact":false' : ''}}}` };
  });

  router.on('GET', '/v1/events/:id', async ({ core, params, principal }): Promise<Reply> => {
    const id = idParam(params['id'], 'event');
    const event = await core.getEvent(principal, id);
    if (!event) throw amebo('AMEBO_ERR_NOT_FOUND', `no event with id ${id}`);
    return { status: 200, raw: `{"data":${eventJson(event)}}` };
  });
}

/** Deleting one event from the JetStream log: by retention (retention.ts), and a second copy (copies.ts). */
import { call, type NatsContext } from './connection.js';
import { API, apiCode } from './failures.js';

/**
 * Deletes an event's message and purges its gists' records. False when the message was gone already
 * (deleted by another instance); its records are purged either way.
 */
export async function deleteEvent(ctx: NatsContext, id: number, why: string): Promise<boolean> {
  const { jsm, names } = ctx;
  const gone = await call(ctx, `${why} an event`, () =>
    jsm.streams.deleteMessage(names.events, id, false).catch((err: unknown) => {
      if (apiCode(err) === API.noMessage || /no message found/i.test(String((err as Error)?.message))) return false;
      throw err;
    }),
  );
  await call(ctx, `${why} its gists`, () => jsm.streams.purge(names.gists, { filter: names.gistsOfEvent(id) }));
  await call(ctx, `${why} its gists`, () => jsm.streams.purge(names.gists, { filter: names.extraSubject(id) }));
  return gone !== false;
}

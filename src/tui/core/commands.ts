/**
 * The requests the TUI makes on a key press: fetch a gist's attempts, replay a gist. Plain async
 * functions that report through `dispatch`, so the hooks stay thin.
 */
import { isAmeboError } from '../../errors.js';
import type { WireGist, WireGistId } from '../../client/types.js';
import type { TailAction } from './tail-state.js';

/** The part of the client the TUI calls. */
export interface TailClient {
  getGist(gistId: WireGistId, signal?: AbortSignal): Promise<WireGist>;
  replayGist(gistId: WireGistId): Promise<WireGist>;
}

const messageOf = (err: unknown): string =>
  isAmeboError(err) || err instanceof Error ? (err as Error).message : String(err);

/** Opens the attempts view of a gist and loads it (`GET /v1/gists/:id`). */
export async function openDetail(client: TailClient, gistId: WireGistId, dispatch: (a: TailAction) => void): Promise<void> {
  dispatch({ type: 'detail-open', gistId });
  try {
    dispatch({ type: 'detail-loaded', gist: await client.getGist(gistId) });
  } catch (err) {
    dispatch({ type: 'detail-failed', gistId, message: messageOf(err) });
  }
}

/**
 * Replays a gist (`POST /v1/gists/:id/replay`) and says so in the footer. When its attempts are on
 * screen, they are reloaded so the new state shows.
 */
export async function replay(
  client: TailClient,
  gistId: WireGistId,
  dispatch: (a: TailAction) => void,
  detailOpen: boolean,
): Promise<void> {
  dispatch({ type: 'notice', notice: { text: `replaying gist ${gistId}…`, tone: 'info' } });
  try {
    const gist = await client.replayGist(gistId);
    dispatch({ type: 'notice', notice: { text: `gist ${gist.id} queued for redelivery`, tone: 'info' } });
    if (detailOpen) dispatch({ type: 'detail-loaded', gist });
  } catch (err) {
    dispatch({ type: 'notice', notice: { text: `replay of gist ${gistId} failed: ${messageOf(err)}`, tone: 'error' } });
  }
}

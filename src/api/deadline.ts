/**
 * The request deadline (`server.request_timeout`): a request whose body has not fully arrived within
 * it gets a 408 and its connection is closed.
 *
 * node:http's own `requestTimeout` cannot be used: it bounds the whole request, so it would cut
 * every `POST /v1/events/stream` (one long request by design) after 30 s. It is turned off, and the
 * deadline is kept here for every other route. Only requests still incomplete once the bytes at hand
 * are parsed get a timer: a body that came with its headers (nearly every request) costs one
 * microtask and no timer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { amebo } from '../errors.js';
import { errorReply, send } from './http.js';

/** Arms the deadline for a request that is not complete once the bytes already received are parsed. */
export function armDeadline(req: IncomingMessage, res: ServerResponse, timeoutMs: number): void {
  if (timeoutMs <= 0 || req.complete) return;
  // Runs after the parser has gone through the rest of the buffer the headers came in.
  queueMicrotask(() => {
    if (req.complete || req.destroyed) return;
    const timer = setTimeout(() => expire(req, res), timeoutMs);
    timer.unref();
    const clear = (): void => clearTimeout(timer);
    req.once('end', clear);
    req.once('close', clear);
  });
}

function expire(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || req.destroyed) return;
  const socket = req.socket;
  if (res.headersSent) {
    socket.destroy();
    return;
  }
  const reply = errorReply(amebo('AMEBO_ERR_TIMEOUT', 'request timed out'));
  reply.headers = { ...reply.headers, connection: 'close' };
  send(res, reply);
  // The rest of the body will never be read: close once the answer is out.
  res.once('finish', () => socket.destroy());
}

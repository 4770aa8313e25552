/** Request context, replies and the JSON envelope shared by every route. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Core } from '../amebo.js';
import type { Principal } from './auth.js';
import { toAmeboError } from '../errors.js';

export interface Ctx {
  readonly core: Core;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  /** Parsed JSON body (undefined for none). */
  readonly body: unknown;
  readonly principal: Principal;
}

/** A JSON reply. `raw` is pre-serialised JSON text (used on the publish path to avoid re-encoding). */
export type Reply = { status: number; body?: unknown; raw?: string; headers?: Record<string, string> } | 'handled';

export type Handler = (ctx: Ctx) => Promise<Reply> | Reply;

export function data(body: unknown, status = 200): Reply {
  return { status, body: { data: body } };
}

export function list(items: unknown[], total: number, page: number, perPage: number, exact = true): Reply {
  return { status: 200, body: { data: items, meta: { total, page, per_page: perPage, ...(exact ? {} : { exact: false }) } } };
}

/** Writes a reply. Never throws (the socket may already be gone). */
export function send(res: ServerResponse, reply: Exclude<Reply, 'handled'>): void {
  if (res.headersSent || res.destroyed) return;
  const text = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...reply.headers,
  });
  res.end(text);
}

/** The error envelope: `{error, code, details, error_code}`. Internal errors never leak their cause. */
export function errorReply(err: unknown): Exclude<Reply, 'handled'> {
  const e = toAmeboError(err);
  const headers: Record<string, string> = {};
  if (e.status === 503) headers['retry-after'] = '5';
  return {
    status: e.status,
    body: { error: e.message, code: e.status, details: e.details ?? {}, error_code: e.code },
    headers,
  };
}

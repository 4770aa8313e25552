/**
 * Who is calling. The admin token allows everything; an application's secret (Bearer, or the body
 * field `secret` as Amebo's clients send it) allows that application's own objects; with no admin
 * token configured, loopback clients are trusted (the daemon then refuses to listen elsewhere).
 * Secrets are compared as SHA-256 digests with timingSafeEqual or looked up by digest.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { amebo } from '../errors.js';
import type { Snapshot } from '../config/registry.js';
import type { Application, Caller } from '../types.js';

/** The caller as the API resolved it (the core's `Caller`). */
export type Principal = Caller;

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) throw amebo('AMEBO_ERR_UNAUTHORIZED', 'Authorization must be "Bearer <token>"');
  return m[1]!.trim();
}

/**
 * Resolves the caller. Credentials that are presented must be valid, even where none are required,
 * so a client learns about a wrong secret at once.
 */
export function authenticate(req: IncomingMessage, snapshot: Snapshot, bodySecret: string | undefined, now = Date.now()): Principal {
  const token = bearer(req) ?? bodySecret;
  const admin = snapshot.config.auth.admin_token;
  if (token !== undefined) {
    const d = digest(token);
    if (admin !== null && timingSafeEqual(d, digest(admin))) return { kind: 'admin' };
    const app = snapshot.secretIndex.get(d.toString('hex'));
    if (app !== undefined && !isExpiredPrevious(snapshot.applications.get(app), d, now)) return { kind: 'app', app };
    throw amebo('AMEBO_ERR_UNAUTHORIZED', 'the token is not the admin token or any application secret');
  }
  if (admin === null && isLoopback(req.socket.remoteAddress)) return { kind: 'open' };
  throw amebo('AMEBO_ERR_UNAUTHORIZED', 'send the admin token or an application secret as "Authorization: Bearer <token>"');
}

/** True when `d` is the digest of `app`'s previous secret and its rotation has ended. */
function isExpiredPrevious(app: Application | undefined, d: Buffer, now: number): boolean {
  if (!app?.previous_secret || !app.previous_secret_expires_at || Date.parse(app.previous_secret_expires_at) > now) return false;
  return timingSafeEqual(d, digest(app.previous_secret)) && !timingSafeEqual(d, digest(app.secret));
}

/** Throws 403 unless the caller is admin/open or is the application `owner`. */
export function requireApp(principal: Principal, owner: string, what: string): void {
  if (principal.kind === 'app' && principal.app !== owner) {
    throw amebo('AMEBO_ERR_FORBIDDEN', `application ${principal.app} may not ${what} (it belongs to ${owner})`);
  }
}

/** Throws 403 unless the caller is admin/open. */
export function requireAdmin(principal: Principal, what: string): void {
  if (principal.kind === 'app') throw amebo('AMEBO_ERR_FORBIDDEN', `only the admin token may ${what}`);
}

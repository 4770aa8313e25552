/** A small router: `/v1/gists/:id/replay` patterns, 404 for unknown paths, 405 for unknown methods. */
import { amebo } from '../errors.js';
import type { Handler } from './http.js';

interface Route {
  readonly method: string;
  /** As registered, e.g. `/v1/gists/:id/replay`: the key of its body schema. */
  readonly pattern: string;
  readonly parts: readonly string[];
  readonly handler: Handler;
  /** Skip reading a body (GET, streams). */
  readonly options: RouteOptions;
}

export interface RouteOptions {
  /** The route needs no credentials (health, metrics). */
  readonly public?: boolean;
  /**
   * The body's `secret` field is data, not a credential (registering or changing an application's
   * secret). Elsewhere Amebo's clients send their secret in the body to authenticate.
   */
  readonly secretIsData?: boolean;
  /**
   * The handler reads the request body itself, as it arrives, and checks its own credentials (an
   * NDJSON stream: each line may carry its own). No request deadline applies; the handler bounds it.
   */
  readonly rawBody?: boolean;
  /** The body is one event (`{action, payload, ...}`): its payload's text is kept as received. */
  readonly keepsPayload?: boolean;
}

export class Router {
  readonly #routes: Route[] = [];

  on(method: string, pattern: string, handler: Handler, options: RouteOptions = {}): this {
    this.#routes.push({ method, pattern, parts: pattern.split('/').filter(Boolean), handler, options });
    return this;
  }

  /** Every registered route, for the test that holds them against the OpenAPI document. */
  routes(): ReadonlyArray<{ readonly method: string; readonly pattern: string }> {
    return this.#routes.map(({ method, pattern }) => ({ method, pattern }));
  }

  /** Finds the route for a request, or throws 404 / 405 with the allowed methods. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string>; options: RouteOptions; pattern: string } {
    const parts = path.split('/').filter(Boolean);
    const allowed: string[] = [];
    for (const route of this.#routes) {
      const params = matchParts(route.parts, parts);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { handler: route.handler, params, options: route.options, pattern: route.pattern };
      allowed.push(route.method);
    }
    if (allowed.length > 0) throw amebo('AMEBO_ERR_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${allowed.join(', ')}`, { allowed });
    throw amebo('AMEBO_ERR_NOT_FOUND', `no route for ${method} ${path}`);
  }
}

function matchParts(pattern: readonly string[], parts: readonly string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) {
      let value: string;
      try {
        value = decodeURIComponent(parts[i]!);
      } catch {
        return null;
      }
      params[p.slice(1)] = value;
    } else if (p !== parts[i]) return null;
  }
  return params;
}

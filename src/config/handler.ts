/** Resolves a subscription's handler against its application's address. Pure. */

export type HandlerResult = { ok: true; url: string } | { ok: false; error: string };

/** A full http(s) URL is used as is; `/path` is joined to `address` (keeping the address's own path). */
export function resolveHandler(handler: string, address: string | undefined): HandlerResult {
  if (handler.startsWith('/')) {
    if (!address) return { ok: false, error: `"${handler}" is a path, but the application has no address to join it to` };
    let base: URL;
    try {
      base = new URL(address);
    } catch {
      return { ok: false, error: `the application's address "${address}" is not a URL` };
    }
    const joined = `${base.origin}${base.pathname.replace(/\/+$/, '')}${handler}`;
    return check(joined, handler);
  }
  return check(handler, handler);
}

function check(text: string, original: string): HandlerResult {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, error: `"${original}" is not a URL or a /path` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, error: `"${original}" must use http or https` };
  if (url.username || url.password) return { ok: false, error: `"${original}" must not carry credentials` };
  return { ok: true, url: url.toString() };
}

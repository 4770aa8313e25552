/**
 * Verifying a webhook from amebo in a receiver: both signature schemes amebo sends, and the
 * timestamp tolerance of Standard Webhooks, so a captured delivery cannot be replayed later. The same
 * checks as the Python client's `verify_webhook`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { amebo } from '../errors.js';
import type { WebhookBody } from './types.js';

/** Headers as node:http, fetch or a framework gives them. Names are matched case-insensitively. */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Options of `verifyWebhook`. */
export interface VerifyOptions {
  /** How far `webhook-timestamp` may be from now, in seconds (default 300, as standardwebhooks). */
  readonly toleranceS?: number | undefined;
  /** The current time in unix ms (default `Date.now()`), for tests. */
  readonly now?: number | undefined;
}

/** The default timestamp tolerance: five minutes either way, as the Standard Webhooks libraries use. */
export const WEBHOOK_TOLERANCE_S = 300;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (k.toLowerCase() !== name) continue;
    return Array.isArray(v) ? v.join(' ') : (v as string | undefined);
  }
  return undefined;
}

/** The signing key: the base64 after a `whsec_` prefix, or the secret's UTF-8 bytes (as amebo signs). */
function keyOf(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** True when one of the space-separated `prefix` signatures is `expected` (compared in constant time). */
function anyMatches(list: string, prefix: string, expected: Buffer): boolean {
  let found = false;
  for (const part of list.split(' ')) {
    if (!part.startsWith(prefix)) continue;
    const given = Buffer.from(part.slice(prefix.length), 'utf8');
    // Every candidate is compared, so the time taken does not say which one matched.
    if (given.length === expected.length && timingSafeEqual(given, expected)) found = true;
  }
  return found;
}

const fail = (reason: string) => amebo('AMEBO_ERR_WEBHOOK_VERIFICATION', `webhook verification failed: ${reason}`);

/**
 * Checks a webhook amebo sent: `X-Amebo-Signature` (hex HMAC-SHA256 of the raw body), the Standard
 * Webhooks `webhook-signature` (base64 HMAC-SHA256 of `id.timestamp.body`) and that
 * `webhook-timestamp` is within the tolerance. During a secret rotation amebo sends a signature per
 * secret, and either verifies. Returns the parsed body; throws `AMEBO_ERR_WEBHOOK_VERIFICATION`.
 *
 * @param body - the raw request body, exactly as received (not re-serialised JSON)
 * @param headers - the request headers
 * @param secret - the subscribing application's secret
 */
export function verifyWebhook(body: string | Uint8Array, headers: WebhookHeaders, secret: string, options: VerifyOptions = {}): WebhookBody {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  const amebosig = header(headers, 'x-amebo-signature');
  if (!id || !timestamp || !signatures) throw fail('the webhook-id, webhook-timestamp and webhook-signature headers are required');
  if (!amebosig) throw fail('the X-Amebo-Signature header is required');
  if (!/^\d{1,12}$/.test(timestamp)) throw fail('webhook-timestamp is not a unix time in seconds');
  const tolerance = options.toleranceS ?? WEBHOOK_TOLERANCE_S;
  const nowS = Math.floor((options.now ?? Date.now()) / 1000);
  if (nowS - Number(timestamp) > tolerance) throw fail('the timestamp is too old');
  if (Number(timestamp) - nowS > tolerance) throw fail('the timestamp is in the future');
  const key = keyOf(secret);
  const hex = Buffer.from(createHmac('sha256', key).update(raw).digest('hex'), 'utf8');
  if (!anyMatches(amebosig, 'sha256=', hex)) throw fail('X-Amebo-Signature does not match');
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), raw]);
  const b64 = Buffer.from(createHmac('sha256', key).update(signed).digest('base64'), 'utf8');
  if (!anyMatches(signatures, 'v1,', b64)) throw fail('webhook-signature does not match');
  try {
    return JSON.parse(raw.toString('utf8')) as WebhookBody;
  } catch {
    throw fail('the body is not JSON');
  }
}

/**
 * Webhook signatures: amebo's `X-Amebo-Signature` (hex HMAC-SHA256 of the raw body) and the Standard
 * Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/**
 * The signing key: the base64 that follows a `whsec_` prefix (the Standard Webhooks convention), or
 * else the secret's UTF-8 bytes. Returned as a KeyObject, which callers cache: createHmac with a raw
 * Buffer builds a key object on every call, about five times the cost of the HMAC itself.
 */
export function signingKey(secret: string): KeyObject {
  if (secret.startsWith('whsec_')) return createSecretKey(Buffer.from(secret.slice('whsec_'.length), 'base64'));
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

export interface SignInput {
  /** Keys to sign with: the current secret first, then a previous one during rotation. */
  readonly keys: readonly KeyObject[];
  readonly webhookId: string;
  readonly timestampSec: number;
  readonly body: string;
}

/** The signature headers for one delivery. With two keys, both signatures are sent, space-separated. */
export function signatureHeaders(input: SignInput): Record<string, string> {
  const { keys, webhookId, timestampSec, body } = input;
  const toSign = `${webhookId}.${timestampSec}.${body}`;
  return {
    'x-amebo-signature': keys.map((k) => `sha256=${createHmac('sha256', k).update(body).digest('hex')}`).join(' '),
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': keys.map((k) => `v1,${createHmac('sha256', k).update(toSign).digest('base64')}`).join(' '),
  };
}

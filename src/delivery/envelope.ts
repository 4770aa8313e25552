/**
 * The webhook envelope: the JSON body every handler receives and the headers it is signed with. The
 * payload is spliced in as the stored JSON text, never parsed and encoded again. Signing keys are
 * cached: building a key object per delivery cost five times the HMAC itself.
 */
import type { KeyObject } from 'node:crypto';
import type { Application, StoredEvent } from '../types.js';
import { VERSION } from '../version.js';
import { signatureHeaders, signingKey } from './sign.js';

export interface EnvelopeInput {
  readonly event: StoredEvent;
  /** The gist's id as the delivery headers show it. */
  readonly gistId: number | string;
  readonly attempt: number;
  readonly subscription: string;
  /** The subscribing application: its secret (and a previous one during a rotation) signs the body. */
  readonly application: Application;
  /** Prefix of `webhook-id`, unique to the log. */
  readonly instanceId: string;
  readonly now: number;
  /** The subscription's own headers (none of amebo's names: the config refuses those). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

export interface Envelope {
  readonly body: string;
  readonly headers: Record<string, string>;
}

export class EnvelopeBuilder {
  readonly #keys = new Map<string, KeyObject>();

  build(input: EnvelopeInput): Envelope {
    const { event, gistId, attempt, subscription, application: app, now } = input;
    const body =
      `{"event_id":${event.id},"action":${JSON.stringify(event.action)},"payload":${event.payload_json},` +
      `"timestamp":"${event.timestamp}","delivery_attempt":${attempt},"subscription":${JSON.stringify(subscription)}}`;
    const keys = [this.#key(app.secret)];
    if (app.previous_secret && (!app.previous_secret_expires_at || Date.parse(app.previous_secret_expires_at) > now)) {
      keys.push(this.#key(app.previous_secret));
    }
    const headers = {
      ...input.headers,
      'content-type': 'application/json',
      'user-agent': `amebo/${VERSION}`,
      'x-amebo-event': event.action,
      'x-amebo-delivery': `${gistId}_${attempt}`,
      ...signatureHeaders({ keys, webhookId: `msg_${input.instanceId}_${gistId}`, timestampSec: Math.floor(now / 1000), body }),
    };
    return { body, headers };
  }

  #key(secret: string): KeyObject {
    let key = this.#keys.get(secret);
    if (!key) {
      // Rotations and placeholder applications add keys; a bound keeps a long-lived daemon's cache small.
      if (this.#keys.size > 10_000) this.#keys.clear();
      key = signingKey(secret);
      this.#keys.set(secret, key);
    }
    return key;
  }
}

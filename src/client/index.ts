/**
 * `amebo/client`: the TypeScript client of amebo's HTTP API, for services that publish events and
 * receive webhooks. The same client the amebo CLI uses, and the same methods as the Python client
 * (`clients/python`), in camelCase.
 *
 * ```ts
 * import { AmeboClient, verifyWebhook } from 'amebo/client';
 * const amebo = new AmeboClient();            // AMEBO_URL, AMEBO_APPLICATION, AMEBO_SECRET, AMEBO_TOKEN
 * await amebo.publishEvent('user.created', { user_id: 'u1', email: 'ada@example.com', name: 'Ada' });
 * ```
 */
export { AmeboClient, DEFAULT_URL, type AmeboClientOptions, type TimeInput } from './api.js';
export { Publisher, type PublisherOptions } from './publisher.js';
export { verifyWebhook, WEBHOOK_TOLERANCE_S, type VerifyOptions, type WebhookHeaders } from './webhooks.js';
export { openStream, type StreamHandle, type StreamMessage, type StreamOptions, type StreamStatus } from './stream.js';
export { AmeboError, isAmeboError, type ErrorCode } from '../errors.js';
export type * from './types.js';

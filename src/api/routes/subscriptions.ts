/** /v1/subscriptions */
import type { Router } from '../router.js';
import { data, list } from '../http.js';
import { pageOf } from '../params.js';
import { requireApp } from '../auth.js';
import { presentSubscription } from '../present.js';
import { amebo } from '../../errors.js';
import { parseDuration } from '../../config/units.js';
import type { RetryPolicy } from '../../types.js';
import type { SubscriptionInput, SubscriptionPolicyInput, SubscriptionUpdate } from '../../client/types.js';

/**
 * The policy keys a subscription body sets. Their types and ranges are checked by the body schema;
 * a duration's grammar is the config's (units.ts), so it is parsed here.
 */
function policyFields(b: SubscriptionPolicyInput): Partial<RetryPolicy> {
  const out: { -readonly [K in keyof RetryPolicy]?: RetryPolicy[K] } = {};
  if (b.max_retries != null) out.max_retries = b.max_retries;
  if (b.concurrency != null) out.concurrency = b.concurrency;
  if (b.retry_4xx != null) out.retry_4xx = b.retry_4xx;
  if (b.timeout != null) {
    const ms = parseDuration(b.timeout);
    if (ms === undefined || ms <= 0) throw amebo('AMEBO_ERR_VALIDATION', '"timeout" must be a duration such as 500ms, 30s or 5m', { field: 'timeout', pointer: '/timeout' });
    out.timeout_ms = ms;
  }
  return out;
}

export function subscriptionRoutes(router: Router): void {
  router.on('POST', '/v1/subscriptions', async ({ core, body, principal }) => {
    // The body's shape is checked against the OpenAPI document before this runs (validate.ts).
    const b = body as SubscriptionInput;
    const { application, action, handler } = b;
    requireApp(principal, application, `subscribe on behalf of ${application}`);
    const name = b.subscription ?? `${application}.${action}`;
    const defaults = core.registry.snapshot.config.delivery;
    const { max_inflight: _, ...policy } = defaults;
    const { subscription, implicitApplication } = await core.registry.createSubscription({
      name,
      application,
      action,
      handler,
      ...policy,
      ...policyFields(b),
    });
    const resolved = core.registry.snapshot.subscriptions.get(subscription.name) ?? subscription;
    const reply = data(presentSubscription(resolved), 201);
    if (implicitApplication && reply !== 'handled' && typeof reply.body === 'object') {
      (reply.body as Record<string, unknown>)['warnings'] = [
        `application ${application} was not registered, so a placeholder was created with a random secret; ` +
          `register it (POST /v1/applications) to set its address and the secret its webhooks are signed with`,
      ];
    }
    return reply;
  });

  router.on('GET', '/v1/subscriptions', ({ core, url, principal }) => {
    const { page, per_page } = pageOf(url);
    const action = url.searchParams.get('action');
    const application = url.searchParams.get('application');
    const all = [...core.registry.snapshot.subscriptions.values()].filter(
      (s) =>
        (principal.kind !== 'app' || s.application === principal.app) &&
        (action === null || s.action === action) &&
        (application === null || s.application === application),
    );
    return list(all.slice((page - 1) * per_page, page * per_page).map(presentSubscription), all.length, page, per_page);
  });

  router.on('GET', '/v1/subscriptions/:id', ({ core, params, principal }) => {
    const sub = core.registry.snapshot.subscriptions.get(params['id']!);
    if (!sub) throw amebo('AMEBO_ERR_NOT_FOUND', `no subscription named ${params['id']}`);
    requireApp(principal, sub.application, `read subscription ${sub.name}`);
    return data(presentSubscription(sub));
  });

  router.on('PUT', '/v1/subscriptions/:id', async ({ core, params, body, principal }) => {
    const name = params['id']!;
    const current = core.registry.snapshot.subscriptions.get(name);
    if (!current) throw amebo('AMEBO_ERR_NOT_FOUND', `no subscription named ${name}`);
    requireApp(principal, current.application, `change subscription ${name}`);
    const b = body as SubscriptionUpdate;
    const patch: Record<string, unknown> = { ...policyFields(b) };
    if (b.handler != null) patch['handler'] = b.handler;
    if (b.action != null) patch['action'] = b.action;
    await core.registry.updateSubscription(name, patch);
    return data(presentSubscription(core.registry.snapshot.subscriptions.get(name)!));
  });

  router.on('DELETE', '/v1/subscriptions/:id', async ({ core, params, principal }) => {
    const name = params['id']!;
    const current = core.registry.snapshot.subscriptions.get(name);
    if (!current) throw amebo('AMEBO_ERR_NOT_FOUND', `no subscription named ${name}`);
    requireApp(principal, current.application, `delete subscription ${name}`);
    await core.registry.deleteSubscription(name);
    return { status: 204 };
  });
}

/** /v1/subscriptions */
import type { Router } from '../router.js';
import { data, list } from '../http.js';
import { nameField, objectBody, pageOf, stringField } from '../params.js';
import { requireApp } from '../auth.js';
import { presentSubscription } from '../present.js';
import { amebo } from '../../errors.js';
import { parseDuration } from '../../config/units.js';
import type { RetryPolicy } from '../../types.js';

/** Optional policy fields of a subscription body, validated. */
function policyFields(b: Record<string, unknown>): Partial<RetryPolicy> {
  const out: Partial<Record<keyof RetryPolicy, number | boolean>> = {};
  const int = (field: string, key: keyof RetryPolicy, min: number, max: number) => {
    const v = b[field];
    if (v === undefined || v === null) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw amebo('AMEBO_ERR_VALIDATION', `"${field}" must be a whole number from ${min} to ${max}`, { field });
    }
    out[key] = v;
  };
  const duration = (field: string, key: keyof RetryPolicy) => {
    const v = b[field];
    if (v === undefined || v === null) return;
    const ms = typeof v === 'string' || typeof v === 'number' ? parseDuration(v) : undefined;
    if (ms === undefined || ms <= 0) throw amebo('AMEBO_ERR_VALIDATION', `"${field}" must be a duration such as 500ms, 30s or 5m`, { field });
    out[key] = ms;
  };
  int('max_retries', 'max_retries', 0, 1000);
  int('concurrency', 'concurrency', 1, 1024);
  duration('timeout', 'timeout_ms');
  if (b['retry_4xx'] !== undefined) {
    if (typeof b['retry_4xx'] !== 'boolean') throw amebo('AMEBO_ERR_VALIDATION', '"retry_4xx" must be true or false', { field: 'retry_4xx' });
    out.retry_4xx = b['retry_4xx'];
  }
  return out as Partial<RetryPolicy>;
}

export function subscriptionRoutes(router: Router): void {
  router.on('POST', '/v1/subscriptions', async ({ core, body, principal }) => {
    const b = objectBody(body, '{"application", "action", "handler", "subscription"?, "max_retries"?}');
    const application = nameField(b, 'application')!;
    const action = nameField(b, 'action')!;
    requireApp(principal, application, `subscribe on behalf of ${application}`);
    const handler = stringField(b, 'handler', { max: 2048 })!;
    const name = nameField(b, 'subscription', false) ?? `${application}.${action}`;
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
    const b = objectBody(body, '{"handler"?, "action"?, "max_retries"?, "timeout"?, "concurrency"?, "retry_4xx"?}');
    const patch: Record<string, unknown> = { ...policyFields(b) };
    const handler = stringField(b, 'handler', { required: false, max: 2048 });
    if (handler !== undefined) patch['handler'] = handler;
    const action = nameField(b, 'action', false);
    if (action !== undefined) patch['action'] = action;
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

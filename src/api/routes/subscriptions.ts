/** /v1/subscriptions */
import type { Router } from '../router.js';
import { data, list } from '../http.js';
import { pageOf } from '../params.js';
import { requireApp } from '../auth.js';
import { presentSubscription } from '../present.js';
import { amebo } from '../../errors.js';
import { parseDuration } from '../../config/units.js';
import type { RetryPolicy, SubscriptionControl } from '../../types.js';
import type { SubscriptionControlInput, SubscriptionInput, SubscriptionPolicyInput, SubscriptionUpdate } from '../../client/types.js';
import { controlOf } from '../../routing/keys.js';
import type { Core } from '../../amebo.js';

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

const CONTROL_KEYS = ['filter', 'headers', 'paused', 'circuit', 'ordering', 'rate_limit'] as const;

/**
 * The control keys a body sets, checked (their grammar is the config's: routing/keys.ts). On a PUT,
 * `null` clears a key (the circuit goes back to the configured default).
 */
function controlFields(core: Core, b: SubscriptionControlInput, base: Partial<SubscriptionControl>): Partial<SubscriptionControl> {
  const errors: string[] = [];
  const raw: Record<string, unknown> = {};
  for (const key of CONTROL_KEYS) if (b[key] !== undefined && b[key] !== null) raw[key] = b[key];
  const circuitDefault = core.registry.snapshot.config.delivery.circuit;
  const control = controlOf(raw, 'subscription', { circuit: b.circuit === null ? circuitDefault : (base.circuit ?? circuitDefault) }, errors);
  if (errors.length > 0) {
    const [first] = errors;
    const field = first!.replace(/^subscription\./, '').split(/[.:]/)[0]!;
    throw amebo('AMEBO_ERR_VALIDATION', errors.map((e) => e.replace(/^subscription\./, '')).join('; '), { field, errors });
  }
  const out: Record<string, unknown> = { circuit: control.circuit };
  for (const key of CONTROL_KEYS) {
    if (key === 'circuit') continue;
    if (b[key] === null) out[key] = undefined;
    else if (b[key] !== undefined) out[key] = (control as unknown as Record<string, unknown>)[key];
  }
  return out as Partial<SubscriptionControl>;
}

export function subscriptionRoutes(router: Router): void {
  router.on('POST', '/v1/subscriptions', async ({ core, body, principal }) => {
    // The body's shape is checked against the OpenAPI document before this runs (validate.ts).
    const b = body as SubscriptionInput;
    const { application, action, handler } = b;
    requireApp(principal, application, `subscribe on behalf of ${application}`);
    if (b.subscription == null && (typeof action !== 'string' || /[*>]/.test(action))) {
      throw amebo('AMEBO_ERR_VALIDATION', '"subscription" is required when "action" is a list or a pattern: name the subscription', { field: 'subscription', pointer: '/subscription' });
    }
    const name = b.subscription ?? `${application}.${action as string}`;
    const defaults = core.registry.snapshot.config.delivery;
    const { max_inflight: _, ...policy } = defaults;
    const { subscription, implicitApplication } = await core.registry.createSubscription({
      name,
      application,
      action,
      handler,
      ...policy,
      ...policyFields(b),
      ...controlFields(core, b, {}),
    });
    const resolved = core.registry.snapshot.subscriptions.get(subscription.name) ?? subscription;
    const reply = data(presentSubscription(resolved, core.subscriptionStatus(resolved.name)), 201);
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
        (action === null || s.takes(action) || (typeof s.action !== 'string' && s.action.includes(action)) || s.action === action) &&
        (application === null || s.application === application),
    );
    return list(
      all.slice((page - 1) * per_page, page * per_page).map((s) => presentSubscription(s, core.subscriptionStatus(s.name))),
      all.length,
      page,
      per_page,
    );
  });

  router.on('GET', '/v1/subscriptions/:id', ({ core, params, principal }) => {
    const sub = core.registry.snapshot.subscriptions.get(params['id']!);
    if (!sub) throw amebo('AMEBO_ERR_NOT_FOUND', `no subscription named ${params['id']}`);
    requireApp(principal, sub.application, `read subscription ${sub.name}`);
    return data(presentSubscription(sub, core.subscriptionStatus(sub.name)));
  });

  router.on('PUT', '/v1/subscriptions/:id', async ({ core, params, body, principal }) => {
    const name = params['id']!;
    const current = core.registry.snapshot.subscriptions.get(name);
    if (!current) throw amebo('AMEBO_ERR_NOT_FOUND', `no subscription named ${name}`);
    requireApp(principal, current.application, `change subscription ${name}`);
    const b = body as SubscriptionUpdate;
    const patch: Record<string, unknown> = { ...policyFields(b), ...controlFields(core, b, current) };
    if (b.circuit === undefined) delete patch['circuit'];
    if (b.handler != null) patch['handler'] = b.handler;
    if (b.action != null) patch['action'] = b.action;
    await core.registry.updateSubscription(name, patch);
    return data(presentSubscription(core.registry.snapshot.subscriptions.get(name)!, core.subscriptionStatus(name)));
  });

  // Pause and resume are delivery state, kept by the engine: they work for subscriptions of the file too.
  router.on('POST', '/v1/subscriptions/:id/pause', async ({ core, params, principal }) => {
    const name = params['id']!;
    const status = await core.pauseSubscription(principal, name);
    return data(presentSubscription(core.registry.snapshot.subscriptions.get(name)!, status));
  });

  router.on('POST', '/v1/subscriptions/:id/resume', async ({ core, params, principal }) => {
    const name = params['id']!;
    const status = await core.resumeSubscription(principal, name);
    return data(presentSubscription(core.registry.snapshot.subscriptions.get(name)!, status));
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

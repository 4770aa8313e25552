/** /v1/applications */
import type { Router } from '../router.js';
import { data, list } from '../http.js';
import { pageOf } from '../params.js';
import { requireAdmin, requireApp } from '../auth.js';
import { presentApplication } from '../present.js';
import { amebo } from '../../errors.js';
import type { ApplicationInput, ApplicationUpdate } from '../../client/types.js';

function httpUrl(value: string, field: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw amebo('AMEBO_ERR_VALIDATION', `"${field}" must be an http(s) URL`, { field });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw amebo('AMEBO_ERR_VALIDATION', `"${field}" must be an http(s) URL`, { field });
  return value;
}

export function applicationRoutes(router: Router): void {
  router.on('POST', '/v1/applications', async ({ core, body, principal }) => {
    requireAdmin(principal, 'register applications');
    // The body's shape is checked against the OpenAPI document before this runs (validate.ts).
    const b = body as ApplicationInput;
    const address = httpUrl(b.address, 'address');
    const app = await core.registry.createApplication({ name: b.application, address, secret: b.secret });
    return data(presentApplication(app), 201);
  }, { secretIsData: true });

  router.on('GET', '/v1/applications', ({ core, url, principal }) => {
    const { page, per_page } = pageOf(url);
    const all = [...core.registry.snapshot.applications.values()].filter((a) => principal.kind !== 'app' || a.name === principal.app);
    const items = all.slice((page - 1) * per_page, page * per_page).map(presentApplication);
    return list(items, all.length, page, per_page);
  });

  router.on('GET', '/v1/applications/:name', ({ core, params, principal }) => {
    const app = core.registry.snapshot.applications.get(params['name']!);
    if (!app) throw amebo('AMEBO_ERR_NOT_FOUND', `no application named ${params['name']}`);
    requireApp(principal, app.name, `read application ${app.name}`);
    return data(presentApplication(app));
  });

  router.on('PUT', '/v1/applications/:name', async ({ core, params, body, principal }) => {
    const name = params['name']!;
    requireApp(principal, name, `change application ${name}`);
    const b = body as ApplicationUpdate;
    const patch: Record<string, string> = {};
    if (b.address != null) patch['address'] = httpUrl(b.address, 'address');
    const secret = b.new_secret ?? (principal.kind === 'app' ? undefined : b.secret);
    if (secret != null) patch['secret'] = secret;
    if (b.previous_secret != null) patch['previous_secret'] = b.previous_secret;
    const expires = b.previous_secret_expires_at;
    if (expires != null) {
      if (Number.isNaN(Date.parse(expires))) throw amebo('AMEBO_ERR_VALIDATION', '"previous_secret_expires_at" must be an ISO 8601 time', { field: 'previous_secret_expires_at' });
      patch['previous_secret_expires_at'] = expires;
    }
    const app = await core.registry.updateApplication(name, patch);
    return data(presentApplication(app));
  }, { secretIsData: true });

  router.on('DELETE', '/v1/applications/:name', async ({ core, params, principal }) => {
    requireAdmin(principal, 'delete applications');
    await core.registry.deleteApplication(params['name']!);
    return { status: 204 };
  });
}

/** /v1/applications */
import type { Router } from '../router.js';
import { data, list } from '../http.js';
import { nameField, objectBody, pageOf, stringField } from '../params.js';
import { requireAdmin, requireApp } from '../auth.js';
import { presentApplication } from '../present.js';
import { amebo } from '../../errors.js';

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
    const b = objectBody(body, '{"application", "address", "secret"}');
    const name = nameField(b, 'application')!;
    const address = httpUrl(stringField(b, 'address')!, 'address');
    const secret = stringField(b, 'secret', { min: 8, max: 512 })!;
    const app = await core.registry.createApplication({ name, address, secret });
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
    const b = objectBody(body, '{"address"?, "secret"?, "previous_secret"?, "previous_secret_expires_at"?}');
    const patch: Record<string, string> = {};
    const address = stringField(b, 'address', { required: false });
    if (address !== undefined) patch['address'] = httpUrl(address, 'address');
    const secret = stringField(b, 'new_secret', { required: false, min: 8, max: 512 }) ?? (principal.kind === 'app' ? undefined : stringField(b, 'secret', { required: false, min: 8, max: 512 }));
    if (secret !== undefined) patch['secret'] = secret;
    const previous = stringField(b, 'previous_secret', { required: false, min: 8, max: 512 });
    if (previous !== undefined) patch['previous_secret'] = previous;
    const expires = stringField(b, 'previous_secret_expires_at', { required: false });
    if (expires !== undefined) {
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

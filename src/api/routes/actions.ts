/** /v1/actions */
import type { Router } from '../router.js';
import { data, list } from '../http.js';
import { nameField, objectBody, pageOf } from '../params.js';
import { requireApp } from '../auth.js';
import { presentAction } from '../present.js';
import { amebo } from '../../errors.js';
import type { JsonSchema } from '../../types.js';

/** `schemata` is a JSON Schema (an object or a boolean), or JSON text of one (Amebo's clients send either). */
function schemataField(body: Record<string, unknown>, required: boolean): JsonSchema | undefined {
  let v = body['schemata'];
  if (v === undefined || v === null) {
    if (required) throw amebo('AMEBO_ERR_VALIDATION', '"schemata" is required: a JSON Schema (an object, true or false)', { field: 'schemata' });
    return undefined;
  }
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch (err) {
      throw amebo('AMEBO_ERR_INVALID_SCHEMA', `"schemata" is a string but not valid JSON: ${(err as Error).message}`, { field: 'schemata' });
    }
  }
  if (typeof v !== 'boolean' && (typeof v !== 'object' || v === null || Array.isArray(v))) {
    throw amebo('AMEBO_ERR_INVALID_SCHEMA', '"schemata" must be a JSON Schema: an object, true or false', { field: 'schemata' });
  }
  return v as JsonSchema;
}

export function actionRoutes(router: Router): void {
  router.on('POST', '/v1/actions', async ({ core, body, principal }) => {
    const b = objectBody(body, '{"action", "application", "schemata"}');
    const name = nameField(b, 'action')!;
    const application = nameField(b, 'application')!;
    requireApp(principal, application, `define actions for ${application}`);
    const schemata = schemataField(b, true)!;
    const action = await core.registry.createAction({ name, application, schemata });
    return data(presentAction(action), 201);
  });

  router.on('GET', '/v1/actions', ({ core, url, principal }) => {
    const { page, per_page } = pageOf(url);
    const application = url.searchParams.get('application');
    const all = [...core.registry.snapshot.actions.values()].filter(
      (a) => (principal.kind !== 'app' || a.application === principal.app) && (application === null || a.application === application),
    );
    return list(all.slice((page - 1) * per_page, page * per_page).map(presentAction), all.length, page, per_page);
  });

  router.on('GET', '/v1/actions/:name', ({ core, params, principal }) => {
    const action = core.registry.snapshot.actions.get(params['name']!);
    if (!action) throw amebo('AMEBO_ERR_UNKNOWN_ACTION', `no action named ${params['name']}`);
    requireApp(principal, action.application, `read action ${action.name}`);
    return data(presentAction(action));
  });

  router.on('PUT', '/v1/actions/:name', async ({ core, params, body, principal }) => {
    const name = params['name']!;
    const current = core.registry.snapshot.actions.get(name);
    if (!current) throw amebo('AMEBO_ERR_UNKNOWN_ACTION', `no action named ${name}`);
    requireApp(principal, current.application, `change action ${name}`);
    const b = objectBody(body, '{"schemata"?, "application"?}');
    const application = nameField(b, 'application', false);
    if (application !== undefined) requireApp(principal, application, `move action ${name} to ${application}`);
    const schemata = schemataField(b, false);
    const patch: { schemata?: JsonSchema; application?: string } = {};
    if (schemata !== undefined) patch.schemata = schemata;
    if (application !== undefined) patch.application = application;
    const action = await core.registry.updateAction(name, patch, b['allow_breaking_changes'] === true);
    return data(presentAction(action));
  });
}

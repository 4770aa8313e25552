/** GET /v1/config: the effective config in amebo.yaml's shape (admin only; secrets as ${ENV} references). */
import type { Router } from '../router.js';
import { data } from '../http.js';
import { requireAdmin } from '../auth.js';
import { exportConfig } from '../../config/export.js';

export function configRoutes(router: Router): void {
  router.on('GET', '/v1/config', ({ core, principal }) => {
    requireAdmin(principal, 'export the config');
    return data(exportConfig(core.registry.snapshot));
  });
}

/** GET /health and GET /metrics: public, and free of secrets. */
import type { Router } from '../router.js';
import { data } from '../http.js';
import { VERSION, COMMIT } from '../../version.js';

const started = Date.now();

export function healthRoutes(router: Router): void {
  router.on(
    'GET',
    '/health',
    async ({ core }) => {
      const snap = core.registry.snapshot;
      const r = core.reloadState;
      const h = await core.health();
      return data({
        status: core.closing ? 'closing' : 'ok',
        version: VERSION,
        commit: COMMIT,
        uptime_s: Math.round((Date.now() - started) / 1000),
        durability: snap.config.server.durability,
        config: {
          file: snap.config.file,
          loaded_at: r.loaded_at,
          last_reload_ok_at: r.last_ok_at,
          last_reload_error: r.last_error,
          last_reload_error_at: r.last_error_at,
          applications: snap.applications.size,
          actions: snap.actions.size,
          subscriptions: snap.subscriptions.size,
          warnings: snap.warnings,
        },
        log: { engine: h.engine, ...h.storage, backlog_by_subscription: h.backlog_by_subscription },
        storage: h.storage,
        backlog: h.backlog,
        inflight: h.inflight,
        subscriptions: h.attention,
        events: h.events,
      });
    },
    { public: true },
  );

  router.on(
    'GET',
    '/metrics',
    async ({ core }) => ({
      status: 200,
      raw: await core.metrics.registry.metrics(),
      headers: { 'content-type': core.metrics.registry.contentType },
    }),
    { public: true },
  );
}

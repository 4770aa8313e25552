/** GET /openapi.json: the OpenAPI 3.1 document of this API, public, the same one bodies are checked with. */
import type { Router } from '../router.js';
import { openApiText } from '../openapi/document.js';

export function openApiRoutes(router: Router): void {
  let text: string | undefined;
  router.on('GET', '/openapi.json', () => {
    text ??= openApiText();
    return { status: 200, raw: text };
  }, { public: true });
}

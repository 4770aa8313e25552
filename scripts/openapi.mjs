// Writes docs/openapi.json from the document the server serves (src/api/openapi/). A test fails when
// the committed file is out of date: run `npm run openapi` after changing the API.
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';

const out = await build({
  entryPoints: ['src/api/openapi/document.ts'],
  bundle: true,
  write: false,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  logLevel: 'warning',
});
const source = out.outputFiles[0].text;
const { openApiText } = await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`);
writeFileSync(new URL('../docs/openapi.json', import.meta.url), openApiText());
console.log('wrote docs/openapi.json');

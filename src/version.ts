/** Build-time constants injected by esbuild (scripts/build.mjs, scripts/build-bin.mjs). */
declare const __AMEBO_VERSION__: string | undefined;
declare const __AMEBO_COMMIT__: string | undefined;

/** The package version, or `0.0.0-dev` when running unbundled (tests). */
export const VERSION: string = typeof __AMEBO_VERSION__ === 'string' ? __AMEBO_VERSION__ : '0.0.0-dev';
/** The git commit the build came from. */
export const COMMIT: string = typeof __AMEBO_COMMIT__ === 'string' ? __AMEBO_COMMIT__ : 'unknown';

// @ts-check
/**
 * A per-user cache directory that no other user can write into, and atomic, verified unpacking of the
 * files embedded in the single executable.
 *
 * The binary loads code from this directory (its ESM bundle and lmdb's native addon), so anyone who could
 * swap a file in it could run code as the user. A directory is used only when every directory on its
 * path is owned by root or the user and is not writable by group or others (unless sticky, like /tmp), and
 * it is owned by the user itself. A file is used only when it is a regular file owned by the user, not
 * writable by group or others, and its sha256 is the one recorded at build time; otherwise it is written
 * again. Writes go to a temporary name that is then renamed into place, so two processes starting at once
 * both end up with a whole file.
 */
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** @returns {number} */
function currentUid() {
  return typeof process.getuid === 'function' ? process.getuid() : -1;
}

/**
 * Why `dir` (absolute, no symlinks) cannot be trusted, or undefined when it can.
 * @param {string} dir
 * @param {number} uid
 * @returns {string | undefined}
 */
function untrustedReason(dir, uid) {
  let current = path.parse(dir).root;
  const parts = dir.slice(current.length).split(path.sep).filter(Boolean);
  for (let i = -1; i < parts.length; i += 1) {
    if (i >= 0) current = path.join(current, parts[i]);
    const st = fs.lstatSync(current);
    if (!st.isDirectory()) return `${current} is not a directory`;
    if (st.uid !== 0 && st.uid !== uid) return `${current} is owned by uid ${st.uid}`;
    // A sticky directory (such as /tmp) only lets owners rename or delete their entries.
    if ((st.mode & 0o022) !== 0 && (i === parts.length - 1 || (st.mode & 0o1000) === 0)) {
      return `${current} is writable by group or others`;
    }
    if (i === parts.length - 1 && st.uid !== uid) return `${current} is owned by uid ${st.uid}, not ${uid}`;
  }
  return undefined;
}

/**
 * Creates `dir` if needed and returns its real path, or throws when it is not private to this user.
 * @param {string} dir
 * @returns {string}
 */
function privateDir(dir) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const real = fs.realpathSync(dir);
  const reason = untrustedReason(real, currentUid());
  if (reason) throw new Error(`not a private directory: ${reason}`);
  return real;
}

/**
 * Where the cache may live, best first: $XDG_CACHE_HOME/amebo, ~/.cache/amebo, then $TMPDIR/amebo-<uid>.
 * @returns {string[]}
 */
function cacheCandidates() {
  /** @type {string[]} */
  const out = [];
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) out.push(path.join(xdg, 'amebo'));
  let home = '';
  try {
    home = os.homedir();
  } catch {
    // No HOME and no passwd entry: the temp-dir fallback below still works.
  }
  if (home && path.isAbsolute(home)) out.push(path.join(home, '.cache', 'amebo'));
  out.push(path.join(os.tmpdir(), `amebo-${currentUid()}`));
  return out;
}

/**
 * The first usable private cache directory. When none is usable (say another user squats on
 * /tmp/amebo-<uid>), a fresh directory from mkdtemp is used and removed when the process exits.
 * @returns {{dir: string, ephemeral: boolean, rejected: string[]}}
 */
function openCacheDir() {
  /** @type {string[]} */
  const rejected = [];
  for (const candidate of cacheCandidates()) {
    try {
      return { dir: privateDir(candidate), ephemeral: false, rejected };
    } catch (err) {
      rejected.push(`${candidate}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'amebo-')));
  const reason = untrustedReason(dir, currentUid());
  if (reason) throw new Error(`no private cache directory: ${[...rejected, reason].join('; ')}`);
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, ephemeral: true, rejected };
}

/**
 * @param {Uint8Array} data
 * @returns {string}
 */
function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/**
 * True when `file` is a regular file owned by this user, not writable by others, with the given sha256.
 * @param {string} file
 * @param {string} expected
 * @returns {boolean}
 */
function isIntact(file, expected) {
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.uid !== currentUid() || (st.mode & 0o022) !== 0) return false;
    return sha256(fs.readFileSync(fd)) === expected;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Makes sure `dir/name` holds `data` (whose sha256 is `expected`), writing it atomically when it is
 * missing, foreign or damaged. `dir` must already be private.
 * @param {string} dir
 * @param {string} name
 * @param {() => Uint8Array} data read lazily: only a missing or damaged file needs the bytes
 * @param {string} expected
 * @param {number} mode
 * @returns {string} the file's path
 */
function ensureFile(dir, name, data, expected, mode) {
  const file = path.join(dir, name);
  if (isIntact(file, expected)) return file;
  const bytes = data();
  if (sha256(bytes) !== expected) throw new Error(`embedded ${name} does not match its recorded sha256`);
  const tmp = path.join(dir, `.${name}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, bytes);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  if (!isIntact(file, expected)) throw new Error(`${file} changed while it was being unpacked`);
  return file;
}

/**
 * A private subdirectory of the cache. One that is not (left by root running with this user's HOME, for
 * example) is moved aside and made again.
 * @param {string} base
 * @param {string[]} parts
 * @returns {string}
 */
function subdir(base, ...parts) {
  const dir = path.join(base, ...parts);
  try {
    return privateDir(dir);
  } catch {
    const stale = `${dir}.stale-${crypto.randomBytes(6).toString('hex')}`;
    fs.renameSync(dir, stale);
    try {
      fs.rmSync(stale, { recursive: true, force: true });
    } catch {
      // Files of another user may not be removable; they are out of the way all the same.
    }
    return privateDir(dir);
  }
}

module.exports = { openCacheDir, ensureFile, subdir, sha256 };

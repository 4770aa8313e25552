// Debian tools the bench can use (nats-server for the peer, wrk as load generator): installed with
// apt-get when missing, if the bench runs as root; BENCH_NO_INSTALL=1 turns that off.
import { execFileSync } from 'node:child_process';

export function has(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs a Debian package when it is missing and that is possible here; returns whether `cmd` is there. */
export function ensureCommand(ctx, cmd, pkg) {
  if (has(cmd)) return true;
  if (process.env.BENCH_NO_INSTALL === '1' || process.getuid?.() !== 0 || !has('apt-get')) return false;
  ctx.log(`${cmd} is not on PATH: apt-get install ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const step of [['install', '-y', '-qq', pkg], ['update', '-qq'], ['install', '-y', '-qq', pkg]]) {
    try {
      execFileSync('apt-get', step, { stdio: 'ignore', env, timeout: 180_000 });
      if (step[0] === 'install' && has(cmd)) return true;
    } catch {
      // First install may fail on a stale package list: update, then try once more.
    }
  }
  return has(cmd);
}

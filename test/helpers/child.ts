/**
 * amebo as a child process (`bin/amebo serve`), for tests that kill it with SIGKILL or send it
 * signals. Needs `npm run build` (the test script runs it first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const BIN = fileURLToPath(new URL('../../bin/amebo', import.meta.url));

export interface ChildDaemon {
  readonly url: string;
  readonly process: ChildProcess;
  readonly lines: string[];
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `amebo serve` and resolves once it logs its listening URL. */
export function spawnDaemon(args: {
  config?: string;
  data: string;
  env?: NodeJS.ProcessEnv;
  listen?: string;
  /** Shell run first in a private mount namespace (`unshare -m`), e.g. to mount a small tmpfs. */
  prelude?: string;
}): Promise<ChildDaemon> {
  const argv = ['serve', '--data', args.data, '--listen', args.listen ?? '127.0.0.1:0'];
  if (args.config) argv.push('--config', args.config);
  const env = { ...process.env, ...args.env };
  const child = args.prelude
    ? spawn('unshare', ['-m', 'sh', '-c', `${args.prelude} && exec "$0" "$@"`, BIN, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(BIN, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`amebo did not start within 15 s:\n${lines.join('\n')}`));
    }, 15_000);
    const onLine = (line: string) => {
      lines.push(line);
      const m = /amebo listening on (http:\/\/[^"\s]+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, process: child, lines, exited, kill: (s = 'SIGTERM') => child.kill(s) });
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`amebo exited (${code ?? signal}) before listening:\n${lines.join('\n')}`));
    });
  });
}

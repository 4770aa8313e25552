/**
 * Where the client verbs read and write. Normally the process's streams; tests run `run(argv)`
 * inside `withIO()` to capture them, and concurrent runs do not see each other's streams.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A writable the verbs print to. `isTTY` decides between tables with progress lines and plain output. */
export interface OutStream {
  write(chunk: string): boolean;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  readonly rows?: number | undefined;
  once?(event: string, listener: (...args: unknown[]) => void): unknown;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
  off?(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** The streams one verb run uses. */
export interface CliIO {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean | undefined };
  /** Aborted when the user asks to stop (SIGINT); long-running verbs end cleanly with code 0. */
  readonly signal?: AbortSignal | undefined;
}

const storage = new AsyncLocalStorage<CliIO>();

/** The streams of the current run. */
export function io(): CliIO {
  return storage.getStore() ?? { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

/** Runs `fn` with `streams` as the verbs' stdin, stdout and stderr. */
export function withIO<T>(streams: CliIO, fn: () => Promise<T>): Promise<T> {
  return storage.run(streams, fn);
}

/** Writes to stdout and waits for it to drain, so large outputs into a pipe keep memory flat. */
export async function out(text: string): Promise<void> {
  const s = io().stdout;
  if (s.write(text) || !s.once) return;
  // A closed pipe (`amebo events --json | head`) never drains; stop waiting when it errors or closes.
  await new Promise<void>((resolve) => {
    const done = (): void => {
      s.off?.('drain', done);
      s.off?.('error', done);
      s.off?.('close', done);
      resolve();
    };
    s.once?.('drain', done);
    s.once?.('error', done);
    s.once?.('close', done);
  });
}

/** Writes a line to stderr. */
export function err(text: string): void {
  io().stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

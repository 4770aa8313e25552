/**
 * Test support for the client verbs: runs the real CLI (`run(argv)`) in-process with captured
 * stdout/stderr and a given stdin. Shared by the cli unit and integration tests.
 */
import { Readable } from 'node:stream';
import { EventEmitter } from 'node:events';
import { run } from '../../src/cli/program.js';
import { withIO, type OutStream } from '../../src/format/io.js';

/** A captured output stream. */
export class Capture extends EventEmitter implements OutStream {
  text = '';
  constructor(readonly isTTY = false) {
    super();
  }
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** What one CLI run produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of a CLI run. */
export interface RunOptions {
  stdin?: string | Iterable<string> | AsyncIterable<string>;
  stdoutTTY?: boolean;
  stderrTTY?: boolean;
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
}

/** Runs `amebo ...argv` in-process. */
export async function runCli(argv: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const stdout = new Capture(options.stdoutTTY ?? false);
  const stderr = new Capture(options.stderrTTY ?? false);
  const src = options.stdin ?? [];
  const stdin = Readable.from(typeof src === 'string' ? [src] : src) as unknown as NodeJS.ReadableStream & { isTTY?: boolean };
  const code = await withIO({ stdout, stderr, stdin, signal: options.signal }, () => run(['node', 'amebo', ...argv]));
  return { code, stdout: stdout.text, stderr: stderr.text };
}

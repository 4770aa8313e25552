/**
 * Process entry point of the bundle. It only turns the CLI's result into an exit code;
 * every verb returns a number instead of exiting, so the daemon can drain first.
 */
import { run } from './cli/program.js';

run(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`amebo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

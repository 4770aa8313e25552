/**
 * The options of every verb that talks to a running daemon (`--url`, `--token`, `--json`), shared by
 * the program and the verbs' modules, which import this and not the program.
 */
import { Option, type Command } from 'commander';

/** Options every verb that talks to a running daemon accepts. */
export interface ClientOptions {
  url: string;
  token?: string | undefined;
  json?: boolean | undefined;
}

/** Adds `--url`, `--token` and `--json` to a client verb. */
export function clientVerb(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--url <url>', 'base URL of the amebo daemon').env('AMEBO_URL').default('http://127.0.0.1:3310'),
    )
    .addOption(new Option('--token <token>', 'admin token or application secret').env('AMEBO_TOKEN'))
    .option('--json', 'print JSON instead of a table');
}

/**
 * `--url` and `--token` may come before the verb (`amebo --url URL gists`, the program's options) or
 * after it (`amebo gists --url URL`, the verb's). A value typed on the command line wins over one from
 * the environment or the default, wherever it was typed; the nearest command's wins over its parents'.
 */
export function resolveClientOptions<T extends ClientOptions>(own: T, command: Command): T {
  const out: T = { ...own };
  for (const key of ['url', 'token'] as const) {
    for (let c: Command | null = command; c; c = c.parent) {
      if (c.getOptionValueSource(key) === 'cli') {
        out[key] = c.getOptionValue(key) as string;
        break;
      }
    }
  }
  return out;
}


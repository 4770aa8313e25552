/**
 * The commander table. Each verb lives in its own module under `verbs/` and is imported only when it
 * runs, so `amebo --version` and `amebo publish` do not pay for Ink or LMDB.
 */
import { Command, CommanderError } from 'commander';
import { VERSION, COMMIT } from '../version.js';
import { isAmeboError } from '../errors.js';
import { clientVerb, resolveClientOptions, type ClientOptions } from './client-options.js';

export { clientVerb, resolveClientOptions, type ClientOptions } from './client-options.js';

type VerbModule = { default: (...args: never[]) => Promise<number> };

/** Wraps a lazily imported verb so that its exit code reaches `run()`. */
function lazy(load: () => Promise<VerbModule>, setCode: (code: number) => void) {
  return async (...args: unknown[]) => {
    const mod = await load();
    setCode(await (mod.default as (...a: unknown[]) => Promise<number>)(...args));
  };
}

/** Builds the program. Exposed for tests that want to inspect `--help`. */
export function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command('amebo')
    .description('A self-hosted HTTP event bus: validate, log, deliver signed webhooks, replay.')
    .version(`${VERSION} (${COMMIT})`, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    // Also accepted after the verb; listed here so `amebo --url URL gists` is not an unknown option.
    .option('--url <url>', 'base URL of the amebo daemon, for the verbs that talk to it (default: $AMEBO_URL or http://127.0.0.1:3310)')
    .option('--token <token>', 'admin token or application secret, for the verbs that talk to it (default: $AMEBO_TOKEN)');

  program
    .command('serve')
    .description('run the daemon')
    .option('-c, --config <file>', 'config file', 'amebo.yaml')
    .option('-d, --data <dir>', 'data directory (default: server.data in the config, else ./data)')
    .option('-l, --listen <host:port>', 'listen address (default: server.listen in the config, else 127.0.0.1:3310)')
    .option('--log <url>', 'where the log lives: lmdb (the data dir) or nats://HOST:PORT[,nats://HOST:PORT...] (default: server.log, else lmdb)')
    .addHelpText(
      'after',
      '\nExamples:\n  amebo serve --config amebo.yaml --data ./data\n  AMEBO_ADMIN_TOKEN=s3cret amebo serve --listen 0.0.0.0:3310\n  amebo serve --log nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222',
    )
    .action(lazy(() => import('./verbs/serve.js'), setCode));

  clientVerb(
    program
      .command('check')
      .description('validate the config and every schema in it, then exit 0 (valid) or 1; --diff also says what a reload would do to a running daemon')
      .option('-c, --config <file>', 'config file', 'amebo.yaml')
      .option('--diff', 'compare the file with the running daemon (--url, --token: an admin token): "adds subscription X", "orphans Y with 120 open gists"'),
  )
    .addHelpText('after', '\nExamples:\n  amebo check --config amebo.yaml && git push\n  AMEBO_TOKEN=$ADMIN amebo check --diff --url http://vm:3310   # in the config repo\'s pull requests')
    .action(async (opts: ClientOptions & { config: string; diff?: boolean }, command: Command) => {
      const { default: check } = await import('./verbs/check.js');
      setCode(await check(resolveClientOptions(opts, command)));
    });

  program
    .command('backup')
    .description("write a consistent copy of a live log (LMDB's own copy, compacted) while serve runs")
    .argument('<file>', 'where to write the copy (must not exist)')
    .option('-d, --data <dir>', 'data directory of the log', './data')
    .addHelpText('after', '\nExamples:\n  amebo backup --data /var/lib/amebo /backups/amebo-$(date +%F).mdb\n\nRestore: stop amebo, put the copy at <data dir>/log.mdb, start amebo.')
    .action(lazy(() => import('./verbs/backup.js'), setCode));

  const config = program.command('config').description('work with the effective config');
  clientVerb(
    config
      .command('export')
      .description("print the daemon's effective config (file and API objects) as amebo.yaml, secrets as ${ENV} references")
      .addHelpText('after', '\nExamples:\n  amebo config export > amebo.yaml\n  AMEBO_TOKEN=$ADMIN amebo config export --url http://vm:3310'),
  ).action(async (opts: ClientOptions, command: Command) => {
    const { exportConfigVerb } = await import('./verbs/config.js');
    setCode(await exportConfigVerb(resolveClientOptions(opts, command)));
  });

  registerClientVerbs(program, setCode);
  return program;
}

/**
 * Verbs that are HTTP clients of the daemon. Each module under verbs/ exports `register(program, setCode)`
 * in verbs/index.ts so that adding a verb touches one line here.
 */
function registerClientVerbs(program: Command, setCode: (code: number) => void): void {
  for (const register of clientVerbRegistrations) register(program, setCode);
}

/** Registration hooks for client verbs; see src/cli/verbs/index.ts. */
import { clientVerbRegistrations } from './verbs/index.js';

/**
 * Runs the CLI and resolves to the process exit code: 0 ok, 1 failed, 2 bad usage.
 * Never calls process.exit, so a daemon can finish draining.
 */
export async function run(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv as string[]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through exitOverride with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isAmeboError(err)) {
      process.stderr.write(`amebo: ${err.message}\n`);
      return err.exit;
    }
    process.stderr.write(`amebo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

/**
 * The client verbs' registrations. Each entry adds one commander command whose action lazily imports
 * its module. Keep one line per verb.
 */
import { Option, type Command } from 'commander';
import { clientVerb, resolveClientOptions, type ClientOptions } from '../client-options.js';
import { durationArg, gistArg, intArg, timeArg } from './shared.js';

/** Adds one client verb to the program; `setCode` receives the verb's exit code. */
export type VerbRegistration = (program: Command, setCode: (code: number) => void) => void;

type VerbFn = (...args: never[]) => Promise<number>;

/**
 * Wraps a lazily imported verb so that its exit code reaches `run()`. `name` picks a named export
 * (subcommands living in their verb's module); the default export otherwise. Commander passes the
 * positional arguments, then the options, then the command. A subcommand (`events show ID`) gets its
 * parent's options too, since commander lets the parent take `--url` wherever it appears.
 */
function lazy<M>(load: () => Promise<M>, setCode: (code: number) => void, name = 'default') {
  return async (...args: unknown[]) => {
    const mod = (await load()) as Record<string, VerbFn>;
    const fn = mod[name] as (...a: unknown[]) => Promise<number>;
    const command = args[args.length - 1] as Command;
    const positional = args.slice(0, -2);
    const options = (command.parent?.parent ? command.optsWithGlobals() : args[args.length - 2]) as ClientOptions;
    setCode(await fn(...positional, resolveClientOptions(options, command)));
  };
}

/** A subcommand of a client verb: it takes the parent's `--url`, `--token` and `--json`, and lists them. */
function subcommand(parent: Command, name: string): Command {
  return parent.command(name).configureHelp({ showGlobalOptions: true });
}

const examples = (...lines: string[]): string => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;

const STATES = ['pending', 'delivered', 'failed', 'dead'];

const publish: VerbRegistration = (program, setCode) => {
  clientVerb(
    program
      .command('publish')
      .description('publish an event (or many, from NDJSON) and print what was stored')
      .argument('[action]', 'the action, e.g. user.created')
      .argument('[payload]', 'JSON text, @file, or - for stdin (default: {})')
      .option('--deduper <key>', 'idempotency key: repeating it for the same action publishes nothing new')
      .option('--delay <duration>', 'wait this long before the first delivery (500ms, 30s, 5m, 1h)', durationArg)
      .option('--ndjson', 'read one event per line from stdin or @file (a payload each, or {"action","payload"} objects without ACTION)')
      .addOption(new Option('--batch-size <n>', 'events per batch request').argParser(intArg(1)).default(500)),
  )
    .addHelpText(
      'after',
      examples(
        `amebo publish user.created '{"id": 1, "email": "ada@example.com"}'`,
        'amebo publish user.created @user.json --deduper user-1 --delay 30s',
        "echo '{\"id\": 2}' | amebo publish user.created -",
        'amebo publish user.created - < users.ndjson        # one payload per line, sent in batches',
        'amebo publish --ndjson < events.ndjson             # {"action": ..., "payload": ...} per line',
        'amebo publish user.created @user.json --json | jq .id',
      ),
    )
    .action(lazy(() => import('./publish.js'), setCode));
};

const replay: VerbRegistration = (program, setCode) => {
  clientVerb(
    program
      .command('replay')
      .description('deliver past events again: everything the filters match, or one gist')
      .option('--from <time>', 'events at or after this time (ISO 8601, or a duration ago: 15m, 2h, 1d)', timeArg)
      .option('--to <time>', 'events before this time (ISO 8601, or a duration ago)', timeArg)
      .option('--action <name>', 'only this action')
      .option('--subscription <name>', 'only deliveries to this subscription')
      .option('--event <id>', 'only this event', intArg(1))
      .option('--failed', 'only gists that are dead or failed')
      .option('--dry-run', 'only count what would be replayed')
      .option('--follow', 'wait for the replay to finish, printing progress')
      .option('--gist <id>', 'replay this one gist now (POST /v1/gists/:id/replay); ids are opaque', gistArg)
      .addOption(new Option('--interval <duration>', 'how often --follow polls').argParser(durationArg).default(500).hideHelp()),
  )
    .addHelpText(
      'after',
      examples(
        'amebo replay --failed --subscription welcome-emails --dry-run',
        'amebo replay --failed --subscription welcome-emails --follow',
        'amebo replay --action user.created --from 2026-11-03T00:00:00Z --to 2026-11-04T00:00:00Z',
        'amebo replay --from 2h --failed',
        'amebo replay --event 42',
        'amebo replay --gist 7',
      ),
    )
    .action(lazy(() => import('./replay.js'), setCode));
};

const events: VerbRegistration = (program, setCode) => {
  const cmd = clientVerb(
    program
      .command('events')
      .description('list the events in the log (a table, or --json)')
      .option('--action <name>', 'only this action')
      .option('--from <time>', 'at or after this time (ISO 8601, or a duration ago: 15m, 2h)', timeArg)
      .option('--to <time>', 'before this time', timeArg)
      .option('--page <n>', 'page number, from 1', intArg(1))
      .option('--per-page <n>', 'events per page', intArg(1)),
  )
    .addHelpText(
      'after',
      examples('amebo events --action user.created --from 1h', 'amebo events --page 2 --per-page 100', 'amebo events show 42', "amebo events --json | jq '.data[].id'"),
    )
    .action(lazy(() => import('./events.js'), setCode));
  subcommand(cmd, 'show').description('print one event').argument('<id>', 'event id', intArg(1))
    .addHelpText('after', examples('amebo events show 42', 'amebo events show 42 --json | jq .payload'))
    .action(lazy(() => import('./events.js'), setCode, 'show'));
};

const gists: VerbRegistration = (program, setCode) => {
  const cmd = clientVerb(
    program
      .command('gists')
      .description('list gists: each event on its way to each subscription, with its state')
      .option('--subscription <name>', 'only this subscription')
      .option('--event <id>', 'only gists of this event', intArg(1))
      .addOption(new Option('--state <state>', 'only gists in this state').choices(STATES))
      .option('--page <n>', 'page number, from 1', intArg(1))
      .option('--per-page <n>', 'gists per page', intArg(1)),
  )
    .addHelpText(
      'after',
      examples('amebo gists --state dead --subscription welcome-emails', 'amebo gists --event 42', 'amebo gists show 7', 'amebo gists replay 7'),
    )
    .action(lazy(() => import('./gists.js'), setCode));
  subcommand(cmd, 'show').description('print a gist with every attempt').argument('<id>', 'gist id (a number on LMDB, a string on NATS)', gistArg)
    .addHelpText('after', examples('amebo gists show 7', 'amebo gists show 7 --json | jq .attempts'))
    .action(lazy(() => import('./gists.js'), setCode, 'show'));
  subcommand(cmd, 'replay').description('deliver a gist again now').argument('<id>', 'gist id (a number on LMDB, a string on NATS)', gistArg)
    .addHelpText('after', examples('amebo gists replay 7'))
    .action(lazy(() => import('./gists.js'), setCode, 'replay'));
};

const tail: VerbRegistration = (program, setCode) => {
  clientVerb(
    program
      .command('tail')
      .description('watch deliveries live: a full-screen view, or NDJSON with --json or when piped')
      .option('--action <name>', 'only this action')
      .option('--subscription <name>', 'only this subscription')
      .option('--failures', 'only failed and dead deliveries')
      .option('--count <n>', 'with NDJSON output, stop after this many deliveries', intArg(1))
      .addOption(new Option('--rows <n>', 'deliveries the screen keeps in memory').argParser(intArg(10)).default(1000)),
  )
    .addHelpText(
      'after',
      examples(
        'amebo tail',
        'amebo tail --subscription welcome-emails --failures',
        "amebo tail --json | jq 'select(.state == \"dead\")'",
        'amebo tail --json --count 100 > deliveries.ndjson',
        '',
        'Keys: / filter by action or subscription, f failures only, space pause, up/down select,',
        '      enter show attempts, r replay the selected gist, esc back, q quit',
      ),
    )
    .action(lazy(() => import('./tail.js'), setCode));
};

/** Every client verb, in the order `amebo --help` lists them. */
const pauseVerbs: VerbRegistration = (program, setCode) => {
  clientVerb(program.command('pause').description('stop delivering to a subscription (gists are still made; no retry is used up)').argument('<subscription>', 'its name'))
    .addHelpText('after', examples('amebo pause welcome-emails', 'amebo resume welcome-emails      # everything it holds is delivered'))
    .action(lazy(() => import('./pause.js'), setCode, 'pause'));
  clientVerb(program.command('resume').description('deliver to a paused subscription again').argument('<subscription>', 'its name'))
    .addHelpText('after', examples('amebo resume welcome-emails'))
    .action(lazy(() => import('./pause.js'), setCode, 'resume'));
};

export const clientVerbRegistrations: VerbRegistration[] = [publish, replay, events, gists, tail, pauseVerbs];

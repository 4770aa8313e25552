/**
 * `amebo check --diff`: what a config change would do to a running daemon, in words a reviewer of the
 * config repo's pull request can check: "adds subscription X", "orphans Y with 120 open gists",
 * "re-filters Z". It compares the file with what the daemon runs from its file (objects created
 * through the API are left alone by a reload, so they are not compared). The daemon never shows the
 * values of credential headers, so those are compared by name only.
 */
import type { ResolvedConfig } from '../../config/load.js';
import { formatDuration } from '../../config/units.js';
import { breakingChanges } from '../../schema/compat.js';
import type { Subscription } from '../../types.js';
import { visibleHeaders } from '../../routing/keys.js';
import type { WireAction, WireApplication, WireSubscription } from '../../client/types.js';

/** What the daemon runs, as its API shows it. */
export interface Running {
  readonly applications: readonly WireApplication[];
  readonly actions: readonly WireAction[];
  readonly subscriptions: readonly WireSubscription[];
  /** Open gists per subscription (`/health`). */
  readonly backlog: Readonly<Record<string, number>>;
}

/** A subscription reduced to what a reload changes, in the same words on both sides. */
function comparable(s: {
  application: string;
  action: unknown;
  handler: string;
  filter: unknown;
  headers: unknown;
  paused: boolean;
  ordering: unknown;
  rate_limit: string | null;
  circuit: string;
  retry: string;
}): Record<string, string> {
  return {
    application: s.application,
    action: JSON.stringify(s.action),
    handler: s.handler,
    filter: JSON.stringify(s.filter ?? null),
    headers: JSON.stringify(s.headers ?? null),
    paused: String(s.paused),
    ordering: JSON.stringify(s.ordering ?? null),
    rate_limit: String(s.rate_limit),
    circuit: s.circuit,
    retry: s.retry,
  };
}

/** Headers as the daemon shows them: shown values, then the names of the credential headers. */
function headersOf(h: { headers: Readonly<Record<string, string>> | null; sensitive: readonly string[] }): unknown {
  if (!h.headers && h.sensitive.length === 0) return null;
  const out: Record<string, string> = { ...h.headers };
  for (const name of h.sensitive) out[name] = '(not shown)';
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function local(s: Subscription): Record<string, string> {
  return comparable({
    application: s.application,
    action: s.action,
    handler: s.handler,
    filter: s.filter,
    headers: headersOf(visibleHeaders(s.headers)),
    paused: s.paused === true,
    ordering: s.ordering,
    rate_limit: s.rate_limit ? `${s.rate_limit.count}/${s.rate_limit.per_ms === 1000 ? 's' : 'm'}` : null,
    circuit: s.circuit ? `${s.circuit.failures} failures, ${formatDuration(s.circuit.cooldown_ms)}` : 'off',
    retry: `${s.max_retries} retries, timeout ${formatDuration(s.timeout_ms)}, backoff ${formatDuration(s.backoff_initial_ms)}..${formatDuration(s.backoff_max_ms)} jitter ${s.backoff_jitter}, retry_4xx ${s.retry_4xx}, concurrency ${s.concurrency}`,
  });
}

function remote(s: WireSubscription): Record<string, string> {
  return comparable({
    application: s.application,
    action: s.action,
    handler: s.handler,
    filter: s.filter,
    headers: headersOf({ headers: s.headers, sensitive: [...(s.sensitive_headers ?? [])] }),
    paused: s.paused_by === 'config',
    ordering: s.ordering,
    rate_limit: s.rate_limit,
    circuit: s.circuit.state === 'off' ? 'off' : `${s.circuit.failures_to_open} failures, ${s.circuit.cooldown}`,
    retry: `${s.max_retries} retries, timeout ${s.timeout}, backoff ${s.backoff.initial}..${s.backoff.max} jitter ${s.backoff.jitter}, retry_4xx ${s.retry_4xx}, concurrency ${s.concurrency}`,
  });
}

const VERBS: Readonly<Record<string, (name: string, before: string, after: string) => string>> = {
  application: (n, b, a) => `moves subscription ${n} from application ${b} to ${a}`,
  action: (n, b, a) => `re-routes subscription ${n}: action ${b} -> ${a}`,
  handler: (n, b, a) => `re-points subscription ${n}: ${b} -> ${a}`,
  filter: (n, b, a) => (b === 'null' ? `filters subscription ${n}: ${a}` : a === 'null' ? `unfilters subscription ${n} (it was ${b})` : `re-filters subscription ${n}: ${b} -> ${a}`),
  headers: (n, b, a) => `changes the headers of subscription ${n}: ${b} -> ${a}`,
  paused: (n, _b, a) => (a === 'true' ? `pauses subscription ${n}` : `resumes subscription ${n}`),
  ordering: (n, b, a) => `changes the ordering of subscription ${n}: ${b} -> ${a}`,
  rate_limit: (n, b, a) => `changes the rate limit of subscription ${n}: ${b} -> ${a}`,
  circuit: (n, b, a) => `changes the circuit breaker of subscription ${n}: ${b} -> ${a}`,
  retry: (n, b, a) => `changes the retry policy of subscription ${n}: ${b} -> ${a}`,
};

/** What a reload of the file would do: one line per change, and the changes the daemon would refuse. */
export interface Diff {
  readonly changes: string[];
  /** Changes a reload refuses (a breaking schema change without `allow_breaking_changes`). */
  readonly refused: string[];
}

/** Compares the file with the running daemon; both lists are empty when a reload would change nothing. */
export function describeDiff(file: ResolvedConfig, running: Running): Diff {
  const lines: string[] = [];
  const refused: string[] = [];
  const fromFile = <T extends { source: string }>(list: readonly T[]) => list.filter((x) => x.source === 'file');

  const apps = new Map(fromFile(running.applications).map((a) => [a.application, a]));
  for (const a of file.applications) {
    const was = apps.get(a.name);
    if (!was) lines.push(`adds application ${a.name} (${a.address})`);
    else if (was.address !== a.address) lines.push(`changes the address of application ${a.name}: ${was.address} -> ${a.address}`);
    apps.delete(a.name);
  }
  for (const name of apps.keys()) lines.push(`removes application ${name}`);

  const actions = new Map(fromFile(running.actions).map((a) => [a.action, a]));
  for (const a of file.actions) {
    const was = actions.get(a.name);
    if (!was) lines.push(`adds action ${a.name}`);
    else if (JSON.stringify(was.schemata) !== JSON.stringify(a.schemata)) {
      const breaking = breakingChanges(was.schemata, a.schemata);
      if (breaking.length === 0) lines.push(`changes the schema of action ${a.name} (compatible: it accepts every payload it accepted)`);
      else if (a.allow_breaking_changes) lines.push(`changes the schema of action ${a.name}, breaking (allowed by allow_breaking_changes): ${breaking.join('; ')}`);
      else for (const change of breaking) refused.push(`actions.${a.name}.schemata: breaking change: ${change} (set allow_breaking_changes: true on the action to allow it)`);
    }
    actions.delete(a.name);
  }
  for (const name of actions.keys()) lines.push(`removes action ${name}`);

  const subs = new Map(fromFile(running.subscriptions).map((s) => [s.subscription, s]));
  for (const s of file.subscriptions) {
    const was = subs.get(s.name);
    if (!was) {
      lines.push(`adds subscription ${s.name} (${JSON.stringify(s.action)} -> ${s.handler})`);
      continue;
    }
    subs.delete(s.name);
    const before = remote(was);
    const after = local(s);
    for (const key of Object.keys(after)) if (before[key] !== after[key]) lines.push(VERBS[key]!(s.name, before[key]!, after[key]!));
  }
  for (const name of subs.keys()) {
    const open = running.backlog[name] ?? 0;
    lines.push(open > 0 ? `orphans subscription ${name} with ${open} open gist${open === 1 ? '' : 's'} (kept; delivered if it comes back)` : `removes subscription ${name} (no open gists)`);
  }
  return { changes: lines, refused };
}

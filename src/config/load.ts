/**
 * The config pipeline: YAML → ${ENV} expansion → JSON Schema (config/amebo.schema.json) → defaults →
 * schema files → compiled action schemas → cross-checks. It never throws for a bad file: the result is
 * `{ ok: true, config, warnings }` or `{ ok: false, errors }`, each message written `dot.path: message`.
 * Start-up, `amebo check` and hot reload all call this one function.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import configSchema from '../../config/amebo.schema.json' with { type: 'json' };
import type { PayloadValidator, SchemaCompiler } from '../schema/compile.js';
import { isAmeboError } from '../errors.js';
import type { Application, Action, CircuitPolicy, JsonSchema, Subscription, RetryPolicy } from '../types.js';
import { actionEntries, actionMatcher, actionSpecErrors, isPattern } from '../routing/actions.js';
import { controlOf, DEFAULT_CIRCUIT } from '../routing/keys.js';
import { filterTypeErrors } from '../routing/filter-types.js';
import { isOwnAction, OWN_ACTION_OBJECTS, OWN_APPLICATION } from '../routing/own-events.js';
import { parseDuration, parseListen, parseSize } from './units.js';
import { expandEnv, forbiddenKeys } from './expand.js';
import { readSchemaFile } from './schema-file.js';
import { resolveHandler } from './handler.js';
import type { RetentionPolicy } from '../log/contract.js';
import { parseCidr, type NetworkPolicy } from './cidr.js';

export type { NetworkPolicy } from './cidr.js';

/** How amebo reaches a NATS JetStream cluster (`server.log: nats://…` and `server.nats`). */
export interface NatsSettings {
  /** Client URLs of the cluster's servers (any one is enough to find the rest). */
  readonly servers: readonly string[];
  /** Prefix of every stream, subject, consumer and bucket: several deployments can share one NATS. */
  readonly prefix: string;
  /** Replicas of every stream and bucket; null: 3 on a cluster, 1 on a single server. */
  readonly replicas: number | null;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly token?: string | undefined;
  /** A `.creds` file (JWT and NKey seed). */
  readonly creds?: string | undefined;
  readonly tls: { readonly ca?: string | undefined; readonly cert?: string | undefined; readonly key?: string | undefined } | null;
  readonly connect_timeout_ms: number;
  /** Management calls and reads. */
  readonly request_timeout_ms: number;
  /** How long one write is retried (same message id) before it is answered 503: longer than an election. */
  readonly publish_timeout_ms: number;
  /** The lease on a handed-out gist, renewed while an attempt runs; after it another instance takes over. */
  readonly ack_wait_ms: number;
  /** Per subscription consumer: gists in flight, backing off or sleeping, at most. */
  readonly max_pending: number;
}

/** Where the log lives: the LMDB data dir (the default) or a NATS JetStream cluster. */
export type LogChoice = { readonly engine: 'lmdb' } | ({ readonly engine: 'nats' } & NatsSettings);

/** Settings of the daemon itself. */
export interface ServerSettings {
  readonly listen: { readonly host: string; readonly port: number };
  readonly data: string;
  readonly log: LogChoice;
  readonly durability: 'commit' | 'fsync';
  readonly max_body_bytes: number;
  readonly map_size_bytes: number;
  readonly max_depth: number;
  readonly headers_timeout_ms: number;
  readonly request_timeout_ms: number;
  readonly shutdown_timeout_ms: number;
  readonly log_level: string;
}

/** Defaults for every subscription, and the global in-flight cap. */
export interface DeliverySettings extends RetryPolicy {
  readonly max_inflight: number;
  /** The circuit breaker of subscriptions that say nothing (null: off). */
  readonly circuit: CircuitPolicy | null;
}


export const DEFAULT_DENY = Object.freeze(['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128']);

/** An action with its compiled validator. */
export interface ResolvedAction extends Action {
  readonly validator: PayloadValidator;
}

/** The validated, frozen result of the pipeline. */
export interface ResolvedConfig {
  /** Absolute path of the file, or null when running without one. */
  readonly file: string | null;
  readonly server: ServerSettings;
  readonly auth: { readonly admin_token: string | null };
  readonly delivery: DeliverySettings;
  readonly networks: NetworkPolicy;
  /** Null when retention is off. */
  readonly retention: RetentionPolicy | null;
  readonly applications: readonly Application[];
  readonly actions: readonly ResolvedAction[];
  readonly subscriptions: readonly Subscription[];
  /** Files whose change should trigger a reload: the config and every schema file it references. */
  readonly watch: readonly string[];
}

export type LoadResult =
  | { readonly ok: true; readonly config: ResolvedConfig; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

export interface LoadOptions {
  readonly compiler: SchemaCompiler;
  readonly env?: NodeJS.ProcessEnv;
  /** Command-line overrides, which beat the file. */
  readonly listen?: string | undefined;
  readonly data?: string | undefined;
  /** `--log`: `lmdb` or `nats://host:port,...`, which beats `server.log`. */
  readonly log?: string | undefined;
  /** When the file is missing: start with an empty config (true) or fail (false). */
  readonly optional?: boolean;
  /** Stamps created_at on file objects; injected for tests. */
  readonly now?: () => Date;
}

export const DEFAULT_LISTEN = '127.0.0.1:3310';

export const DELIVERY_DEFAULTS: DeliverySettings = Object.freeze({
  max_retries: 5,
  timeout_ms: 30_000,
  backoff_initial_ms: 1_000,
  backoff_max_ms: 3_600_000,
  backoff_jitter: 0.2,
  retry_4xx: false,
  concurrency: 16,
  max_inflight: 512,
  circuit: DEFAULT_CIRCUIT,
});

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
const validateFile = addFormats(new Ajv({ allErrors: true, strict: false, allowUnionTypes: true })).compile(configSchema);

type Raw = Record<string, unknown>;

/** Runs the whole pipeline on `file` (or on an empty config when `file` is null). */
export async function loadConfig(file: string | null, options: LoadOptions): Promise<LoadResult> {
  const env = options.env ?? process.env;
  const path = file === null ? null : resolve(file);
  let raw: Raw = {};
  if (path !== null) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && options.optional) return build(null, {}, env, options);
      return { ok: false, errors: [`${path}: cannot read the config file (${code ?? (err as Error).message})`] };
    }
    const parsed = parseYaml(text, path);
    if (!parsed.ok) return parsed;
    raw = parsed.value;
  }
  return build(path, raw, env, options);
}

function parseYaml(text: string, path: string): { ok: true; value: Raw } | { ok: false; errors: string[] } {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => `${path}: ${e.message.split('\n')[0]}`) };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    // e.g. an alias bomb ("billion laughs"): the yaml library refuses to expand it.
    return { ok: false, errors: [`${path}: ${(err as Error).message.split('\n')[0]}`] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, errors: [`${path}: the config must be a mapping of keys (server, auth, delivery, applications, actions, subscriptions)`] };
  }
  return { ok: true, value: value as Raw };
}

function ajvPath(e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'additionalProperties') parts.push(String(e.params['additionalProperty']));
  if (e.keyword === 'required') parts.push(String(e.params['missingProperty']));
  return parts.join('.') || '(root)';
}

function ajvMessage(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return 'is not a known key';
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'pattern' && e.instancePath.match(/^\/(applications|actions|subscriptions)\/[^/]+$/)) {
    return 'names may hold letters, digits, ".", "_", ":" and "-" (at most 128)';
  }
  if (e.keyword === 'enum') return `must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return e.message ?? 'is invalid';
}

async function build(path: string | null, input: Raw, env: NodeJS.ProcessEnv, options: LoadOptions): Promise<LoadResult> {
  const errors: string[] = [];
  const warnings: string[] = [];

  errors.push(...forbiddenKeys(input).map((p) => `${p}: this key name is not allowed`));
  if (errors.length > 0) return { ok: false, errors };

  const raw = expandEnv(input, env, errors) as Raw;
  if (errors.length > 0) return { ok: false, errors };
  // A section written with no entries (`subscriptions:`) is YAML null: read it as empty.
  for (const section of ['server', 'auth', 'delivery', 'applications', 'actions', 'subscriptions']) {
    if (raw[section] === null) delete raw[section];
  }

  if (!validateFile(raw)) {
    const seen = new Set<string>();
    for (const e of validateFile.errors ?? []) {
      // oneOf/allOf wrappers repeat their branches' messages; keep one line per path and message.
      if (e.keyword === 'oneOf' || e.keyword === 'allOf' || e.keyword === 'if') continue;
      const line = `${ajvPath(e)}: ${ajvMessage(e)}`;
      if (!seen.has(line)) seen.add(line);
    }
    return { ok: false, errors: [...seen] };
  }

  const dir = path === null ? process.cwd() : dirname(path);
  const now = (options.now ?? (() => new Date()))().toISOString();
  const server = serverSettings(raw, dir, options, errors);
  const deliveryRaw = (raw['delivery'] ?? {}) as Raw;
  const delivery = {
    ...policyOf(deliveryRaw, DELIVERY_DEFAULTS, 'delivery', errors),
    circuit: controlOf({ circuit: deliveryRaw['circuit'] }, 'delivery', DELIVERY_DEFAULTS, errors).circuit,
  } as DeliverySettings;
  const networksRaw = ((raw['delivery'] as Raw | undefined)?.['networks'] ?? {}) as Raw;
  const networks: NetworkPolicy = {
    allow: (networksRaw['allow'] as string[] | undefined) ?? [],
    deny: (networksRaw['deny'] as string[] | undefined) ?? DEFAULT_DENY,
  };
  for (const [key, list] of [['allow', networks.allow], ['deny', networks.deny]] as const) {
    list.forEach((cidr, i) => {
      if (!parseCidr(cidr)) errors.push(`delivery.networks.${key}[${i}]: "${cidr}" is not an IP address or CIDR`);
    });
  }
  const retention = retentionOf((raw['retention'] ?? null) as Raw | null, errors);
  const adminToken = env['AMEBO_ADMIN_TOKEN'] || ((raw['auth'] as Raw | undefined)?.['admin_token'] as string | undefined) || null;
  if (adminToken !== null && adminToken.length < 16) warnings.push('auth.admin_token: shorter than 16 characters; use a long random token');

  const applications: Application[] = [];
  for (const [name, a] of Object.entries((raw['applications'] ?? {}) as Record<string, Raw>)) {
    const address = String(a['address']);
    if (!isHttpUrl(address)) errors.push(`applications.${name}.address: must be an http(s) URL`);
    applications.push({
      name,
      address,
      secret: String(a['secret']),
      previous_secret: a['previous_secret'] as string | undefined,
      previous_secret_expires_at: a['previous_secret_expires'] as string | undefined,
      source: 'file',
      created_at: now,
    });
  }
  const appNames = new Set(applications.map((a) => a.name));

  const watch: string[] = path === null ? [] : [path];
  const actions: ResolvedAction[] = [];
  for (const [name, a] of Object.entries((raw['actions'] ?? {}) as Record<string, Raw>)) {
    const at = `actions.${name}`;
    if (!appNames.has(String(a['application']))) errors.push(`${at}.application: no application named "${String(a['application'])}" is declared`);
    let schemata: unknown = a['schemata'];
    if (typeof schemata === 'string') {
      const read = await readSchemaFile(dir, schemata);
      if (!read.ok) {
        errors.push(`${at}.schemata: ${read.error}`);
        continue;
      }
      watch.push(read.path);
      schemata = read.schema;
    }
    try {
      const validator = options.compiler.compile(schemata);
      actions.push({
        name,
        application: String(a['application']),
        schemata: schemata as JsonSchema,
        allow_breaking_changes: a['allow_breaking_changes'] === true,
        source: 'file',
        created_at: now,
        validator,
      });
    } catch (err) {
      errors.push(`${at}.schemata: ${isAmeboError(err) ? err.message : String(err)}`);
    }
  }
  for (const a of actions) if (isOwnAction(a.name)) errors.push(`actions.${a.name}: names starting with "amebo." are amebo's own events`);
  if (applications.some((a) => a.name === OWN_APPLICATION)) errors.push(`applications.${OWN_APPLICATION}: is amebo's own application (it owns amebo's events)`);
  const knownActions = new Map<string, JsonSchema>([...actions.map((a) => [a.name, a.schemata] as const), ...OWN_ACTION_OBJECTS.map((a) => [a.name, a.schemata] as const)]);

  const subscriptions: Subscription[] = [];
  for (const [name, s] of Object.entries((raw['subscriptions'] ?? {}) as Record<string, Raw>)) {
    const at = `subscriptions.${name}`;
    const appName = String(s['application']);
    const app = applications.find((a) => a.name === appName);
    if (!app) errors.push(`${at}.application: no application named "${appName}" is declared`);
    const action = s['action'] as string | string[];
    const specErrors = actionSpecErrors(action, `${at}.action`);
    errors.push(...specErrors);
    if (specErrors.length === 0) {
      actionEntries(action).forEach((entry, i) => {
        if (!isPattern(entry) && !knownActions.has(entry)) errors.push(`${at}.action${Array.isArray(action) ? `.${i}` : ''}: no action named "${entry}" is declared`);
      });
    }
    const handler = String(s['handler']);
    if (app) {
      const url = resolveHandler(handler, app.address);
      if (!url.ok) errors.push(`${at}.handler: ${url.error}`);
    }
    const policy = policyOf(s, delivery, at, errors);
    const control = controlOf(s, at, delivery, errors);
    if (control.ordering && server.log.engine === 'nats') errors.push(ORDERING_ON_NATS(at));
    if (control.filter && specErrors.length === 0) {
      const matches = actionMatcher(action);
      for (const [actionName, schema] of knownActions) {
        if (matches(actionName)) errors.push(...filterTypeErrors(control.filter, schema, `${at}.filter`).map((e) => `${e} (schema of ${actionName})`));
      }
    }
    const { max_inflight: _inflight, circuit: _circuit, ...retry } = policy as DeliverySettings;
    subscriptions.push({ name, application: appName, action, handler, source: 'file', created_at: now, ...retry, ...control });
  }

  if (errors.length > 0) return { ok: false, errors };
  const config: ResolvedConfig = deepFreeze({
    file: path,
    server,
    auth: { admin_token: adminToken },
    delivery,
    networks,
    retention,
    applications,
    actions,
    subscriptions,
    watch,
  });
  return { ok: true, config, warnings };
}

/** Per-key order needs the engine's help, which the JetStream engine does not give yet. */
export const ORDERING_ON_NATS = (at: string): string =>
  `${at}.ordering: per-key ordering is not available with server.log: nats (JetStream) yet; remove it, or keep the log in LMDB`;

function serverSettings(raw: Raw, dir: string, options: LoadOptions, errors: string[]): ServerSettings {
  const s = (raw['server'] ?? {}) as Raw;
  const listenText = options.listen ?? (s['listen'] as string | undefined) ?? DEFAULT_LISTEN;
  const listen = parseListen(listenText);
  if (!listen) errors.push(`${options.listen ? '--listen' : 'server.listen'}: "${listenText}" is not HOST:PORT`);
  const data = options.data !== undefined ? resolve(options.data) : typeof s['data'] === 'string' ? resolve(dir, s['data']) : resolve('data');
  return {
    listen: listen ?? { host: '127.0.0.1', port: 3310 },
    data,
    log: logChoice(options.log ?? (s['log'] as string | undefined) ?? 'lmdb', (s['nats'] ?? {}) as Raw, dir, options.log !== undefined ? '--log' : 'server.log', errors),
    durability: (s['durability'] as 'commit' | 'fsync' | undefined) ?? 'commit',
    max_body_bytes: parseSize((s['max_body'] as string | number | undefined) ?? '1mb')!,
    map_size_bytes: parseSize((s['map_size'] as string | number | undefined) ?? '1gb')!,
    max_depth: (s['max_depth'] as number | undefined) ?? 64,
    headers_timeout_ms: parseDuration((s['headers_timeout'] as string | number | undefined) ?? '10s')!,
    request_timeout_ms: parseDuration((s['request_timeout'] as string | number | undefined) ?? '30s')!,
    shutdown_timeout_ms: parseDuration((s['shutdown_timeout'] as string | number | undefined) ?? '10s')!,
    log_level: (s['log_level'] as string | undefined) ?? 'info',
  };
}

/** Reads `server.log` and `server.nats`. */
function logChoice(text: string, nats: Raw, dir: string, at: string, errors: string[]): LogChoice {
  const value = text.trim();
  if (value === 'lmdb') return { engine: 'lmdb' };
  const servers = value.split(',').map((u) => u.trim()).filter(Boolean);
  const bad = servers.filter((u) => !/^(nats|tls):\/\/[^\s/,]+(:\d{1,5})?\/?$/.test(u));
  if (servers.length === 0 || bad.length > 0) {
    errors.push(`${at}: "${value}" is neither lmdb nor a list of nats://HOST:PORT URLs`);
    return { engine: 'lmdb' };
  }
  const tls = (nats['tls'] ?? null) as Raw | null;
  const path = (p: unknown) => (typeof p === 'string' ? resolve(dir, p) : undefined);
  const replicas = nats['replicas'] as number | undefined;
  if (replicas !== undefined && replicas > servers.length && servers.length > 1) {
    // One URL may still reach a whole cluster; with several, more replicas than servers cannot be placed.
    errors.push(`server.nats.replicas: ${replicas} replicas need at least ${replicas} servers; server.log names ${servers.length}`);
  }
  return {
    engine: 'nats',
    servers,
    prefix: (nats['prefix'] as string | undefined) ?? 'amebo',
    replicas: replicas ?? null,
    user: nats['user'] as string | undefined,
    password: nats['password'] as string | undefined,
    token: nats['token'] as string | undefined,
    creds: path(nats['creds']),
    tls: tls === null ? null : { ca: path(tls['ca']), cert: path(tls['cert']), key: path(tls['key']) },
    connect_timeout_ms: parseDuration((nats['connect_timeout'] as string | number | undefined) ?? '5s')!,
    request_timeout_ms: parseDuration((nats['request_timeout'] as string | number | undefined) ?? '5s')!,
    publish_timeout_ms: parseDuration((nats['publish_timeout'] as string | number | undefined) ?? '10s')!,
    ack_wait_ms: parseDuration((nats['ack_wait'] as string | number | undefined) ?? '30s')!,
    max_pending: (nats['max_pending'] as number | undefined) ?? 1000,
  };
}

function retentionOf(raw: Raw | null, errors: string[]): RetentionPolicy | null {
  if (raw === null || (raw['max_age'] === undefined && raw['max_bytes'] === undefined)) return null;
  const interval = parseDuration((raw['interval'] as string | number | undefined) ?? '1m')!;
  if (interval < 100) errors.push('retention.interval: must be at least 100ms');
  return {
    max_age_ms: raw['max_age'] === undefined ? null : parseDuration(raw['max_age'] as string | number)!,
    max_bytes: raw['max_bytes'] === undefined ? null : parseSize(raw['max_bytes'] as string | number)!,
    interval_ms: interval,
  };
}

/** Reads the retry policy keys of `raw` over `base`. */
export function policyOf<T extends RetryPolicy>(raw: Raw, base: T, at: string, errors: string[]): T {
  const backoff = (raw['backoff'] ?? {}) as Raw;
  const out: Record<string, unknown> = { ...(base as object) };
  if (raw['timeout'] !== undefined) out['timeout_ms'] = parseDuration(raw['timeout'] as string | number);
  if (raw['max_retries'] !== undefined) out['max_retries'] = raw['max_retries'];
  if (raw['retry_4xx'] !== undefined) out['retry_4xx'] = raw['retry_4xx'];
  if (raw['concurrency'] !== undefined) out['concurrency'] = raw['concurrency'];
  if (raw['max_inflight'] !== undefined) out['max_inflight'] = raw['max_inflight'];
  if (backoff['initial'] !== undefined) out['backoff_initial_ms'] = parseDuration(backoff['initial'] as string | number);
  if (backoff['max'] !== undefined) out['backoff_max_ms'] = parseDuration(backoff['max'] as string | number);
  if (backoff['jitter'] !== undefined) out['backoff_jitter'] = backoff['jitter'];
  if ((out['timeout_ms'] as number) <= 0) errors.push(`${at}.timeout: must be longer than 0ms`);
  if ((out['backoff_initial_ms'] as number) > (out['backoff_max_ms'] as number)) {
    errors.push(`${at}.backoff.initial: must not be longer than backoff.max`);
  }
  return out as T;
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) {
      // Compiled validators are shared through the cache; freezing them is pointless.
      if (typeof v !== 'function') deepFreeze(v);
    }
  }
  return value;
}

/**
 * The routing and delivery-control keys of a subscription (`filter`, `headers`, `paused`, `circuit`,
 * `ordering`, `rate_limit`), read the same way from amebo.yaml and from an API body: each problem as
 * `path: message`, each value resolved to its domain type.
 */
import type { CircuitPolicy, OrderingPolicy, RateLimit, SubscriptionControl } from '../types.js';
import { parseDuration } from '../config/units.js';
import { filterErrors } from './filter.js';

/** The circuit breaker when a subscription says nothing: 10 failures in a row, then 30 s of quiet. */
export const DEFAULT_CIRCUIT: CircuitPolicy = Object.freeze({ failures: 10, cooldown_ms: 30_000 });

/** Headers amebo sets itself or signs: a subscription may not set them. */
const RESERVED = new Set(['content-type', 'content-length', 'host', 'user-agent', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'te', 'trailer']);
const RESERVED_PREFIXES = ['x-amebo-', 'webhook-'];
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_HEADERS = 32;

/**
 * Headers whose values are credentials: the API and `amebo config export` show their names, never
 * their values (Svix's "sensitive" headers). A name is sensitive when it is one of the standard
 * credential headers or mentions a key, token, secret, password, auth, session or signature.
 */
const SENSITIVE = /^(authorization|proxy-authorization|cookie)$|key|token|secret|passw|auth|session|signature|credential/i;

/** Whether a subscription header's value is a credential, never shown in a response or a log. */
export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE.test(name);
}

/** A subscription's headers as responses show them: the values of credential headers left out. */
export function visibleHeaders(headers: Readonly<Record<string, string>> | undefined): { headers: Record<string, string> | null; sensitive: string[] } {
  if (!headers) return { headers: null, sensitive: [] };
  const shown: Record<string, string> = {};
  const sensitive: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (isSensitiveHeader(name)) sensitive.push(name);
    else shown[name] = value;
  }
  return { headers: shown, sensitive };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function headersOf(raw: unknown, at: string, errors: string[]): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) return void errors.push(`${at}: must be a map of header names to values`);
  const out: Record<string, string> = {};
  const entries = Object.entries(raw);
  if (entries.length > MAX_HEADERS) errors.push(`${at}: at most ${MAX_HEADERS} headers`);
  for (const [name, value] of entries) {
    const here = `${at}.${name}`;
    const lower = name.toLowerCase();
    if (!TOKEN.test(name)) errors.push(`${here}: is not a valid header name`);
    else if (RESERVED.has(lower) || RESERVED_PREFIXES.some((p) => lower.startsWith(p))) {
      errors.push(`${here}: amebo sets this header itself (or signs it); a subscription cannot override it`);
    } else if (typeof value !== 'string') errors.push(`${here}: must be a string`);
    else if (/[\r\n\0]/.test(value) || value.length > 4096) errors.push(`${here}: must be one line of at most 4096 characters`);
    else out[name] = value;
  }
  return out;
}

function circuitOf(raw: unknown, base: CircuitPolicy | null, at: string, errors: string[]): CircuitPolicy | null {
  if (raw === undefined || raw === null) return base;
  if (raw === false || raw === 'off') return null;
  if (raw === true || raw === 'on') return base ?? DEFAULT_CIRCUIT;
  if (!isObject(raw)) return (errors.push(`${at}: must be {failures, cooldown}, or false to turn it off`), base);
  const out = { ...(base ?? DEFAULT_CIRCUIT) };
  for (const key of Object.keys(raw)) if (key !== 'failures' && key !== 'cooldown') errors.push(`${at}.${key}: unknown key; a circuit has failures and cooldown`);
  const f = raw['failures'];
  if (f !== undefined) {
    if (typeof f !== 'number' || !Number.isInteger(f) || f < 1 || f > 10_000) errors.push(`${at}.failures: must be a whole number from 1 to 10000`);
    else out.failures = f;
  }
  const c = raw['cooldown'];
  if (c !== undefined) {
    const ms = typeof c === 'string' || typeof c === 'number' ? parseDuration(c) : undefined;
    if (ms === undefined || ms <= 0) errors.push(`${at}.cooldown: must be a duration such as 30s or 5m`);
    else out.cooldown_ms = ms;
  }
  return out;
}

/** `50/s` or `600/m`. */
export function parseRate(text: string): RateLimit | undefined {
  const m = /^\s*(\d{1,7})\s*\/\s*(s|m)\s*$/.exec(text);
  if (!m) return undefined;
  const count = Number(m[1]);
  return count >= 1 ? { count, per_ms: m[2] === 's' ? 1000 : 60_000 } : undefined;
}

function orderingOf(raw: unknown, at: string, errors: string[]): OrderingPolicy | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (raw === 'strict') return 'strict';
  if (!isObject(raw) || typeof raw['key'] !== 'string' || Object.keys(raw).length !== 1) {
    return void errors.push(`${at}: must be "strict" or {key: /json/pointer}`);
  }
  const key = raw['key'];
  if (!/^(\/([^~/]|~[01])*)+$/.test(key)) return void errors.push(`${at}.key: must be a JSON pointer into the payload, such as /order_id`);
  return { key };
}

/** The control keys of a raw subscription (YAML or API body), under `at`. */
export function controlOf(raw: Readonly<Record<string, unknown>>, at: string, defaults: { readonly circuit: CircuitPolicy | null }, errors: string[]): SubscriptionControl {
  const out: { -readonly [K in keyof SubscriptionControl]: SubscriptionControl[K] } = { circuit: circuitOf(raw['circuit'], defaults.circuit, `${at}.circuit`, errors) };
  const filter = raw['filter'];
  if (filter !== undefined && filter !== null) {
    const problems = filterErrors(filter, `${at}.filter`);
    errors.push(...problems);
    if (problems.length === 0) out.filter = filter as Record<string, unknown>;
  }
  const headers = headersOf(raw['headers'], `${at}.headers`, errors);
  if (headers) out.headers = headers;
  const paused = raw['paused'];
  if (paused !== undefined && paused !== null) {
    if (typeof paused !== 'boolean') errors.push(`${at}.paused: must be true or false`);
    else if (paused) out.paused = true;
  }
  const ordering = orderingOf(raw['ordering'], `${at}.ordering`, errors);
  if (ordering) out.ordering = ordering;
  const rate = raw['rate_limit'];
  if (rate !== undefined && rate !== null) {
    const r = typeof rate === 'string' ? parseRate(rate) : undefined;
    if (!r) errors.push(`${at}.rate_limit: must be a rate such as 50/s or 600/m`);
    else out.rate_limit = r;
  }
  return out;
}

/** The value at a JSON pointer of a payload, or undefined. */
export function valueAt(payload: unknown, pointer: string): unknown {
  let here: unknown = payload;
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (here === null || typeof here !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(here, token)) return undefined;
    here = (here as Record<string, unknown>)[token];
  }
  return here;
}

/** The ordering key of a payload under a policy: events with equal keys are delivered in order. */
export function orderingKey(policy: OrderingPolicy, payload: unknown): string {
  if (policy === 'strict') return '';
  const v = valueAt(payload, policy.key);
  // Absent keys share one order; JSON text tells 1 from "1".
  return v === undefined ? '' : JSON.stringify(v);
}

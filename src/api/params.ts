/** Query-string and path parameter parsing with precise 400s. Bodies are checked against the OpenAPI document (validate.ts). */
import { amebo } from '../errors.js';
import type { Core } from '../amebo.js';
import type { GistId } from '../types.js';

export const MAX_PER_PAGE = 1000;
const MAX_PAGE = 1_000_000;

export function pageOf(url: URL): { page: number; per_page: number } {
  const page = intParam(url, 'page', 1, 1, MAX_PAGE);
  const per_page = intParam(url, 'per_page', 50, 1, MAX_PER_PAGE);
  return { page, per_page };
}

export function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw amebo('AMEBO_ERR_VALIDATION', `${name} must be a whole number from ${min} to ${max}`, { field: name });
  const n = Number(raw);
  if (n < min || n > max) throw amebo('AMEBO_ERR_VALIDATION', `${name} must be a whole number from ${min} to ${max}`, { field: name });
  return n;
}

/** An ISO 8601 time (or unix ms) → unix ms. */
export function timeParam(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isNaN(t)) return t;
  }
  throw amebo('AMEBO_ERR_VALIDATION', `${name} must be an ISO 8601 time such as 2026-01-31T12:00:00Z`, { field: name });
}

/** A gist id from a path segment, in the engine's form (a number on LMDB, a string on JetStream). */
export function gistParam(core: Pick<Core, 'parseGistId'>, value: string | undefined): GistId {
  const id = value === undefined ? undefined : core.parseGistId(value);
  if (id === undefined) throw amebo('AMEBO_ERR_NOT_FOUND', `no gist with id ${JSON.stringify(value ?? '')}`);
  return id;
}

/** A positive integer id from a path segment. */
export function idParam(value: string | undefined, what: string): number {
  if (value === undefined || !/^\d{1,15}$/.test(value) || Number(value) < 1) {
    throw amebo('AMEBO_ERR_NOT_FOUND', `no ${what} with id ${JSON.stringify(value ?? '')}`);
  }
  return Number(value);
}

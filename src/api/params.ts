/** Query-string and body field parsing with precise 400s. */
import { amebo } from '../errors.js';

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

/** A positive integer id from a path segment. */
export function idParam(value: string | undefined, what: string): number {
  if (value === undefined || !/^\d{1,15}$/.test(value) || Number(value) < 1) {
    throw amebo('AMEBO_ERR_NOT_FOUND', `no ${what} with id ${JSON.stringify(value ?? '')}`);
  }
  return Number(value);
}

/** The JSON body as an object, or a 400 naming what was expected. */
export function objectBody(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw amebo('AMEBO_ERR_VALIDATION', `the request body must be a JSON object: ${what}`);
  }
  return body as Record<string, unknown>;
}

export const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function nameField(body: Record<string, unknown>, field: string, required = true): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw amebo('AMEBO_ERR_VALIDATION', `"${field}" is required`, { field });
    return undefined;
  }
  if (typeof v !== 'string' || !NAME.test(v)) {
    throw amebo('AMEBO_ERR_VALIDATION', `"${field}" must be a name of letters, digits, ".", "_", ":" and "-" (1 to 128)`, { field });
  }
  return v;
}

export function stringField(body: Record<string, unknown>, field: string, opts: { required?: boolean; min?: number; max?: number } = {}): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (opts.required ?? true) throw amebo('AMEBO_ERR_VALIDATION', `"${field}" is required`, { field });
    return undefined;
  }
  const min = opts.min ?? 1;
  const max = opts.max ?? 2048;
  if (typeof v !== 'string' || v.length < min || v.length > max) {
    throw amebo('AMEBO_ERR_VALIDATION', `"${field}" must be a string of ${min} to ${max} characters`, { field });
  }
  return v;
}

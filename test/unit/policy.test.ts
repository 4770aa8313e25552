/** classify and backoff: the delivery policy, as pure functions with injected randomness. */
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/delivery/classify.js';
import { backoff, parseRetryAfter } from '../../src/delivery/backoff.js';

const policy = { backoff_initial_ms: 1000, backoff_max_ms: 60_000, backoff_jitter: 0.2 };

describe('classify', () => {
  it.each([
    [200, false, 'success'],
    [204, false, 'success'],
    [null, false, 'retry'],
    [408, false, 'retry'],
    [429, false, 'retry'],
    [500, false, 'retry'],
    [503, false, 'retry'],
    [301, false, 'retry'],
    [410, false, 'dead'],
    [410, true, 'dead'],
    [400, false, 'dead'],
    [404, false, 'dead'],
    [400, true, 'retry'],
    [422, true, 'retry'],
  ] as const)('status %s with retry_4xx=%s is %s', (status, retry4xx, expected) => {
    expect(classify({ status }, { retry_4xx: retry4xx })).toBe(expected);
  });
});

describe('backoff', () => {
  it('doubles from the initial delay without jitter', () => {
    const noJitter = { ...policy, backoff_jitter: 0 };
    expect([1, 2, 3, 4].map((n) => backoff(n, noJitter, null, () => 0.5))).toEqual([1000, 2000, 4000, 8000]);
  });

  it('caps at the maximum', () => {
    expect(backoff(30, { ...policy, backoff_jitter: 0 }, null, () => 0)).toBe(60_000);
  });

  it('randomises only the jitter share, downwards', () => {
    expect(backoff(1, policy, null, () => 0)).toBe(1000);
    expect(backoff(1, policy, null, () => 1)).toBe(800);
    expect(backoff(2, policy, null, () => 0.5)).toBe(1800);
  });

  it('honours Retry-After, capped at the maximum', () => {
    expect(backoff(1, policy, 5000, () => 0.5)).toBe(5000);
    expect(backoff(1, policy, 3_600_000, () => 0.5)).toBe(60_000);
  });

  it('parses Retry-After seconds and HTTP dates', () => {
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});

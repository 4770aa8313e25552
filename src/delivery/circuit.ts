/**
 * The circuit breaker, as pure functions of its state, the policy and the time: after `failures`
 * failed attempts in a row a subscription's circuit opens, no attempt is made for `cooldown`, then one
 * probe goes out; a success closes the circuit, a failure opens it again. Attempts not made while it
 * is open use up no retry (nothing is attempted).
 */
import type { CircuitPolicy } from '../types.js';

export type CircuitState =
  | { readonly state: 'closed'; readonly failures: number }
  | { readonly state: 'open'; readonly failures: number; readonly opened_at: number };

export const CLOSED: CircuitState = Object.freeze({ state: 'closed', failures: 0 });

/** What the circuit lets through now: attempts as usual, one probe, or nothing until `until`. */
export type Permit = { readonly kind: 'open' } | { readonly kind: 'probe' } | { readonly kind: 'wait'; readonly until: number };

export function permit(c: CircuitState, policy: CircuitPolicy | null, now: number): Permit {
  if (policy === null || c.state === 'closed') return { kind: 'open' };
  const until = c.opened_at + policy.cooldown_ms;
  return now >= until ? { kind: 'probe' } : { kind: 'wait', until };
}

/** An attempt's outcome as the circuit counts it: a working endpoint, a failing one, or neither. */
export type Health = 'up' | 'down' | 'neutral';

/**
 * Connection failures, timeouts, 5xx, 408 and 429 say the endpoint is down; any answer below 500
 * (a 2xx, or a 4xx refusing this payload) says it is up; a handler the network policy refuses was
 * never reached.
 */
export function healthOf(status: number | null, blocked: boolean): Health {
  if (blocked) return 'neutral';
  if (status === null || status >= 500 || status === 408 || status === 429) return 'down';
  return 'up';
}

/** The state after one attempt, and whether that opened or closed the circuit. */
export function after(c: CircuitState, health: Health, policy: CircuitPolicy | null, now: number): { next: CircuitState; change: 'opened' | 'closed' | null } {
  if (policy === null || health === 'neutral') return { next: c, change: null };
  if (health === 'up') return { next: CLOSED, change: c.state === 'open' ? 'closed' : null };
  const failures = c.failures + 1;
  if (c.state === 'open') return { next: { state: 'open', failures, opened_at: now }, change: null };
  if (failures >= policy.failures) return { next: { state: 'open', failures, opened_at: now }, change: 'opened' };
  return { next: { state: 'closed', failures }, change: null };
}

/**
 * How client verbs report failures on stderr, and which exit code they end with.
 */
import { isAmeboError, toAmeboError } from '../errors.js';
import { violationsOf } from '../client/errors.js';
import type { Violation } from '../client/types.js';

/** A schema violation as one line: `/email: must match format "email"`. */
export function violationLine(v: Violation): string {
  return `${v.pointer === '' ? '/' : v.pointer}: ${v.message}`;
}

/**
 * The stderr text for a failure: `amebo: message`, then one line per schema violation. Unknown
 * (non-registry) failures show their stack, since they are bugs.
 */
export function describeError(error: unknown): string {
  if (!isAmeboError(error)) {
    const e = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return `amebo: internal error: ${e}\n`;
  }
  const e = toAmeboError(error);
  const violations = violationsOf(e.details);
  const action = e.details?.['action'];
  // The daemon's message repeats the violations inline; they get a line each below instead.
  const head =
    violations.length > 0 && typeof action === 'string' ? `payload does not match the schema of ${action}` : e.message;
  const lines = [`amebo: ${head}`];
  for (const v of violations) lines.push(violationLine(v));
  return lines.join('\n') + '\n';
}

/** The exit code for a failure: the registry's (1 failed, 2 bad usage), 1 for anything unexpected. */
export function exitCodeOf(error: unknown): number {
  return isAmeboError(error) ? toAmeboError(error).exit : 1;
}

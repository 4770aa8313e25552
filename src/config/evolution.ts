/** Rejects a reload that would make an action's schema refuse payloads it accepted before. */
import { breakingChanges } from '../schema/compat.js';
import type { Snapshot } from './registry.js';
import type { ResolvedConfig } from './load.js';

/** `actions.NAME.schemata: change` for every breaking change not allowed by `allow_breaking_changes`. */
export function breakingReload(current: Snapshot, next: ResolvedConfig): string[] {
  const errors: string[] = [];
  for (const action of next.actions) {
    const before = current.actions.get(action.name);
    if (!before || action.allow_breaking_changes) continue;
    if (before.validator.hash === action.validator.hash) continue;
    for (const change of breakingChanges(before.schemata, action.schemata)) {
      errors.push(`actions.${action.name}.schemata: breaking change: ${change} (set allow_breaking_changes: true on the action to allow it)`);
    }
  }
  return errors;
}

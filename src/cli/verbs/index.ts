/**
 * The client verbs' registrations. Each entry adds one commander command whose action lazily imports
 * its module. Keep one line per verb.
 */
import type { Command } from 'commander';

export type VerbRegistration = (program: Command, setCode: (code: number) => void) => void;

export const clientVerbRegistrations: VerbRegistration[] = [];

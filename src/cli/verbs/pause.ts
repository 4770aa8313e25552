/**
 * `amebo pause SUBSCRIPTION` and `amebo resume SUBSCRIPTION`: stop and restart a subscription's
 * deliveries. While paused, gists are still made, nothing is sent and no retry is used up; on resume
 * everything it holds is delivered.
 */
import type { ClientOptions } from '../client-options.js';
import type { WireSubscription } from '../../client/types.js';
import { out } from '../../format/io.js';
import { withClient } from './shared.js';

async function report(s: WireSubscription, json: boolean | undefined): Promise<void> {
  if (json) return out(`${JSON.stringify(s)}\n`);
  const by = s.paused_by === 'config' ? ' (by amebo.yaml: paused: true)' : '';
  const circuit = s.circuit.state === 'open' || s.circuit.state === 'half_open' ? `; circuit ${s.circuit.state.replace('_', '-')} after ${s.circuit.failures} failures` : '';
  await out(`${s.subscription}: ${s.paused ? `paused${by}` : 'delivering'}${circuit}\n`);
}

export async function pause(name: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    await report(await client.pauseSubscription(name), opts.json);
    return 0;
  });
}

export async function resume(name: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    await report(await client.resumeSubscription(name), opts.json);
    return 0;
  });
}

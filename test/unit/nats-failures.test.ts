/** Which JetStream failures the engine retries (an outage) and which it answers at once. */
import { describe, expect, it } from 'vitest';
import { isTransient, isWrongLastSequence, retrying } from '../../src/log/nats/failures.js';
import { amebo, isAmeboError } from '../../src/errors.js';

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('JetStream failures', () => {
  it('retries an election and a lost connection, never a refused compare-and-swap', () => {
    expect(isTransient(named('TimeoutError', 'timeout'))).toBe(true);
    expect(isTransient(named('JetStreamNotEnabled', 'jetstream is not enabled'))).toBe(true);
    expect(isTransient(named('JetStreamApiError', 'JetStream system temporarily unavailable'))).toBe(true);
    // Its message holds a sequence number that looks like a status: it is still an answer.
    const cas = named('JetStreamApiError', 'wrong last sequence: 503');
    expect(isWrongLastSequence(cas)).toBe(true);
    expect(isTransient(cas)).toBe(false);
    expect(isTransient(amebo('AMEBO_ERR_CONFLICT'))).toBe(false);
  });

  it('gives up after its budget with a 503 of the registry, and passes answers through at once', async () => {
    let tries = 0;
    const err = await retrying('a write', 300, async () => {
      tries++;
      throw named('TimeoutError', 'timeout');
    }).catch((e: unknown) => e);
    expect(isAmeboError(err, 'AMEBO_ERR_LOG_UNAVAILABLE')).toBe(true);
    expect(tries).toBeGreaterThan(1);
    let once = 0;
    const refused = await retrying('a write', 5_000, async () => {
      once++;
      throw named('JetStreamApiError', 'wrong last sequence: 12');
    }).catch((e: unknown) => e);
    expect(once).toBe(1);
    expect(isWrongLastSequence(refused)).toBe(true);
  });

  it('gives up on a try that never settles and tries again, so nothing hangs for ever', async () => {
    let tries = 0;
    const value = await retrying(
      'a write',
      5_000,
      () => {
        tries++;
        // The first request is lost with its server: it never answers.
        return tries === 1 ? new Promise<string>(() => undefined) : Promise.resolve('stored');
      },
      50,
    );
    expect(value).toBe('stored');
    expect(tries).toBe(2);
  });
});

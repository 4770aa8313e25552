/**
 * Retention runs in the background: every `interval` it asks the engine to prune what the policy
 * allows. The engine decides what may go (never an event with an undelivered or dead gist); this
 * runner only keeps time, shares a pass in progress, and logs what each pass kept and why.
 */
import type { Logger } from 'pino';
import type { Clock, Timer } from '../types.js';
import type { LogEngine, PruneResult, RetentionPolicy } from './contract.js';

/** How often a daemon without a retention policy looks again (a reload may switch one on). */
const IDLE_MS = 10_000;

export class Retention {
  #timer: Timer | null = null;
  #running: Promise<PruneResult> | null = null;
  #closed = false;

  constructor(
    private readonly engine: LogEngine,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly policy: () => RetentionPolicy | null,
  ) {}

  start(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    const p = this.policy();
    this.#timer = this.clock.setTimeout(() => {
      if (p === null) return this.#schedule();
      void this.runOnce()
        .catch((err: unknown) => this.logger.error({ err }, 'retention run failed; it will try again'))
        .finally(() => this.#schedule());
    }, p?.interval_ms ?? IDLE_MS);
    this.#timer.unref?.();
  }

  /** One pruning pass. Concurrent calls share the pass in progress. */
  runOnce(): Promise<PruneResult> {
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) this.clock.clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  async #run(): Promise<PruneResult> {
    const p = this.policy();
    if (p === null) return { pruned: 0, kept: 0 };
    const result = await this.engine.prune(p, this.clock.now());
    if (result.pruned > 0 || result.kept > 0) {
      this.logger.info(
        { pruned: result.pruned, kept_undelivered: result.kept },
        result.kept > 0 ? 'retention pruned events; some old events are kept because they have undelivered or dead gists (replay them)' : 'retention pruned events',
      );
    }
    return result;
  }
}

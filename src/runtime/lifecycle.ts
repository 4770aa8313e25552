/**
 * Signals for the daemon: SIGTERM and SIGINT drain and close; a second one forces the exit; SIGHUP
 * reloads the config. Resolves with the exit code once the daemon has closed.
 */
import type { Logger } from 'pino';

export interface LifecycleHandlers {
  readonly logger: Logger;
  reload(): Promise<unknown>;
  shutdown(): Promise<void>;
}

export function runUntilSignal(handlers: LifecycleHandlers): Promise<number> {
  const { logger } = handlers;
  return new Promise((resolve) => {
    let stopping = false;
    const onHup = () => {
      logger.info('SIGHUP: reloading the config');
      handlers.reload().catch((err: unknown) => logger.error({ err }, 'reload failed'));
    };
    const onStop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now without draining');
        logger.flush();
        // The only forced exit in amebo: the operator asked twice.
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down: draining in-flight deliveries');
      handlers.shutdown().then(
        () => finish(0),
        (err: unknown) => {
          logger.error({ err }, 'error during shutdown');
          finish(1);
        },
      );
    };
    const finish = (code: number) => {
      process.off('SIGHUP', onHup);
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
      resolve(code);
    };
    process.on('SIGHUP', onHup);
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  });
}

/**
 * lmdb-js rejects an internal promise of its own when a commit fails (a full disk, for instance) and
 * nothing can await it. The failure itself reaches the writer that asked for the commit, which answers
 * 507; this guard keeps that internal echo from taking the daemon down. Any other unhandled rejection
 * is a bug and still crashes the process (at-least-once delivery makes the restart safe).
 */
export function guardStorageRejections(logger: Logger): () => void {
  const onRejection = (reason: unknown) => {
    if (reason instanceof Error && reason.message.startsWith('Commit failed') && 'commitError' in reason) {
      const commitError = (reason as { commitError?: Promise<unknown> }).commitError;
      commitError?.catch(() => undefined);
      logger.warn({ err: reason.message }, 'an LMDB commit failed; the writes that asked for it were answered with an error');
      return;
    }
    throw reason;
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}

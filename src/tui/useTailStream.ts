/**
 * Subscribes the TUI to the delivery stream: messages go through a batcher so the state (and the
 * screen) changes at most once per interval, however fast deliveries arrive.
 */
import { useEffect } from 'react';
import type { StreamMessage, StreamStatus } from '../client/stream.js';
import { Batcher } from './core/batcher.js';
import type { TailAction } from './core/tail-state.js';

/** Handlers the opener must call. */
export interface StreamHandlers {
  readonly onMessage: (message: StreamMessage) => void;
  readonly onStatus: (status: StreamStatus) => void;
}

/** Opens the stream (normally `openStream` on the daemon's client) and returns how to close it. */
export type StreamOpener = (handlers: StreamHandlers) => { close(): Promise<void> };

/** Keeps the stream open while the component is mounted. */
export function useTailStream(open: StreamOpener, dispatch: (action: TailAction) => void, intervalMs = 100): void {
  useEffect(() => {
    const batcher = new Batcher<StreamMessage>((messages, dropped) => dispatch({ type: 'messages', messages, dropped }), {
      intervalMs,
    });
    const handle = open({
      onMessage: (m) => batcher.push(m),
      onStatus: (status) => dispatch({ type: 'connection', status }),
    });
    return () => {
      batcher.close();
      void handle.close();
    };
  }, [open, dispatch, intervalMs]);
}

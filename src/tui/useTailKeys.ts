/**
 * Turns key presses into state changes and requests, through the pure `interpretKey`.
 */
import { useRef } from 'react';
import { useApp, useInput } from 'ink';
import { openDetail, replay, type TailClient } from './core/commands.js';
import { interpretKey, splitKeys, type KeyPress } from './core/keys.js';
import { tailReducer, type TailAction, type TailState } from './core/tail-state.js';

/** Handles the keyboard for `amebo tail`. `pageSize` is the list height, for page up/down. */
export function useTailKeys(state: TailState, dispatch: (action: TailAction) => void, client: TailClient, pageSize: number): void {
  const { exit } = useApp();
  // The handler reads the latest state without re-subscribing to stdin on every frame.
  const latest = useRef(state);
  latest.current = state;
  // Keys typed faster than a frame (a paste, `/order`) must each see the state the previous one left,
  // so key actions are applied to the ref at once as well as dispatched.
  const apply = (action: TailAction): void => {
    latest.current = tailReducer(latest.current, action);
    dispatch(action);
  };
  const handle = (input: string, key: KeyPress): void => {
    const s = latest.current;
    const intent = interpretKey(s, input, key, pageSize);
    if (s.notice !== null && intent.kind !== 'none') apply({ type: 'notice', notice: null });
    switch (intent.kind) {
      case 'none':
        return;
      case 'dispatch':
        apply(intent.action);
        return;
      case 'open-detail':
        void openDetail(client, intent.gistId, dispatch);
        return;
      case 'replay':
        void replay(client, intent.gistId, dispatch, s.detail !== null);
        return;
      case 'quit':
        exit();
        return;
    }
  };
  useInput((input, key) => {
    for (const [i, k] of splitKeys(input, key)) handle(i, k);
  });
}

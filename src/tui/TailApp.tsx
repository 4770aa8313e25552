/**
 * `amebo tail`'s screen: header, the live list (or one gist's attempts) and the footer. State lives in
 * the pure reducer; this component only wires hooks to it and lays it out.
 */
import { useEffect, useMemo, useReducer } from 'react';
import { Box, useApp, useWindowSize } from 'ink';
import { initialTailState, tailReducer, visibleRows } from './core/tail-state.js';
import type { TailClient } from './core/commands.js';
import { DeliveryList } from './DeliveryList.js';
import { Footer } from './Footer.js';
import { GistAttempts } from './GistAttempts.js';
import { Header } from './Header.js';
import { useTailKeys } from './useTailKeys.js';
import { useTailStream, type StreamOpener } from './useTailStream.js';

/** Props of the app. */
export interface TailAppProps {
  /** Opens the delivery stream. Keep it stable (the stream reopens when it changes). */
  readonly openStream: StreamOpener;
  /** Fetches and replays gists. */
  readonly client: TailClient;
  /** Shown in the header. */
  readonly url: string;
  /** Rows kept in memory (the ring). */
  readonly capacity?: number | undefined;
  /** Frame interval in ms (100 = 10 frames/s). */
  readonly frameMs?: number | undefined;
  /** Starting filter and failures toggle. */
  readonly filter?: string | undefined;
  readonly failuresOnly?: boolean | undefined;
  /** Screen size; defaults to the terminal's. */
  readonly width?: number | undefined;
  readonly height?: number | undefined;
}

/** Lines used by everything but the list: two header lines, the list heading, two footer lines. */
const CHROME = 5;

/** The `amebo tail` app. */
export function TailApp(props: TailAppProps) {
  const [state, dispatch] = useReducer(
    tailReducer,
    { capacity: props.capacity, filter: props.filter, failuresOnly: props.failuresOnly },
    (o) => initialTailState({ capacity: o.capacity ?? 1_000, filter: o.filter ?? '', failuresOnly: o.failuresOnly ?? false }),
  );
  const size = useWindowSize();
  const width = props.width ?? size.columns;
  // One line short of the terminal, so Ink never has to scroll a full screen.
  const height = props.height ?? Math.max(CHROME + 3, size.rows - 1);
  const listHeight = Math.max(3, height - CHROME);

  useTailStream(props.openStream, dispatch, props.frameMs ?? 100);
  const { exit } = useApp();
  const { state: link, connects, error } = state.connection;
  useEffect(() => {
    // A stream that never connected and gave up (wrong URL, refused token) ends the app with its error.
    if (link === 'closed' && connects === 0 && error !== undefined) exit(error);
  }, [link, connects, error, exit]);
  useTailKeys(state, dispatch, props.client, listHeight);

  const rows = useMemo(() => visibleRows(state), [state.frozen, state.rows, state.filter, state.failuresOnly]);
  const empty =
    state.rows.length === 0
      ? 'waiting for deliveries…'
      : `no deliveries match${state.filter ? ` "${state.filter}"` : ''}${state.failuresOnly ? ' (failures only)' : ''}`;

  return (
    <Box flexDirection="column" width={width} height={height}>
      <Header state={state} url={props.url} />
      {state.detail !== null ? (
        <GistAttempts detail={state.detail} height={listHeight} />
      ) : (
        <DeliveryList rows={rows} selectedKey={state.selectedKey} width={width} height={listHeight} emptyText={empty} />
      )}
      <Box flexGrow={1} />
      <Footer state={state} />
    </Box>
  );
}

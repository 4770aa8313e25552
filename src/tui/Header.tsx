/**
 * The header lines of `amebo tail`: where we are connected and in which mode, then the daemon's rates,
 * backlog and the failures seen, then (only when there are any) the subscriptions that need attention:
 * circuits open or probing, and paused subscriptions.
 */
import { Box, Text } from 'ink';
import type { TailState } from './core/tail-state.js';
import { formatRate } from './core/row-format.js';

/** Props of the header. */
export interface HeaderProps {
  readonly state: TailState;
  readonly url: string;
}

function Connection({ state }: { readonly state: TailState['connection'] }) {
  switch (state.state) {
    case 'open':
      return <Text color="green">● live</Text>;
    case 'connecting':
      return <Text color="yellow">○ connecting…</Text>;
    case 'retrying':
      return <Text color="yellow">○ reconnecting… {state.message ? `(${state.message})` : ''}</Text>;
    case 'closed':
      return <Text color="red">✕ disconnected {state.message ? `(${state.message})` : ''}</Text>;
  }
}

/** `circuit open: billing (3 failures, probe 12:00:31)  paused: emails (api)`, or nothing. */
function Attention({ stats }: { readonly stats: TailState['stats'] }) {
  const entries = Object.entries(stats?.subscriptions ?? {});
  if (entries.length === 0) return null;
  const open = entries.filter(([, s]) => s.circuit.state === 'open');
  const probing = entries.filter(([, s]) => s.circuit.state === 'half_open');
  const paused = entries.filter(([, s]) => s.paused);
  const clock = (iso: string | null): string => (iso ? iso.slice(11, 19) : '?');
  return (
    <Text wrap="truncate-end">
      {open.length > 0 ? (
        <Text color="red" bold>
          {`circuit open: ${open.map(([name, s]) => `${name} (${s.circuit.failures} failures, probe ${clock(s.circuit.probe_at)})`).join(', ')}  `}
        </Text>
      ) : null}
      {probing.length > 0 ? <Text color="yellow">{`circuit half-open: ${probing.map(([name]) => name).join(', ')}  `}</Text> : null}
      {paused.length > 0 ? <Text color="magenta">{`paused: ${paused.map(([name, s]) => `${name} (${s.paused_by ?? '?'})`).join(', ')}`}</Text> : null}
    </Text>
  );
}

/** The header. */
export function Header({ state, url }: HeaderProps) {
  const s = state.stats;
  const fmt = (n: number): string => n.toLocaleString('en-US');
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>amebo tail</Text>
        <Text dimColor> {url} </Text>
        <Connection state={state.connection} />
        {state.frozen !== null ? <Text color="magenta" bold>{`  ❚❚ paused (+${fmt(state.missedWhilePaused)} new)`}</Text> : null}
        {state.failuresOnly ? <Text color="red">{'  failures only'}</Text> : null}
        {state.filter !== '' || state.filterEditing ? <Text color="cyan">{`  filter: ${state.filter}`}</Text> : null}
      </Text>
      <Text wrap="truncate-end">
        {'publish '}
        <Text bold>{formatRate(s?.published_per_s)}/s</Text>
        {'  deliver '}
        <Text bold color="green">
          {formatRate(s?.delivered_per_s)}/s
        </Text>
        {'  fail '}
        <Text bold color={s && s.failed_per_s > 0 ? 'red' : undefined}>
          {formatRate(s?.failed_per_s)}/s
        </Text>
        {'  backlog '}
        <Text bold>{s ? fmt(s.backlog) : '-'}</Text>
        {'  inflight '}
        <Text bold>{s ? fmt(s.inflight) : '-'}</Text>
        {'  failures seen '}
        <Text bold color={state.totals.failures > 0 ? 'red' : undefined}>
          {fmt(state.totals.failures)}
        </Text>
        <Text dimColor>{`  (${fmt(state.totals.deliveries)} deliveries)`}</Text>
      </Text>
      <Attention stats={s} />
    </Box>
  );
}

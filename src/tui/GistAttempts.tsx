/**
 * The attempts view of one gist (enter on a row): its state and every attempt with time, status,
 * duration, outcome, error and the head of the response.
 */
import { Box, Text } from 'ink';
import { attemptsTable } from '../format/resources.js';
import type { DetailView } from './core/tail-state.js';
import { stateColor } from './core/row-format.js';

/** Props of the attempts view. */
export interface GistAttemptsProps {
  readonly detail: DetailView;
  readonly height: number;
}

/** The attempts view. Shows the newest attempts that fit. */
export function GistAttempts({ detail, height }: GistAttemptsProps) {
  if (detail.phase === 'loading') return <Text dimColor>loading gist {detail.gistId}…</Text>;
  if (detail.phase === 'error') return <Text color="red">gist {detail.gistId}: {detail.message}</Text>;
  const g = detail.gist;
  const attempts = g.attempts ?? [];
  const lines = attempts.length === 0 ? ['no attempts yet'] : attemptsTable(attempts).trimEnd().split('\n');
  // Keep the heading, then as many of the newest attempts as fit.
  const room = Math.max(1, height - 3);
  const body = lines.length > room ? [lines[0] as string, ...lines.slice(lines.length - (room - 1))] : lines;
  return (
    <Box flexDirection="column" height={height + 1}>
      <Text wrap="truncate-end">
        <Text bold>gist {g.id}</Text> event {g.event_id} · {g.action} → {g.subscription} ·{' '}
        <Text color={stateColor(g.state)} bold>
          {g.state}
        </Text>{' '}
        · {g.attempt_count} attempts · {g.replays} replays
        {g.next_attempt_at ? ` · next ${g.next_attempt_at}` : ''}
      </Text>
      {g.last_error ? (
        <Text color="red" wrap="truncate-end">
          last error: {g.last_error}
        </Text>
      ) : null}
      <Text> </Text>
      {body.map((line, i) => (
        <Text key={i} bold={i === 0} wrap="truncate-end">
          {line}
        </Text>
      ))}
    </Box>
  );
}

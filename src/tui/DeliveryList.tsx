/**
 * The live list: a heading and the window of rows that fits, kept around the selection.
 */
import { Box, Text } from 'ink';
import { headingCells, rowLayout } from './core/row-format.js';
import { windowStart, type TailRow } from './core/tail-state.js';
import { DeliveryRow } from './DeliveryRow.js';

/** Props of the list. */
export interface DeliveryListProps {
  readonly rows: readonly TailRow[];
  readonly selectedKey: number | null;
  readonly width: number;
  readonly height: number;
  readonly emptyText: string;
}

/** The list of deliveries, newest at the top. */
export function DeliveryList({ rows, selectedKey, width, height, emptyText }: DeliveryListProps) {
  const layout = rowLayout(width);
  const h = headingCells(layout);
  const selectedIndex = selectedKey === null ? -1 : rows.findIndex((r) => r.key === selectedKey);
  const start = windowStart(rows.length, selectedIndex, height);
  const shown = rows.slice(start, start + height);
  return (
    <Box flexDirection="column" height={height + 1}>
      <Text bold wrap="truncate-end">
        {' '}
        {h.time} {h.event} {h.action} {h.subscription} {h.attempt} {h.status} {h.latency} {h.state}
      </Text>
      {shown.length === 0 ? <Text dimColor>{emptyText}</Text> : null}
      {shown.map((row) => (
        <DeliveryRow key={row.key} row={row} layout={layout} selected={row.key === selectedKey} />
      ))}
    </Box>
  );
}

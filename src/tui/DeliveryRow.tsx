/**
 * One delivery in the live list, coloured by state; the selected row is shown inverse.
 */
import { memo } from 'react';
import { Text } from 'ink';
import type { TailRow } from './core/tail-state.js';
import { rowCells, stateColor, statusColor, type RowLayout } from './core/row-format.js';

/** Props of a row. */
export interface DeliveryRowProps {
  readonly row: TailRow;
  readonly layout: RowLayout;
  readonly selected: boolean;
}

/** A delivery row. Memoised: rows do not change once received. */
export const DeliveryRow = memo(function DeliveryRow({ row, layout, selected }: DeliveryRowProps) {
  const c = rowCells(row, layout);
  return (
    <Text wrap="truncate-end" inverse={selected}>
      {selected ? '›' : ' '}
      <Text dimColor={!selected}>{c.time}</Text> {c.event} {c.action} {c.subscription} {c.attempt}{' '}
      <Text color={statusColor(row.status)}>{c.status}</Text> {c.latency}{' '}
      <Text color={stateColor(row.state)} bold={row.state === 'dead'}>
        {c.state}
      </Text>
    </Text>
  );
});

/**
 * The footer: the filter being typed, else the last notice, and the keys.
 */
import { Box, Text } from 'ink';
import { KEY_HELP } from './core/keys.js';
import type { TailState } from './core/tail-state.js';

/** Props of the footer. */
export interface FooterProps {
  readonly state: TailState;
}

/** The footer. */
export function Footer({ state }: FooterProps) {
  let line;
  if (state.filterEditing) {
    line = (
      <Text>
        <Text color="cyan">filter (action or subscription): </Text>
        {state.filter}
        <Text inverse> </Text>
        <Text dimColor>{'  enter keep · esc clear'}</Text>
      </Text>
    );
  } else if (state.notice) {
    line = <Text color={state.notice.tone === 'error' ? 'red' : 'cyan'}>{state.notice.text}</Text>;
  } else {
    line = <Text> </Text>;
  }
  const help = state.detail !== null ? 'esc back  r replay  q quit' : KEY_HELP;
  return (
    <Box flexDirection="column">
      {line}
      <Text dimColor wrap="truncate-end">
        {help}
      </Text>
    </Box>
  );
}

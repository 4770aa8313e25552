/**
 * Mounts the full-screen `amebo tail` app on the terminal and resolves when the user quits.
 * Imported lazily by the tail verb, so other verbs never load Ink or React.
 */
import { createElement } from 'react';
import { render } from 'ink';
import { TailApp, type TailAppProps } from './TailApp.js';

/** Renders the TUI in the alternate screen at no more than 10 frames/s. */
export async function renderTail(props: TailAppProps): Promise<void> {
  const app = render(createElement(TailApp, props), {
    alternateScreen: true,
    maxFps: 10,
    exitOnCtrlC: false,
    patchConsole: true,
    incrementalRendering: true,
  });
  await app.waitUntilExit();
}

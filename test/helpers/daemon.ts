/**
 * A real amebo in-process: the core over a temp LMDB data dir, the node:http API on port 0, and
 * optionally the config watcher. Logs are captured (not printed) so tests can grep them. Every answer
 * it sends is checked against the OpenAPI document, and `close()` fails the test if one did not conform.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createAmebo, type Core } from '../../src/amebo.js';
import type { Clock } from '../../src/types.js';
import { createHttpServer } from '../../src/api/server.js';
import { watchConfig, type ConfigWatcher } from '../../src/config/watch.js';
import { tmpDir } from './tmp.js';
import { watchResponses } from './openapi.js';

export interface TestDaemon {
  readonly url: string;
  readonly core: Core;
  readonly dir: string;
  readonly dataDir: string;
  readonly configFile: string | null;
  /** Every log line, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** Raw log text, for greps (e.g. that no secret is ever logged). */
  logText(): string;
  /** JSON request helper against this daemon. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  /** Answers so far that the OpenAPI document does not describe. */
  readonly nonconforming: readonly string[];
  /** The routes the HTTP server serves. */
  readonly routes: ReadonlyArray<{ readonly method: string; readonly pattern: string }>;
  /** Closes everything, then throws if any answer did not conform to the OpenAPI document. */
  close(): Promise<void>;
}

export interface DaemonOptions {
  /** amebo.yaml text; omitted → no config file. */
  readonly yaml?: string;
  /** Extra files next to the config (schema files). */
  readonly files?: Readonly<Record<string, string>>;
  readonly env?: NodeJS.ProcessEnv;
  /** Reuse a data dir (restart tests). */
  readonly dataDir?: string;
  /** Reuse a config dir (restart tests). */
  readonly dir?: string;
  readonly watch?: boolean;
  readonly random?: () => number;
  /** Time and timers of the daemon (a FakeClock for tests of policy over time). */
  readonly clock?: Clock;
}

export async function startDaemon(options: DaemonOptions = {}): Promise<TestDaemon> {
  const dir = options.dir ?? tmpDir();
  const dataDir = options.dataDir ?? join(dir, 'data');
  let configFile: string | null = null;
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text);
  if (options.yaml !== undefined) {
    configFile = join(dir, 'amebo.yaml');
    writeFileSync(configFile, options.yaml);
  }
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const core = await createAmebo({
    configFile,
    listen: '127.0.0.1:0',
    data: dataDir,
    env: { ...options.env },
    logDestination: sink,
    logLevel: 'debug',
    random: options.random,
    clock: options.clock,
  });
  const http = createHttpServer(core);
  const nonconforming = watchResponses(http.server);
  const { url } = await http.listen();
  let watcher: ConfigWatcher | null = null;
  if (options.watch) {
    watcher = watchConfig(core);
    await watcher.ready;
  }
  let closed: Promise<void> | null = null;
  return {
    url,
    core,
    dir,
    dataDir,
    configFile,
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join('\n'),
    nonconforming,
    routes: http.routes,
    async request(method, path, body, headers = {}) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    close() {
      closed ??= (async () => {
        await watcher?.close();
        await http.close();
        await core.close();
        if (nonconforming.length > 0) {
          throw new Error(`answers that do not conform to the OpenAPI document (src/api/openapi/):\n${nonconforming.join('\n')}`);
        }
      })();
      return closed;
    },
  };
}

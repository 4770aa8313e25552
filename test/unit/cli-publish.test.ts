/**
 * `amebo publish` NDJSON batching, seen from a scripted server: chunk sizes, order, progress on a
 * terminal, and the report when a later chunk is rejected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './cli-run.js';
import { sendJson, startStub, type Stub } from './cli-stub.js';

let stub: Stub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

/** A batch endpoint that stores everything, numbering events from 1. */
function acceptAll(): Parameters<typeof startStub>[0] {
  let id = 0;
  return (req, res) => {
    const events = (req.json as { events: { action: string; payload: unknown }[] }).events;
    sendJson(res, 201, { data: events.map((e) => ({ status: 201, data: { id: ++id, action: e.action, payload: e.payload, deduper: null, timestamp: 't', deliver_after: null } })) });
  };
}

const ndjson = (n: number): string => Array.from({ length: n }, (_, i) => JSON.stringify({ n: i + 1 })).join('\n') + '\n';

describe('amebo publish with NDJSON', () => {
  it('sends chunks of --batch-size through POST /v1/events/batch, in input order', async () => {
    stub = await startStub(acceptAll());
    const r = await runCli(['publish', 'a.b', '-', '--url', stub.url, '--delay', '2s'], { stdin: ndjson(1_201) });
    expect(r.code).toBe(0);
    const sizes = stub.requests.map((q) => (q.json as { events: unknown[] }).events.length);
    expect(sizes).toEqual([500, 500, 201]);
    expect(stub.requests.every((q) => q.method === 'POST' && q.url === '/v1/events/batch')).toBe(true);
    const all = stub.requests.flatMap((q) => (q.json as { events: { payload: { n: number }; sleep_until: number }[] }).events);
    expect(all.map((e) => e.payload.n)).toEqual(Array.from({ length: 1_201 }, (_, i) => i + 1));
    expect(all.every((e) => e.sleep_until === 2)).toBe(true);
    expect(r.stdout).toMatch(/^published 1,201 events \(ids 1-1201\)/);
    // Not a terminal: no progress line.
    expect(r.stderr).toBe('');
  });

  it('shows a progress line on a terminal and clears it at the end', async () => {
    stub = await startStub(acceptAll());
    const r = await runCli(['publish', 'a.b', '-', '--url', stub.url, '--batch-size', '100'], { stdin: ndjson(300), stderrTTY: true });
    expect(r.code).toBe(0);
    const updates = r.stderr.split('\r\x1b[K').filter(Boolean);
    expect(updates.map((u) => u.replace(/ \(.*\)$/, ''))).toEqual(['published 100 events', 'published 200 events', 'published 300 events']);
    expect(r.stderr.endsWith('\r\x1b[K')).toBe(true);
  });

  it('counts deduper repeats apart', async () => {
    stub = await startStub((req, res) => {
      const events = (req.json as { events: unknown[] }).events;
      sendJson(res, 201, { data: events.map((_, i) => ({ status: i === 0 ? 200 : 201, data: { id: i + 1 } })) });
    });
    const r = await runCli(['publish', '--ndjson', '--url', stub.url], {
      stdin: '{"action":"a","payload":{},"deduper":"k"}\n{"action":"a","payload":{}}\n',
    });
    expect(r.stdout).toMatch(/^published 1 event \(ids 1-2\), 1 deduper repeat in/);
  });

  it('lists the rejected lines of a refused chunk, at most 20, and what was stored before it', async () => {
    let calls = 0;
    stub = await startStub((req, res) => {
      calls++;
      const events = (req.json as { events: unknown[] }).events;
      if (calls === 1) return acceptAll()(req, res);
      const results = events.map((_, i) =>
        i % 2 === 1
          ? { status: 422, error: 'bad', error_code: 'AMEBO_ERR_SCHEMA_INVALID', details: { violations: [{ pointer: '/n', keyword: 'type', message: 'must be string' }] } }
          : { status: 400, error: 'not stored: another event in the batch was rejected', error_code: 'AMEBO_ERR_VALIDATION' },
      );
      sendJson(res, 422, { error: 'batch rejected', code: 422, error_code: 'AMEBO_ERR_SCHEMA_INVALID', details: { results } });
    });
    const r = await runCli(['publish', 'a.b', '-', '--url', stub.url, '--batch-size', '50'], { stdin: ndjson(120) });
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('amebo: batch rejected');
    expect(lines[1]).toBe('line 52: /n: must be string');
    expect(lines.filter((l) => l.startsWith('line '))).toHaveLength(20);
    expect(lines).toContain('… and 5 more rejected lines');
    expect(lines.at(-1)).toBe('50 events before line 51 were published; lines 51-100 and after were not');
    expect(calls).toBe(2);
  });

  it('refuses --deduper with several events and an inline payload with --ndjson (exit 2)', async () => {
    stub = await startStub(acceptAll());
    const many = await runCli(['publish', 'a.b', '-', '--deduper', 'k', '--url', stub.url], { stdin: ndjson(2) });
    expect(many.code).toBe(2);
    expect(many.stderr).toMatch(/--deduper names one event/);
    const inline = await runCli(['publish', 'a.b', '{}', '--ndjson', '--url', stub.url]);
    expect(inline.code).toBe(2);
    expect(stub.requests).toHaveLength(0);
  });
});

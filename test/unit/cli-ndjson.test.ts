import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chunked, readLines } from '../../src/format/ndjson.js';
import { detectSource, lineToEvent } from '../../src/cli/verbs/publish-input.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const bytes = (...chunks: string[]) => Readable.from(chunks.map((c) => Buffer.from(c)));

describe('readLines', () => {
  it('splits across chunk boundaries, strips CR, skips blank lines and keeps line numbers', async () => {
    const lines = await collect(readLines(bytes('{"a"', ':1}\r\n\n{"b":2}\n  \n{"c"', ':3}')));
    expect(lines).toEqual([
      { n: 1, text: '{"a":1}' },
      { n: 3, text: '{"b":2}' },
      { n: 5, text: '{"c":3}' },
    ]);
  });

  it('copes with many lines in one chunk', async () => {
    const text = Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ i })).join('\n');
    const lines = await collect(readLines(bytes(text)));
    expect(lines).toHaveLength(10_000);
    expect(lines[9_999]).toEqual({ n: 10_000, text: '{"i":9999}' });
  });
});

describe('chunked', () => {
  it('groups into chunks of at most the size, the last one partial', async () => {
    async function* gen() {
      for (let i = 0; i < 1_201; i++) yield i;
    }
    const sizes = (await collect(chunked(gen(), 500))).map((c) => c.length);
    expect(sizes).toEqual([500, 500, 201]);
  });

  it('rejects a size below 1', async () => {
    await expect(collect(chunked(Readable.from([1]), 0))).rejects.toThrow(RangeError);
  });
});

describe('detectSource', () => {
  it('reads one pretty-printed document as a single payload', async () => {
    const src = await detectSource(bytes('{\n  "id": 1,\n  "email": "a@b.c"\n}\n'), false);
    expect(src).toEqual({ kind: 'single', payload: { id: 1, email: 'a@b.c' } });
  });

  it('reads one compact line as a single payload', async () => {
    expect(await detectSource(bytes('{"id":1}\n'), false)).toEqual({ kind: 'single', payload: { id: 1 } });
  });

  it('reads two or more JSON lines as NDJSON, without losing the first two', async () => {
    const src = await detectSource(bytes('{"id":1}\n{"id":2}\n{"id":3}\n'), false);
    expect(src.kind).toBe('many');
    if (src.kind !== 'many') return;
    expect((await collect(src.lines)).map((l) => l.text)).toEqual(['{"id":1}', '{"id":2}', '{"id":3}']);
  });

  it('treats even one line as NDJSON when forced, and an empty input as nothing', async () => {
    const one = await detectSource(bytes('{"id":1}\n'), true);
    expect(one.kind).toBe('many');
    const none = await detectSource(bytes(''), true);
    expect(none.kind === 'many' && (await collect(none.lines))).toEqual([]);
  });

  it('rejects empty input and garbage as usage errors', async () => {
    await expect(detectSource(bytes(''), false)).rejects.toMatchObject({ code: 'AMEBO_ERR_BAD_REQUEST', exit: 2 });
    await expect(detectSource(bytes('{oops\n}'), false)).rejects.toMatchObject({ code: 'AMEBO_ERR_BAD_JSON', exit: 2 });
  });
});

describe('lineToEvent', () => {
  it('makes each line a payload of the given action', () => {
    expect(lineToEvent({ n: 1, text: '{"id":1}' }, { action: 'user.created', sleep_until: 30 })).toEqual({
      action: 'user.created',
      payload: { id: 1 },
      sleep_until: 30,
    });
  });

  it('reads event objects when no action is given', () => {
    expect(lineToEvent({ n: 1, text: '{"action":"a.b","payload":{"x":1},"deduper":"k"}' }, {})).toEqual({
      action: 'a.b',
      payload: { x: 1 },
      deduper: 'k',
      sleep_until: undefined,
    });
  });

  it('names the line of a bad one', () => {
    expect(() => lineToEvent({ n: 7, text: '{"x":1}' }, {})).toThrow(/line 7: expected an event object/);
    expect(() => lineToEvent({ n: 8, text: 'nope' }, { action: 'a' })).toThrow(/line 8: not valid JSON/);
  });
});

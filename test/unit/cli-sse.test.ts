import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/client/sse.js';
import { decodeStreamMessage } from '../../src/client/stream.js';

const feedAll = (parser: SseParser, chunks: (string | Uint8Array)[]) => chunks.flatMap((c) => parser.feed(c));

describe('SseParser', () => {
  const stream = 'id: 1\nevent: delivery\ndata: {"a":1}\n\n: ping\n\nid: 2\nevent: stats\ndata: {"b":2}\n\n';

  it('parses id, event and data, and ignores comments', () => {
    const p = new SseParser();
    expect(p.feed(stream)).toEqual([
      { id: '1', event: 'delivery', data: '{"a":1}' },
      { id: '2', event: 'stats', data: '{"b":2}' },
    ]);
    expect(p.comments).toBe(1);
    expect(p.lastEventId).toBe('2');
  });

  it('gives the same messages however the bytes are split, including inside UTF-8 and CRLF', () => {
    const text = 'id: 9\r\nevent: delivery\r\ndata: {"action":"café.créé"}\r\n\r\n';
    const bytes = new TextEncoder().encode(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const p = new SseParser();
      const got = feedAll(p, [bytes.slice(0, cut), bytes.slice(cut)]);
      expect(got, `cut at ${cut}`).toEqual([{ id: '9', event: 'delivery', data: '{"action":"café.créé"}' }]);
    }
    const oneByOne = new SseParser();
    expect(feedAll(oneByOne, Array.from(bytes, (b) => Uint8Array.of(b)))).toHaveLength(1);
  });

  it('joins multi-line data, defaults the type to message, keeps the id across messages, takes retry', () => {
    const p = new SseParser();
    const got = p.feed('retry: 1500\nid: 5\ndata: a\ndata:b\n\ndata: c\n\n');
    expect(got).toEqual([
      { id: '5', event: 'message', data: 'a\nb' },
      { id: '5', event: 'message', data: 'c' },
    ]);
    expect(p.retryMs).toBe(1500);
  });

  it('drops a half-received message on reset but keeps the last id', () => {
    const p = new SseParser();
    p.feed('id: 3\ndata: x\n\nid: 4\ndata: half');
    p.reset();
    expect(p.lastEventId).toBe('4');
    expect(p.feed('data: y\n\n')).toEqual([{ id: '4', event: 'message', data: 'y' }]);
  });

  it('does not dispatch a block without data', () => {
    expect(new SseParser().feed('event: delivery\n\n')).toEqual([]);
  });
});

describe('decodeStreamMessage', () => {
  it('types deliveries, published events and stats, with the numeric id as seq', () => {
    const d = decodeStreamMessage('delivery', '{"gist_id":1,"state":"dead"}', '17');
    expect(d).toMatchObject({ type: 'delivery', seq: 17, delivery: { type: 'delivery', gist_id: 1, state: 'dead' } });
    expect(decodeStreamMessage('stats', '{"backlog":3}', undefined)).toMatchObject({ type: 'stats', seq: undefined, stats: { backlog: 3 } });
    expect(decodeStreamMessage('published', '{"event_id":4}', '1')).toMatchObject({ type: 'published', published: { event_id: 4 } });
  });

  it('ignores unknown types and bad JSON', () => {
    expect(decodeStreamMessage('message', '{}', '1')).toBeUndefined();
    expect(decodeStreamMessage('delivery', '{not json', '1')).toBeUndefined();
    expect(decodeStreamMessage('delivery', '42', '1')).toBeUndefined();
  });
});

/**
 * Keeping a payload's text as received (api/payload-text.ts): the span found by the depth scan must
 * be exactly the payload's value, and text that could mean something else than what was validated
 * (repeated keys) must never be kept.
 */
import { describe, expect, it } from 'vitest';
import { keptPayloadText, scanEvent } from '../../src/api/payload-text.js';
import { maxDepth as maxDepthOf } from '../../src/api/body.js';

const kept = (body: string): string | undefined => {
  const scan = scanEvent(body, 64);
  return keptPayloadText(body, scan, (JSON.parse(body) as { payload?: unknown }).payload);
};

describe('the payload text of an event body', () => {
  it('is the payload value exactly as sent, whatever its type and place', () => {
    const cases: Array<[string, string]> = [
      ['{"action":"a","payload":{"x":1}}', '{"x":1}'],
      ['{"payload":{"x":[1,{"y":"}"}]},"action":"a"}', '{"x":[1,{"y":"}"}]}'],
      ['{"action":"a","payload":42}', '42'],
      ['{"payload":"a \\" } , : string","action":"a"}', '"a \\" } , : string"'],
      ['{ "action" : "a" , "payload" :  { "k" : 1.50 }  }', '{ "k" : 1.50 }'],
      ['{"action":"payload","deduper":"payload","payload":[true,null]}', '[true,null]'],
      ['{"action":"a","payload":{"payload":{"payload":1}}}', '{"payload":{"payload":1}}'],
      ['{"action":"a","payload":null,"deduper":"d"}', 'null'],
      ['{"action":"a","payload":12345678901234567890}', '12345678901234567890'],
      ['{"action":"a","payload":{"__proto__":{"x":1}}}', '{"__proto__":{"x":1}}'],
    ];
    for (const [body, text] of cases) {
      expect(kept(body), body).toBe(text);
      expect(JSON.parse(kept(body)!), body).toEqual((JSON.parse(body) as { payload: unknown }).payload);
    }
  });

  it('is not kept when a key repeats, at the top or inside the payload', () => {
    expect(kept('{"action":"a","payload":{"x":1},"payload":{"x":2}}')).toBeUndefined();
    expect(kept('{"action":"a","payload":{"amount":1000000,"amount":5}}')).toBeUndefined();
    expect(kept('{"action":"a","payload":{"list":[{"k":1,"k":2}]}}')).toBeUndefined();
    // A colon inside a string is not a member.
    expect(kept('{"action":"a","payload":{"url":"https://x:1/"}}')).toBe('{"url":"https://x:1/"}');
  });

  it('measures the depth as the plain depth scan does, and stops past the limit', () => {
    for (const body of ['{"payload":[[[[1]]]]}', '{"a":"[[[[","payload":{}}', '[]', '"x"', '{"payload":{"a":{"b":{"c":{}}}}}']) {
      expect(scanEvent(body, 64).depth, body).toBe(maxDepthOf(body, 64));
    }
    expect(scanEvent(`{"payload":${'['.repeat(100)}${']'.repeat(100)}}`, 64).depth).toBe(65);
  });
});

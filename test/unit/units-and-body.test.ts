import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseListen, parseSize } from '../../src/config/units.js';
import { maxDepth } from '../../src/api/body.js';
import { resolveHandler } from '../../src/config/handler.js';
import { signatureHeaders, signingKey } from '../../src/delivery/sign.js';
import { Webhook } from 'standardwebhooks';

describe('units', () => {
  it('parses durations and sizes', () => {
    expect(['500ms', '30s', '5m', '1h', '1d', '1.5s'].map((d) => parseDuration(d))).toEqual([500, 30_000, 300_000, 3_600_000, 86_400_000, 1500]);
    expect(parseDuration('5 minutes')).toBeUndefined();
    expect(formatDuration(30_000)).toBe('30s');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(parseSize('1mb')).toBe(1024 * 1024);
    expect(parseSize('512KB')).toBe(512 * 1024);
    expect(parseSize('lots')).toBeUndefined();
  });

  it('parses listen addresses', () => {
    expect(parseListen('127.0.0.1:3310')).toEqual({ host: '127.0.0.1', port: 3310 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseListen(':3310')).toEqual({ host: '127.0.0.1', port: 3310 });
    expect(parseListen('host:99999')).toBeUndefined();
  });
});

describe('maxDepth', () => {
  it('counts nesting outside strings only', () => {
    expect(maxDepth('{"a":[1,{"b":2}]}', 64)).toBe(3);
    expect(maxDepth('{"a":"[[[[[[["}', 64)).toBe(1);
    expect(maxDepth('{"a":"\\"[[["}', 64)).toBe(1);
    expect(maxDepth('['.repeat(1000), 10)).toBe(11);
    // An escaped backslash right before the closing quote ends the string.
    expect(maxDepth('{"a":"x\\\\","b":[[[1]]]}', 64)).toBe(4);
    expect(maxDepth('{"a":"\\"[[[","b":[1]}', 64)).toBe(2);
    expect(maxDepth('{"a":"unterminated [[[', 64)).toBe(1);
  });
});

describe('resolveHandler', () => {
  it('joins a /path to the address and keeps full URLs', () => {
    expect(resolveHandler('/hooks/x', 'https://a.example/base/')).toEqual({ ok: true, url: 'https://a.example/base/hooks/x' });
    expect(resolveHandler('https://b.example/h', undefined)).toEqual({ ok: true, url: 'https://b.example/h' });
    expect(resolveHandler('/h', undefined).ok).toBe(false);
    expect(resolveHandler('file:///etc/passwd', undefined).ok).toBe(false);
    expect(resolveHandler('http://user:pw@x.example/', undefined).ok).toBe(false);
  });
});

describe('signatures', () => {
  it('decodes whsec_ keys and signs with both secrets during rotation', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    expect(signingKey(`whsec_${key.toString('base64')}`).export()).toEqual(key);
    const headers = signatureHeaders({ keys: [signingKey('new-secret-1'), signingKey('old-secret-1')], webhookId: 'msg_1', timestampSec: Math.floor(Date.now() / 1000), body: '{"a":1}' });
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(headers['x-amebo-signature']!.split(' ')).toHaveLength(2);
    // A receiver that still has only the old secret verifies too.
    const old = new Webhook(Buffer.from('old-secret-1').toString('base64'));
    expect(() => old.verify('{"a":1}', headers)).not.toThrow();
  });
});

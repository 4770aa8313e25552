/** The handler network policy: link-local/metadata denied by default, allow lists enforced on the resolved address. */
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';
import { NetworkGuard } from '../../src/delivery/networks.js';

let daemon: TestDaemon | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  await receiver?.close();
  cleanupTmp();
});

function config(handler: string, networks = ''): string {
  return `applications:
  shop: { address: "http://127.0.0.1:9", secret: "shop-secret-123" }
actions:
  a: { application: shop, schemata: { type: object } }
${networks ? `delivery:\n  networks:\n${networks}\n` : ''}subscriptions:
  s: { application: shop, action: a, handler: "${handler}" }
`;
}

async function deadGist(d: TestDaemon) {
  await d.request('POST', '/v1/events', { action: 'a', payload: {} });
  return eventually(async () => {
    const g = (await d.request('GET', '/v1/gists/1')).body.data;
    expect(g.state).toBe('dead');
    return g;
  });
}

describe('handler networks', () => {
  it('denies the cloud metadata address by default, without sending anything', async () => {
    daemon = await startDaemon({ yaml: config('http://169.254.169.254/latest/meta-data') });
    const g = await deadGist(daemon);
    expect(g.attempt_count).toBe(1);
    expect(g.attempts[0].error).toMatch(/^blocked: handler address 169\.254\.169\.254 is in a denied network/);
  });

  it('checks names after DNS resolution against an allow list', async () => {
    receiver = await startReceiver();
    const port = new URL(receiver.url).port;
    daemon = await startDaemon({ yaml: config(`http://localhost:${port}/h`, '    allow: ["10.0.0.0/8"]') });
    const g = await deadGist(daemon);
    expect(g.attempts[0].error).toMatch(/blocked: handler address (127\.0\.0\.1|::1) is not in an allowed network/);
    expect(receiver.requests).toHaveLength(0);
  });

  it('judges IPv4-mapped IPv6 as IPv4 and accepts plain CIDRs', () => {
    const guard = new NetworkGuard({ allow: [], deny: ['169.254.0.0/16', 'fe80::/10'] });
    expect(guard.check('::ffff:169.254.169.254')).toMatch(/denied/);
    expect(guard.check('fe80::1')).toMatch(/denied/);
    expect(guard.check('10.1.2.3')).toBeNull();
    expect(new NetworkGuard({ allow: ['127.0.0.0/8'], deny: [] }).check('127.0.0.1')).toBeNull();
  });

  it('judges a handler URL by its IP literal before connecting, the same way every time', () => {
    const guard = new NetworkGuard({ allow: [], deny: ['169.254.0.0/16', 'fe80::/10'] });
    for (let i = 0; i < 2; i++) {
      expect(guard.checkUrl('http://169.254.169.254/latest/meta-data')).toMatch(/169\.254\.169\.254 is in a denied network/);
      expect(guard.checkUrl('http://[fe80::1]:8080/hook')).toMatch(/fe80::1 is in a denied network/);
      expect(guard.checkUrl('http://10.1.2.3/hook')).toBeNull();
      // A name is judged after DNS resolution, at connect time.
      expect(guard.checkUrl('http://metadata.internal/hook')).toBeNull();
    }
  });
});

/**
 * Chaos on a real cluster: three nats-server processes, two `bin/amebo serve` processes sharing them,
 * a real receiver, open-loop publishing at a fixed rate to both instances. Mid-run the test kills -9
 * the node that leads the events stream and one amebo instance, then restarts both. Afterwards:
 * - every event acknowledged (201, or 200 for a deduper repeat) is in the log, from either instance;
 * - one event per (action, deduper), and repeats answered with the original;
 * - every acknowledged event reached each of its subscriptions with a 2xx;
 * - deliveries beyond the first are within what the killed instance could have had in flight;
 * - the attempt numbers of every gist are consecutive, at the receiver and in the log;
 * - the first attempts answered 503 were retried;
 * - no answer was a 500; failed publishes were 503 with Retry-After or refused connections;
 * - an API object created during the faults is in force on both instances, which agree.
 * The counts are printed for the README and the issue's closing note.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnDaemon, type ChildDaemon } from '../helpers/child.js';
import { startNatsServers, type NatsServers } from '../helpers/nats-servers.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';

const RATE = 100; // events per second, both instances together
const DURATION_MS = 20_000;
const CONCURRENCY = 8; // per subscription, per instance
const SUBSCRIPTIONS: Record<string, string> = { 'mail.one': 'a.one', 'crm.one': 'a.one', 'mail.two': 'a.two', 'crm.two': 'a.two' };

interface Published {
  readonly action: string;
  readonly deduper: string | undefined;
  readonly sentAt: number;
  status: number | 'refused' | 'timeout' | null;
  retryAfter: string | null;
  id: number | null;
  ackedAt: number | null;
  target: 'A' | 'B' | null;
}

const yamlFor = (nats: string, receiver: string) => `server:
  log: ${nats}
  nats:
    prefix: chaos
    ack_wait: 4s
    publish_timeout: 20s
delivery:
  timeout: 5s
  max_retries: 20
  concurrency: ${CONCURRENCY}
  backoff: { initial: 100ms, max: 1s, jitter: 0 }
applications:
  shop: { address: ${receiver}, secret: shop-secret-123 }
actions:
  a.one: { application: shop, schemata: { type: object } }
  a.two: { application: shop, schemata: { type: object } }
subscriptions:
${Object.entries(SUBSCRIPTIONS)
  .map(([name, action]) => `  ${name}: { application: shop, action: ${action}, handler: /hook/${name} }`)
  .join('\n')}
`;

async function send(url: string, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

describe('amebo on a 3-node JetStream cluster under kill -9', () => {
  let nats: NatsServers;
  let receiver: Receiver;
  let a: ChildDaemon | null = null;
  let b: ChildDaemon;
  let config: string;
  let data: string;
  /** First attempts to answer 503: every tenth gist. */
  const flaky = new Set<string>();
  const seenIds = new Set<string>();
  /**
   * 2xx answers per `event/subscription`, as the receiver gave them. Counted here, not inferred from
   * attempt numbers: a 503 whose sender was killed before recording it is sent again as attempt 1,
   * and that repeat is answered 200.
   */
  const answered2xx = new Map<string, number>();

  beforeAll(async () => {
    nats = await startNatsServers(3);
    receiver = await startReceiver((r) => {
      const id = String(r.headers['webhook-id']);
      if (!seenIds.has(id)) {
        seenIds.add(id);
        if (seenIds.size % 10 === 0) {
          flaky.add(id);
          return { status: 503, body: 'try later' };
        }
      }
      const pair = `${String(r.json['event_id'])}/${String(r.json['subscription'])}`;
      answered2xx.set(pair, (answered2xx.get(pair) ?? 0) + 1);
      return { status: 200, body: '{"ok":true}' };
    });
    const dir = tmpDir();
    config = join(dir, 'amebo.yaml');
    data = join(dir, 'data');
    writeFileSync(config, yamlFor(nats.urls, receiver.url));
    [a, b] = await Promise.all([spawnDaemon({ config, data: join(data, 'a') }), spawnDaemon({ config, data: join(data, 'b') })]);
  }, 60_000);

  afterAll(async () => {
    a?.kill('SIGKILL');
    b?.kill('SIGKILL');
    await Promise.all([a?.exited, b?.exited]);
    await receiver?.close();
    await nats?.close();
    cleanupTmp();
  });

  it('loses no acknowledged event, delivers each to every subscription, with duplicates only in flight', async () => {
    const published: Published[] = [];
    const fivehundreds: string[] = [];
    const start = Date.now();
    const log = (m: string) => console.log(`[chaos +${((Date.now() - start) / 1000).toFixed(1)}s] ${m}`);
    let aUp = true;
    let created: { status: number } | null = null;
    let creating: Promise<void> = Promise.resolve();

    // The faults, on a timeline.
    const faults = (async () => {
      await new Promise((r) => setTimeout(r, 5_000));
      const leader = await nats.streamLeader('CHAOS_EVENTS');
      expect(leader).not.toBeNull();
      log(`kill -9 nats ${leader} (events stream leader)`);
      await nats.kill(leader!);
      // An API object created through B while the cluster elects leaders: answered, or 503 and retried.
      creating = (async () => {
        await new Promise((r) => setTimeout(r, 1_000));
        for (;;) {
          const r = await send(b.url, 'POST', '/v1/subscriptions', { application: 'shop', action: 'a.one', handler: '/hook/late', subscription: 'late.one' }).catch(() => null);
          if (r && r.status >= 500) expect(r.status).toBe(503);
          if (r && r.status < 500) {
            created = r;
            break;
          }
          await new Promise((res) => setTimeout(res, 250));
        }
        log(`subscription late.one created through B: ${created!.status}`);
      })();
      await new Promise((r) => setTimeout(r, Math.max(0, 8_000 - (Date.now() - start))));
      log('kill -9 amebo A');
      aUp = false;
      a!.kill('SIGKILL');
      await a!.exited;
      await new Promise((r) => setTimeout(r, Math.max(0, 11_000 - (Date.now() - start))));
      log(`restart nats ${leader}`);
      await nats.restart(leader!);
      await new Promise((r) => setTimeout(r, Math.max(0, 14_000 - (Date.now() - start))));
      log('restart amebo A');
      a = await spawnDaemon({ config, data: join(data, 'a2') });
      aUp = true;
      log('amebo A is back');
    })();

    // Open-loop publishing: one event every 1000/RATE ms whatever the answers, alternating instances.
    const inflight: Array<Promise<void>> = [];
    for (let i = 0; Date.now() - start < DURATION_MS; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const action = i % 2 === 0 ? 'a.one' : 'a.two';
      // 10% carry a deduper; half of those repeat an earlier one.
      const deduper = i % 10 === 3 ? `d${i}` : i % 10 === 7 && i >= 10 ? `d${i - 4}` : undefined;
      const p: Published = { action: i % 10 === 7 && i >= 10 ? (i - 4) % 2 === 0 ? 'a.one' : 'a.two' : action, deduper, sentAt: Date.now(), status: null, retryAfter: null, id: null, ackedAt: null, target: null };
      published.push(p);
      const target = aUp && i % 2 === 0 && a ? a : b;
      p.target = target === b ? 'B' : 'A';
      inflight.push(
        send(target.url, 'POST', '/v1/events', { action: p.action, payload: { i }, deduper: p.deduper })
          .then((r) => {
            p.status = r.status;
            p.retryAfter = r.headers.get('retry-after');
            if (r.status === 201 || r.status === 200) {
              p.id = r.json.data.id as number;
              p.ackedAt = Date.now();
            }
            if (r.status >= 500 && r.status !== 503) fivehundreds.push(`${r.status} ${JSON.stringify(r.json)}`);
          })
          .catch((err: Error) => {
            p.status = /timeout|abort/i.test(err.name + err.message) ? 'timeout' : 'refused';
          }),
      );
    }
    await Promise.all(inflight);
    await faults;
    await creating;
    log(`published ${published.length}`);

    const acked = published.filter((p) => p.id !== null);
    const failed = published.filter((p) => p.id === null);
    // Failures are only 503 with Retry-After (no quorum) or a refused connection (A was down): never 500.
    expect(fivehundreds).toEqual([]);
    for (const p of failed) {
      if (typeof p.status === 'number') {
        expect(p.status).toBe(503);
        expect(p.retryAfter).not.toBeNull();
      } else expect(p.status).toBe('refused');
    }

    // Dedupers: one event per (action, deduper); repeats answered with the original id.
    const byDeduper = new Map<string, Set<number>>();
    for (const p of acked) if (p.deduper) (byDeduper.get(`${p.action}/${p.deduper}`) ?? byDeduper.set(`${p.action}/${p.deduper}`, new Set()).get(`${p.action}/${p.deduper}`)!).add(p.id!);
    for (const [key, ids] of byDeduper) expect([key, ids.size]).toEqual([key, 1]);

    // Every acknowledged event, once per id, with its subscriptions.
    const events = new Map<number, string>();
    for (const p of acked) events.set(p.id!, p.action);
    const subsOf = (action: string) => Object.entries(SUBSCRIPTIONS).filter(([, act]) => act === action).map(([name]) => name);

    // Drain: every acknowledged event delivered (2xx) to each of its subscriptions.
    const missingNow = () => [...events].flatMap(([id, action]) => subsOf(action).filter((s) => !answered2xx.has(`${id}/${s}`)).map((s) => `${id}/${s}`));
    try {
      await eventually(
        () => {
          const missing = missingNow();
          if (missing.length > 0) throw new Error(`${missing.length} deliveries missing, e.g. ${missing.slice(0, 5).join(' ')}`);
        },
        60_000,
        250,
      );
    } catch (err) {
      // Say what the log holds for each missing delivery (its gist and attempts) and what the receiver
      // saw of it: a gist stuck open and one never made are different bugs.
      const lines: string[] = [];
      for (const pair of missingNow().slice(0, 5)) {
        const [id, sub] = pair.split('/');
        const gists = await send(b.url, 'GET', `/v1/gists?event=${id}&subscription=${sub}`);
        const seen = receiver.requests.filter((r) => String(r.json['event_id']) === id && r.json['subscription'] === sub).map((r) => `attempt ${String(r.json['delivery_attempt'])}${flaky.has(String(r.headers['webhook-id'])) ? ' (flaky id)' : ''}`);
        lines.push(`${pair}: gists ${JSON.stringify(gists.json?.data)}; receiver saw ${seen.join(', ') || 'nothing'}`);
      }
      throw new Error(`${(err as Error).message}\n${lines.join('\n')}`);
    }
    log('every acknowledged event delivered');

    // 0 acknowledged lost: each is in the log, read through either instance.
    const ids = [...events.keys()];
    let lost = 0;
    for (let i = 0; i < ids.length; i += 50) {
      const chunk = ids.slice(i, i + 50);
      const answers = await Promise.all(chunk.map((id) => send(i % 100 === 0 ? a!.url : b.url, 'GET', `/v1/events/${id}`)));
      answers.forEach((r, j) => {
        if (r.status !== 200 || r.json.data.id !== chunk[j] || r.json.data.action !== events.get(chunk[j]!)) lost++;
      });
    }
    expect(lost).toBe(0);

    // Nothing stored twice: retries after a leader change reuse their message id.
    const stored: Array<{ id: number; payload: { i: number }; deduper: string | null }> = [];
    for (let page = 1; ; page++) {
      const r = await send(b.url, 'GET', `/v1/events?per_page=1000&page=${page}`);
      expect(r.status).toBe(200);
      stored.push(...(r.json.data as typeof stored));
      if (r.json.data.length < 1000) break;
    }
    // Each payload stored twice is named with its ids and its publish (times from the start of the run),
    // to tell a retry across the election from anything else.
    const byPayload = new Map<number, number[]>();
    for (const e of stored) byPayload.set(e.payload.i, [...(byPayload.get(e.payload.i) ?? []), e.id]);
    const twice = [...byPayload].filter(([, ids]) => ids.length > 1).map(([i, ids]) => ({ i, ids, sent: published[i]!.sentAt - start, acked: published[i]!.ackedAt === null ? null : published[i]!.ackedAt! - start, target: published[i]!.target }));
    expect(twice, 'events stored twice').toEqual([]);
    for (const id of ids) expect(stored.some((e) => e.id === id)).toBe(true);

    // Duplicates: 2xx deliveries of a gist beyond the first. Only attempts in flight at a failure may
    // repeat: at most what the killed instance could run at once.
    const perGist = new Map<string, number[]>();
    for (const r of receiver.requests) {
      const key = `${r.json['event_id']}/${r.json['subscription']}`;
      (perGist.get(key) ?? perGist.set(key, []).get(key)!).push(r.json['delivery_attempt'] as number);
    }
    let duplicates = 0;
    for (const [key, attempts] of perGist) {
      // Attempt numbers seen at the receiver are consecutive from 1 (repeats allowed, gaps not).
      const distinct = [...new Set(attempts)].sort((x, y) => x - y);
      expect([key, distinct]).toEqual([key, distinct.map((_, i) => i + 1)]);
    }
    for (const n of answered2xx.values()) duplicates += n - 1;
    const bound = CONCURRENCY * Object.keys(SUBSCRIPTIONS).length;
    expect(duplicates).toBeLessThanOrEqual(bound);

    // The 503'd first attempts were retried and recorded as attempts 1 and 2 (sample through the API).
    expect(flaky.size).toBeGreaterThan(10);
    for (const id of [...flaky].slice(0, 20)) {
      const m = /^msg_[0-9a-f]+_(\d+)\.(.+)$/.exec(id);
      expect(m).not.toBeNull();
      const r = await send(b.url, 'GET', `/v1/gists/${m![1]}.${m![2]}`);
      expect(r.status).toBe(200);
      const ns = (r.json.data.attempts as Array<{ n: number; status: number | null }>).map((x) => x.n);
      expect(ns).toEqual(ns.map((_, i) => i + 1));
      expect(r.json.data.attempts[0].status).toBe(503);
      expect(r.json.data.state).toBe('delivered');
    }

    // The subscription created during the faults is in force on both instances; they agree.
    expect(created).not.toBeNull();
    let revisions: [unknown, unknown] = [null, null];
    try {
      await eventually(async () => {
        for (const d of [a!, b]) expect((await send(d.url, 'GET', '/v1/subscriptions/late.one')).status).toBe(200);
        const [ha, hb] = await Promise.all([send(a!.url, 'GET', '/health'), send(b.url, 'GET', '/health')]);
        revisions = [ha.json.data.log.objects_revision, hb.json.data.log.objects_revision];
        expect(ha.json.data.log.objects_revision).toBeGreaterThan(0);
        expect(ha.json.data.log.objects_revision).toBe(hb.json.data.log.objects_revision);
      }, 15_000);
    } catch (err) {
      // Say which instance is behind the bucket, as each server sees it, and what A logged.
      const buckets: string[] = [];
      for (const node of nats.nodes.filter((n) => n.running)) {
        const doc = (await nats.jsz(node.name).catch(() => null)) as { account_details?: Array<{ stream_detail?: Array<{ name: string; state?: { last_seq?: number }; cluster?: { leader?: string } }> }> } | null;
        const kv = doc?.account_details?.flatMap((d) => d.stream_detail ?? []).find((st) => st.name === 'KV_chaos_objects');
        buckets.push(`${node.name}: last_seq ${kv?.state?.last_seq ?? '?'} (leader ${kv?.cluster?.leader ?? '?'})`);
      }
      const tail = a!.lines.filter((l) => !l.includes('"level":30')).slice(-20).join('\n');
      throw new Error(`${(err as Error).message}\nobjects_revision A ${String(revisions[0])}, B ${String(revisions[1])}; bucket ${buckets.join('; ')}\nA's last warnings:\n${tail}`);
    }

    // The longest gap between two acknowledgements (the publish outage while leaders were elected).
    const ackTimes = acked.map((p) => p.ackedAt!).sort((x, y) => x - y);
    let gap = 0;
    for (let i = 1; i < ackTimes.length; i++) gap = Math.max(gap, ackTimes[i]! - ackTimes[i - 1]!);
    const perSecond = new Array<number>(Math.ceil((ackTimes.at(-1)! - start) / 1000) + 1).fill(0);
    for (const t of ackTimes) perSecond[Math.floor((t - start) / 1000)]!++;
    log(`acknowledgements per second: ${perSecond.join(' ')}`);
    const slowest = [...acked].sort((x, y) => y.ackedAt! - y.sentAt - (x.ackedAt! - x.sentAt)).slice(0, 3);
    log(`slowest acknowledgements: ${slowest.map((p) => `${p.target} sent +${((p.sentAt - start) / 1000).toFixed(1)}s took ${p.ackedAt! - p.sentAt} ms`).join('; ')}`);
    // Second copies of retried writes that the instances found and deleted (copies.ts; A's count
    // restarts with A).
    const healths = await Promise.all([a!, b].map((d) => send(d.url, 'GET', '/health')));
    const copies = (field: string) => healths.reduce((n, h) => n + Number(h.json.data.log.events?.[field] ?? 0), 0);
    const gists = [...events].reduce((n, [, act]) => n + subsOf(act).length, 0);
    const deliveries = [...answered2xx].filter(([key]) => !key.endsWith('/late.one')).reduce((x, [, n]) => x + n, 0);
    log(
      `published ${published.length} · acknowledged ${acked.length} · stored ${stored.length} (0 twice; retried writes checked ${copies('copies_checked')}, second copies deleted ${copies('copies_deleted')}) · failed ${failed.length} (${failed.filter((p) => p.status === 503).length} × 503, ${failed.filter((p) => p.status === 'refused').length} refused) · lost 0 · ` +
        `2xx deliveries ${deliveries} for ${gists} gists · duplicates ${duplicates} (bound ${bound}) · longest gap between acks ${gap} ms`,
    );
  }, 150_000);
});

// Turns the figures into target verdicts and a plain-text table.

const n0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const n1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const n2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const ms = (r) => (r ? `${n2(r.p50)} / ${n2(r.p99)} / ${n2(r.p999)}` : 'n/a');
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '');

/** Rows: {figure, amebo, ceiling, ratio, target, met (true/false/null)}. */
export function buildRows(f) {
  const rows = [];
  const row = (figure, amebo, ceiling = '', r = '', target = '', met = null) => rows.push({ figure, amebo, ceiling, ratio: r, target, met });

  if (f.publish) {
    const p = f.publish;
    row(
      `(1) publish req/s, c=${p.connections}, ${p.payloadBytes} B`,
      n0(p.amebo.rps),
      `bare node:http ${n0(p.bare.rps)}`,
      ratio(p.ratio),
      '>= 0.6x and >= 15,000',
      p.ratio >= 0.6 && p.amebo.rps >= 15000,
    );
    row('(1) publish p50 / p99 / p999 ms', ms(p.amebo), `bare ${ms(p.bare)}`);
    row('(1) CPU cores: server / load generator', `${n2(p.amebo.serverCores)} / ${n2(p.amebo.loadgenCores)}`, `bare ${n2(p.bare.serverCores)} / ${n2(p.bare.loadgenCores)}`);
    row('(1) durability: fsync req/s', n0(p.fsync.rps), `commit ${n0(p.amebo.rps)}`, ratio(p.fsyncRatio), 'cost of fsync (report)');
    row('(1) durability: fsync p50 / p99 / p999 ms', ms(p.fsync), `commit ${ms(p.amebo)}`);
  }
  if (f.rate) {
    const r = f.rate;
    row(`(2) p50 / p99 / p999 ms at ${n0(r.rate)}/s, open loop`, ms(r.amebo), `bare ${ms(r.bare)}`, '', 'p99 <= 5 ms', r.amebo.p99 <= 5);
  }
  if (f.batch) {
    const b = f.batch;
    row(`(3) batch events/s (${b.batchSize}/batch, c=${b.connections})`, n0(b.amebo.eventsPerSec), `bare ${n0(b.bare.eventsPerSec)}`, ratio(b.ratio), '>= 150,000', b.amebo.eventsPerSec >= 150000);
  }
  if (f.fanout) {
    for (const [k, r] of Object.entries(f.fanout)) {
      row(
        `(4) fan-out ${k} sub${k === '1' ? '' : 's'}: deliveries/s`,
        n0(r.amebo.deliveriesPerSec),
        `undici ${n0(r.undici.deliveriesPerSec)} (${r.undici.connections} conns)`,
        ratio(r.ratio),
        '>= 0.7x',
        r.ratio >= 0.7,
      );
    }
  }
  if (f.e2e) {
    const e = f.e2e;
    row(`(5) end-to-end p50 / p99 / p999 ms at ${n0(e.rate)}/s`, ms(e), '', '', 'p99 <= 20 ms', e.p99 <= 20 && e.missing === 0);
  }
  if (f.replay) {
    const r = f.replay;
    row(`(6) replay re-delivery events/s (${n0(r.redeliver.count)} of ${n0(r.logEvents)})`, n0(r.redeliver.eventsPerSec), `first delivery ${n0(r.firstDelivery.perSec)}/s`);
    row(`(6) log scan, dry run, events/s (${n1(r.scan.seconds)} s)`, n0(r.scan.eventsPerSec), '', '', '>= 50,000', r.scan.eventsPerSec >= 50000);
    row('(7) RSS idle MB (anonymous part)', `${n1(r.rssIdleMB)} (${n1(r.rssIdleAnonMB)})`, '', '', '<= 120 MB', r.rssIdleMB <= 120);
    row(
      `(7) RSS MB with ${n0(r.logEvents)} events: total (anon / file-backed)`,
      `${n1(r.rssFullMB)} (${n1(r.rssFullAnonMB)} / ${n1(r.rssFullFileMB)})`,
      `after the publish runs ${n1(r.rssAfterMB)} (anon ${n1(r.rssAfterAnonMB)})`,
    );
    row('(7) log bytes per event (disk)', n1(r.bytesPerEvent), `${n1(r.logBytes / 1048576)} MiB total`);
    row('(7) fill through the batch endpoint, events/s', n0(r.fill.eventsPerSec), '');
    row(
      `(7) publish req/s with ${n0(r.logEvents)} events in the log`,
      n0(r.publishFull.rps),
      `empty log ${n0(r.publishEmpty.rps)}`,
      ratio(r.fullVsEmpty),
      'within 10% (>= 0.9x)',
      r.fullVsEmpty >= 0.9,
    );
  }
  if (f.jetstream) {
    const j = f.jetstream;
    if (j.skipped) row('(8) JetStream peer', 'skipped', j.skipped);
    else {
      row(
        `(8) amebo stream vs JetStream publish+ack, events/s, ${j.concurrency} in flight, native C publishers`,
        n0(j.stream.rps),
        `JetStream ${n0(j.jetstream.rps)}`,
        ratio(j.streamRatio),
        '>= 1.0x',
        j.streamRatio >= 1,
      );
      row('(8) amebo stream p50 / p99 / p999 ms; CPU server / client', `${ms(j.stream)}; ${n2(j.stream.serverCores)} / ${n2(j.stream.loadgenCores)}`, `JetStream ${ms(j.jetstream)}; ${n2(j.jetstream.serverCores)} / ${n2(j.jetstream.loadgenCores)} cores`);
      row(
        `(8) continuity: amebo POST /v1/events (wrk) vs JetStream via the nats npm client, c=${j.concurrency}`,
        n0(j.amebo.rps),
        `JetStream ${n0(j.nodeClient.rps)} (client ${n2(j.nodeClient.loadgenCores)} cores)`,
        ratio(j.nodeClientRatio),
      );
    }
  }
  if (f.patterns) {
    const p = f.patterns;
    row('(9) publish req/s with patterns (RE2, one nested quantifier)', n0(p.with.rps), `without patterns ${n0(p.without.rps)}`, ratio(p.ratio), 'cost of patterns (report)');
  }
  if (f.backlog) {
    const b = f.backlog;
    row(`(10) RssAnon MB with ${n0(b.backlog)} undelivered gists (receiver down)`, n1(b.anonWithBacklogMB), `idle ${n1(b.idleAnonMB)}`, '', '< 300 MB', b.anonWithBacklogMB < 300);
    row('(10) restart to a healthy /health with that backlog, ms', n0(b.restartToHealthyMs), `RssAnon after ${n1(b.anonAfterRestartMB)} MB`, '', '< 2,000 ms', b.restartToHealthyMs < 2000);
    row('(10) first attempt of a new event / a replayed one behind it, ms', `${n0(b.newEventFirstAttemptMs)} / ${n0(b.replayFirstAttemptMs)}`, `fill ${n0(b.fillEventsPerSec)} events/s`, '', 'within seconds', b.newEventFirstAttemptMs !== null && b.newEventFirstAttemptMs < 2000 && b.replayFirstAttemptMs !== null && b.replayFirstAttemptMs < 2000);
  }
  if (f.sustained) {
    const s = f.sustained;
    row(
      `(11) highest publish rate with a flat backlog for ${s.windowSeconds} s, 2 subscriptions, events/s`,
      n0(s.sustainedEventsPerSec),
      `fan-out ceiling ${n0(s.ceilingEventsPerSec)} (undici ${n0(s.ceilingDeliveriesPerSec)} deliveries/s)`,
      ratio(s.ratio),
      'report',
    );
  }
  if (f.routing) {
    const { filters: fl, ordering: o } = f.routing;
    row(
      '(12) publish req/s, 4 subscriptions with a 3-condition filter each',
      n0(fl.filtered.rps),
      `unfiltered ${n0(fl.plain.rps)}`,
      ratio(fl.ratio),
      'cost of filters (report)',
    );
    row('(12) server CPU µs per publish: filtered / unfiltered', `${n1(fl.cpuUsPerPublish.filtered)} / ${n1(fl.cpuUsPerPublish.plain)}`, `gists per event and subscription ${n2(fl.filtered.gistsPerEvent)} / ${n2(fl.plain.gistsPerEvent)}`);
    row('(12) deliveries/s, 1 subscription: ordering by key (64 keys)', n0(o.key.deliveriesPerSec), `no ordering ${n0(o.none.deliveriesPerSec)}`, ratio(o.keyRatio), 'cost of ordering (report)');
    row('(12) deliveries/s, ordering: strict (one at a time)', n0(o.strict.deliveriesPerSec), `no ordering ${n0(o.none.deliveriesPerSec)}`, ratio(o.strictRatio), 'report');
    row('(12) server CPU µs per delivery: none / key / strict', `${n1(o.none.cpuUsPerDelivery)} / ${n1(o.key.cpuUsPerDelivery)} / ${n1(o.strict.cpuUsPerDelivery)}`);
  }
  if (f.memory) {
    const m = f.memory;
    row(
      `(13) RssAnon MB after ${n0(m.events)} events through the stream, ${m.idleSeconds} s after the load`,
      n1(m.anonAfterMB),
      `at the stop ${n1(m.anonAtStopMB)}, idle before ${n1(m.idleAnonMB)}; fill ${n0(m.eventsPerSec)} events/s`,
      '',
      '<= 150 MB',
      m.anonAfterMB <= 150,
    );
  }
  if (f.cluster) {
    const c = f.cluster;
    if (c.skipped) row('(14) amebo on NATS JetStream', 'skipped', c.skipped);
    else {
      row(`(14) publish req/s on NATS R3 (3 nodes), c=50`, n0(c.r3.rps), `LMDB ${n0(c.lmdb.rps)}`, ratio(c.ratios.r3VsLmdb), 'report');
      row('(14) publish req/s on NATS R1 (one server)', n0(c.r1.rps), `LMDB ${n0(c.lmdb.rps)}`, ratio(c.ratios.r1VsLmdb), 'report');
      row('(14) publish on R3 against the raw v3 client on R3', n0(c.r3.rps), `raw client ${n0(c.raw3.rps)}`, ratio(c.ratios.r3VsRaw3), 'report');
      row('(14) publish on R1 against the raw v3 client on R1', n0(c.r1.rps), `raw client ${n0(c.raw1.rps)}`, ratio(c.ratios.r1VsRaw1), 'report');
      row('(14) publish p50 / p99 / p999 ms on R3', ms(c.r3), `LMDB ${ms(c.lmdb)}`);
      row('(14) fan-out 4 subs deliveries/s on R3', n0(c.fanR3.deliveriesPerSec), `LMDB ${n0(c.fanLmdb.deliveriesPerSec)}`, ratio(c.ratios.fanR3VsLmdb), 'report');
      row('(14) fan-out 4 subs deliveries/s on R1', n0(c.fanR1.deliveriesPerSec), `LMDB ${n0(c.fanLmdb.deliveriesPerSec)}`, ratio(c.ratios.fanR1VsLmdb), 'report');
      row('(14) publish req/s, 2 instances on R3 (load split)', n0(c.two.rps), `1 instance ${n0(c.single.rps)}`, ratio(c.ratios.twoVsOne), 'report');
      row('(14) idle CPU cores with 100 subscriptions: amebo / 3 servers', `${n2(c.idle100.amebo)} / ${n2(c.idle100.servers)}`, '');
    }
  }
  return rows;
}

/**
 * The four goals of issue 15, each a ratio (or a figure) from this run, next to its target:
 * the fastest way in against JetStream's native publish-ack, one event per request against bare
 * node:http, p99 at half load against bare's p99 at the same rate, memory after 1M events.
 */
export function buildGoals(f) {
  const rows = [];
  const row = (figure, amebo, ceiling, r, target, met) => rows.push({ figure, amebo, ceiling, ratio: r, target, met });
  const j = f.jetstream;
  if (j && !j.skipped) row('fastest way in (stream) / JetStream native publish-ack', `${n0(j.stream.rps)} events/s`, `${n0(j.jetstream.rps)} events/s`, ratio(j.streamRatio), '>= 1.0x', j.streamRatio >= 1);
  else row('fastest way in (stream) / JetStream native publish-ack', 'not run', '(--only jetstream)', '', '>= 1.0x', null);
  const p = f.publish;
  if (p) row('one event per request / bare node:http', `${n0(p.amebo.rps)} req/s`, `${n0(p.bare.rps)} req/s`, ratio(p.ratio), '>= 0.9x', p.ratio >= 0.9);
  else row('one event per request / bare node:http', 'not run', '(--only publish)', '', '>= 0.9x', null);
  const r = f.rate;
  if (r) {
    const x = r.amebo.p99 / r.bare.p99;
    row(`p99 at half load (${n0(r.rate)}/s) / bare's p99 at that rate`, `${n2(r.amebo.p99)} ms`, `${n2(r.bare.p99)} ms`, ratio(x), '<= 1.5x', x <= 1.5);
  } else row("p99 at half load / bare's p99 at that rate", 'not run', '(--only publish,rate)', '', '<= 1.5x', null);
  const m = f.memory;
  if (m) row(`anonymous memory after ${n0(m.events)} events, load stopped`, `${n1(m.anonAfterMB)} MB`, '', '', '<= 150 MB', m.anonAfterMB <= 150);
  else row('anonymous memory after 1,000,000 events, load stopped', 'not run', '(--only memory)', '', '<= 150 MB', null);
  return rows;
}

export function formatTable(rows) {
  const cols = [
    ['figure', 'figure'],
    ['amebo', 'amebo'],
    ['ceiling', 'ceiling / peer'],
    ['ratio', 'ratio'],
    ['target', 'target'],
    ['met', 'result'],
  ];
  const cell = (r, k) => (k === 'met' ? (r.met === null ? '' : r.met ? 'met' : 'MISSED') : String(r[k] ?? ''));
  const widths = cols.map(([k, h]) => Math.max(h.length, ...rows.map((r) => cell(r, k).length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(cols.map(([, h]) => h)), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map(([k]) => cell(r, k))))].join('\n');
}

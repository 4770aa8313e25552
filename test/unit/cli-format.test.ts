import { describe, expect, it } from 'vitest';
import { formatDuration, formatLatency, parseDuration } from '../../src/format/duration.js';
import { parseTimeArg, shortIso } from '../../src/format/time.js';
import { renderKeyValues, renderTable, truncate } from '../../src/format/table.js';
import { describeError, exitCodeOf, violationLine } from '../../src/format/errors.js';
import { attemptsTable, gistDetail, pageFooter } from '../../src/format/resources.js';
import { amebo } from '../../src/errors.js';
import type { WireGist } from '../../src/client/types.js';

describe('durations', () => {
  it('parses the units amebo writes, compounds and bare seconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('45')).toBe(45_000);
  });

  it('rejects what is not a duration', () => {
    for (const bad of ['', 'soon', '30 s', '5x', 's30', '-5s', '1h-']) expect(parseDuration(bad), bad).toBeUndefined();
  });

  it('prints durations compactly', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(1_200)).toBe('1.2s');
    expect(formatDuration(30_000)).toBe('30s');
    expect(formatDuration(200_000)).toBe('3m 20s');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(7_500_000)).toBe('2h 5m');
    expect(formatDuration(90_000_000)).toBe('1d 1h');
  });

  it('prints latencies with a precision that suits them', () => {
    expect(formatLatency(0.42)).toBe('0.4ms');
    expect(formatLatency(12.3)).toBe('12ms');
    expect(formatLatency(1_250)).toBe('1.25s');
    expect(formatLatency(null)).toBe('-');
  });
});

describe('times', () => {
  const now = Date.parse('2026-11-03T12:00:00.000Z');

  it('accepts ISO 8601 and normalises it', () => {
    expect(parseTimeArg('2026-11-03T10:00:00Z', now)).toBe('2026-11-03T10:00:00.000Z');
    expect(parseTimeArg('2026-11-03', now)).toBe('2026-11-03T00:00:00.000Z');
    expect(parseTimeArg('2026-11-03T10:00:00+02:00', now)).toBe('2026-11-03T08:00:00.000Z');
  });

  it('reads a duration as that long ago', () => {
    expect(parseTimeArg('2h', now)).toBe('2026-11-03T10:00:00.000Z');
    expect(parseTimeArg('15m', now)).toBe('2026-11-03T11:45:00.000Z');
  });

  it('rejects other text, including bare numbers', () => {
    for (const bad of ['yesterday', '12', '2026-13-45', 'Tue Nov 3']) expect(parseTimeArg(bad, now), bad).toBeUndefined();
  });

  it('shortens ISO times for listings', () => {
    expect(shortIso('2026-11-03T10:00:00.123Z')).toBe('2026-11-03T10:00:00Z');
    expect(shortIso(null)).toBe('-');
  });
});

describe('tables', () => {
  it('aligns columns, right-aligns numbers, shows - for empty and has no trailing spaces', () => {
    const text = renderTable(
      [
        { header: 'ID', get: (r: { id: number; name: string | null }) => r.id, align: 'right' },
        { header: 'NAME', get: (r) => r.name },
      ],
      [
        { id: 7, name: 'welcome-emails' },
        { id: 1234, name: null },
      ],
    );
    expect(text).toBe('  ID  NAME\n   7  welcome-emails\n1234  -\n');
  });

  it('truncates long cells with an ellipsis and flattens newlines', () => {
    expect(truncate('abcdefghij', 5)).toBe('abcd…');
    expect(truncate('ab\ncd', 10)).toBe('ab cd');
    expect(truncate('short', 10)).toBe('short');
  });

  it('aligns key/value blocks', () => {
    expect(renderKeyValues([['id', 42], ['deduper', null]])).toBe('id       42\ndeduper  -\n');
  });

  it('says where a page sits', () => {
    expect(pageFooter({ total: 120, page: 2, per_page: 50 }, 50)).toBe('page 2 of 3 (50 shown, 120 in all)\n');
    expect(pageFooter({ total: 0, page: 1, per_page: 50 }, 0)).toBe('no matches\n');
  });
});

describe('gist output', () => {
  const gist: WireGist = {
    id: 7,
    event_id: 42,
    action: 'user.created',
    subscription: 'welcome-emails',
    state: 'dead',
    attempt_count: 2,
    next_attempt_at: null,
    created_at: '2026-11-03T10:00:00.000Z',
    updated_at: '2026-11-03T10:00:05.000Z',
    replays: 0,
    last_status: 500,
    last_error: 'HTTP 500',
    attempts: [
      { n: 1, at: '2026-11-03T10:00:00.100Z', status: null, duration_ms: 3001, error: 'timeout', response: null, outcome: 'retry', replay: false },
      { n: 2, at: '2026-11-03T10:00:05.000Z', status: 500, duration_ms: 12.3, error: 'HTTP 500', response: 'oops\nstack...', outcome: 'dead', replay: true },
    ],
  };

  it('lists every attempt with time, status, duration, error and the head of the response', () => {
    const lines = attemptsTable(gist.attempts ?? []).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^#\s+TIME\s+STATUS\s+DURATION\s+OUTCOME\s+ERROR\s+RESPONSE$/);
    expect(lines[1]).toMatch(/1\s+2026-11-03T10:00:00.100Z\s+-\s+3s\s+retry\s+timeout\s+-/);
    expect(lines[2]).toMatch(/2\s+2026-11-03T10:00:05.000Z\s+500\s+12ms\s+dead \(replay\)\s+HTTP 500\s+oops stack\.\.\./);
  });

  it('shows the gist before its attempts', () => {
    const text = gistDetail(gist);
    expect(text).toMatch(/^id\s+7$/m);
    expect(text).toMatch(/^state\s+dead$/m);
    expect(text.indexOf('subscription')).toBeLessThan(text.indexOf('OUTCOME'));
  });
});

describe('error output', () => {
  it('prints schema violations one per line with their pointer', () => {
    const e = amebo('AMEBO_ERR_SCHEMA_INVALID', 'payload does not match the schema of user.created: /email must match format "email"; must have required property \'id\'', {
      action: 'user.created',
      violations: [
        { pointer: '/email', keyword: 'format', message: 'must match format "email"' },
        { pointer: '', keyword: 'required', message: "must have required property 'id'" },
      ],
    });
    expect(describeError(e)).toBe(
      'amebo: payload does not match the schema of user.created\n/email: must match format "email"\n/: must have required property \'id\'\n',
    );
    expect(exitCodeOf(e)).toBe(1);
    expect(violationLine({ pointer: '/a/0', keyword: 'type', message: 'must be string' })).toBe('/a/0: must be string');
  });

  it('maps usage errors to exit 2 and unknown failures to 1', () => {
    expect(exitCodeOf(amebo('AMEBO_ERR_BAD_REQUEST'))).toBe(2);
    expect(exitCodeOf(new Error('boom'))).toBe(1);
    expect(describeError(new Error('boom'))).toMatch(/^amebo: internal error: Error: boom/);
  });
});

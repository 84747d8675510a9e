/** The audit read as exposures (which children, with whom, frozen or not, how soon), and the HTML page built from it. */
import { describe, expect, it } from 'vitest';
import type { AuditReport, AuditedChat, EventRef } from '../../src/audit/episodes.js';
import { exposureView } from '../../src/audit/exposure.js';
import { TIMELINE_ROWS, renderAuditHtml } from '../../src/audit/report-html.js';
import { chartJsSource } from '../../src/cli/audit.js';

const at = (min: number) => new Date(Date.parse('2026-05-01T00:00:00Z') + min * 60_000).toISOString();
const ref = (min: number, eventId = `e${min}`): EventRef => ({
  eventId,
  type: 'member.added',
  topic: 'kids.membership',
  partition: 0,
  offset: min,
  occurredAt: at(min),
});

/** A chat with one episode per [start, end] minute pair, between `pair`, the first of which is a child not allowed the second. */
function chat(
  chatId: string,
  pair: [string, string],
  spans: Array<[number, number | null]>,
  frozenAtMin: number | null,
): AuditedChat {
  const episodes = spans.map(([s, e]) => ({
    start: at(s),
    end: e === null ? null : at(e),
    ongoing: e === null,
    durationMs: ((e ?? 100) - s) * 60_000,
    missing: [{ childId: pair[0], contactId: pair[1] }],
    opened: ref(s),
    closed: e === null ? null : ref(e),
  }));
  return {
    chatId,
    pairs: [{ pair, episodes }],
    firstOffending: ref(spans[0]![0]),
    lastOffending: ref(spans[spans.length - 1]![0]),
    violationMs: episodes.reduce((n, e) => n + e.durationMs, 0),
    ongoing: episodes.some((e) => e.ongoing),
    frozen: frozenAtMin !== null,
    frozenAt: frozenAtMin === null ? null : at(frozenAtMin),
  };
}

function report(chats: AuditedChat[]): AuditReport {
  return {
    summary: {
      records: 500,
      events: 480,
      malformed: { 'invalid-json': 2 },
      outOfOrder: 0,
      firstEventAt: at(0),
      lastEventAt: at(100),
      since: null,
      until: null,
      chats: chats.length,
      ongoing: chats.filter((c) => c.ongoing).length,
      frozen: chats.filter((c) => c.frozen).length,
      seconds: 0.1,
    },
    chats,
  };
}

describe('exposures', () => {
  it('say whether the freeze came while each episode was open, and how soon', () => {
    const r = report([
      chat('frozen-late', ['kid-a', 'stranger'], [[10, null]], 25),
      chat(
        'ended-first',
        ['kid-b', 'x'],
        [
          [0, 5],
          [40, 60],
        ],
        50,
      ),
      chat('never', ['kid-a', 'y'], [[20, 30]], null),
      chat('already', ['kid-c', 'z'], [[70, null]], 60),
    ]);
    const v = exposureView(r);
    const by = (chatId: string) => v.exposures.filter((x) => x.chatId === chatId).map((x) => [x.frozen, x.msToFreeze]);
    expect(by('frozen-late')).toEqual([[true, 15 * 60_000]]);
    // The freeze at 50 came after the first episode ended, during the second.
    expect(by('ended-first')).toEqual([
      [false, null],
      [true, 10 * 60_000],
    ]);
    expect(by('never')).toEqual([[false, null]]);
    // Frozen before this episode began: it was frozen from its first moment.
    expect(by('already')).toEqual([[true, 0]]);
    expect(v.exposures.map((x) => x.start)).toEqual([...v.exposures.map((x) => x.start)].sort((a, b) => a - b));

    expect(v.children).toEqual([
      {
        childId: 'kid-a',
        with: ['stranger', 'y'],
        chats: ['frozen-late', 'never'],
        longestMs: 90 * 60_000,
        ongoing: true,
      },
      { childId: 'kid-b', with: ['x'], chats: ['ended-first'], longestMs: 20 * 60_000, ongoing: false },
      { childId: 'kid-c', with: ['z'], chats: ['already'], longestMs: 30 * 60_000, ongoing: true },
    ]);
    // Time to freeze per frozen chat from its first exposure: 15, 50 and 0 minutes (a freeze before the exposure counts as 0).
    expect(v.totals).toMatchObject({
      chats: 4,
      frozen: 3,
      notFrozen: 1,
      pairs: 4,
      episodes: 5,
      children: 3,
      medianMsToFreeze: 15 * 60_000,
      maxMsToFreeze: 50 * 60_000,
    });
  });
});

describe('the HTML page', () => {
  const chartJs = chartJsSource();

  it('inlines Chart.js and the data, loads nothing, and escapes every id', () => {
    const html = renderAuditHtml(report([chat('<script>alert(1)</script>', ['kid"&', "o'ne"], [[1, 2]], null)]), {
      chartJs,
      generatedAt: new Date(at(200)),
    });
    expect(html).toContain('Chart.js v4');
    expect(html).not.toContain('sourceMappingURL');
    expect(html).toContain("content=\"default-src 'none'; script-src 'unsafe-inline'");
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('kid&quot;&amp; + o&#39;ne');
    // Only the three scripts of the page itself: the data, Chart.js, the drawing.
    expect(html.match(/<script[ >]/g)).toHaveLength(3);
    expect(html.match(/<\/script>/gi)).toHaveLength(3);
  });

  it('shows the totals, and draws at most the longest exposures while listing them all', () => {
    const many = Array.from({ length: TIMELINE_ROWS + 15 }, (_, i) =>
      chat(`c${i}`, [`kid-${i}`, 'stranger'], [[i % 50, (i % 50) + 1 + i]], i % 2 === 0 ? (i % 50) + 1 : null),
    );
    const html = renderAuditHtml(report(many), { chartJs, generatedAt: new Date(at(200)) });
    expect(html).toContain(`<dd data-total="chats">${many.length}</dd>`);
    expect(html).toContain(`<dd data-total="children">${many.length}</dd>`);
    expect(html).toContain('<dd data-total="malformed">2</dd>');
    const data = JSON.parse(/<script type="application\/json" id="audit-data">(.*?)<\/script>/s.exec(html)![1]!) as {
      timeline: Array<{ row: string; durationMs: number }>;
      drawnRows: number;
      allRows: number;
    };
    expect([data.drawnRows, data.allRows]).toEqual([TIMELINE_ROWS, many.length]);
    const drawn = new Set(data.timeline.map((t) => t.row));
    expect(drawn.size).toBe(TIMELINE_ROWS);
    // The 15 shortest are left out of the chart.
    for (let i = 0; i < 15; i++) expect(drawn.has(`c${i} · kid-${i} + stranger`)).toBe(false);
    expect(html.match(/<tr class="/g)).toHaveLength(many.length);
  });
});

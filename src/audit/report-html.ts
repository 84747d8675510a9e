/**
 * The audit report as one self-contained HTML page for the people handling an incident:
 * totals, the exposure timeline per chat (when each unapproved pairing began and ended, frozen or
 * not, and how long until), each chat's time in violation against its time to freeze, and the
 * children affected with whom. Only ids and times: an audit report holds no message text.
 *
 * Self-contained: Chart.js (its UMD build) and the data are inlined, and the page's
 * Content-Security-Policy forbids loading anything, so it opens the same offline, from a mail
 * attachment or a ticket. Tables are plain HTML, readable without scripts.
 */
import type { AuditReport } from './episodes.js';
import type { ExposureView } from './exposure.js';
import { exposureView } from './exposure.js';
import { PAGE_SCRIPT } from './report-page-script.js';
import { formatDuration } from './report-text.js';

/** Pairings drawn in the timeline, and chats in the per-chat chart: the longest; the tables list them all. */
export const TIMELINE_ROWS = 60;

export interface HtmlReportOptions {
  /** Chart.js's UMD build (chart.umd.js), inlined into the page. */
  chartJs: string;
  /** When the page was made, shown in its header. */
  generatedAt: Date;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
const when = (ms: number | null) =>
  ms === null ? '–' : `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
const dur = (ms: number | null) => (ms === null ? '–' : formatDuration(ms));

/** Text safe inside <script>: no `</script`, no `<!--`. */
function scriptSafe(js: string): string {
  return js.replace(/<(\/script|!--)/gi, '\\x3c$1');
}

/** JSON safe inside <script type="application/json">. */
function jsonSafe(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** What the page's script draws. */
function chartData(report: AuditReport, view: ExposureView) {
  const s = report.summary;
  const lastEvent = s.lastEventAt === null ? Date.now() : Date.parse(s.lastEventAt);
  const drawn = [...view.exposures].sort((a, b) => b.durationMs - a.durationMs).slice(0, TIMELINE_ROWS);
  drawn.sort((a, b) => a.start - b.start);
  // Each pairing's bar in two parts: exposed until the chat was frozen, frozen after.
  const timeline = drawn.flatMap((x) => {
    const end = x.end ?? lastEvent;
    const row = {
      row: `${x.chatId} · ${x.pair.join(' + ')}`,
      start: x.start,
      end,
      ongoing: x.ongoing,
      durationMs: x.durationMs,
      msToFreeze: x.msToFreeze,
    };
    const frozenAt = x.msToFreeze === null ? end : x.start + x.msToFreeze;
    const parts = [{ ...row, kind: 'exposed', from: x.start, to: frozenAt }];
    if (frozenAt < end) parts.push({ ...row, kind: 'frozen', from: frozenAt, to: end });
    return parts;
  });
  const from = Math.min(...timeline.map((t) => t.from), lastEvent);
  const to = Math.max(...timeline.map((t) => t.to), from + 1);
  const perChat = report.chats
    .map((c) => ({
      chatId: c.chatId,
      exposureMs: c.violationMs,
      msToFreeze:
        c.frozenAt === null ? null : Math.max(0, Date.parse(c.frozenAt) - Date.parse(c.firstOffending.occurredAt)),
    }))
    .sort((a, b) => b.exposureMs - a.exposureMs || a.chatId.localeCompare(b.chatId))
    .slice(0, TIMELINE_ROWS);
  return { timeline, range: { from, to }, perChat, drawnRows: drawn.length, allRows: view.exposures.length };
}

function totalsSection(view: ExposureView, report: AuditReport): string {
  const t = view.totals;
  const s = report.summary;
  const malformed = Object.values(s.malformed).reduce((a, b) => a + b, 0);
  const items: Array<[key: string, label: string, value: string, tone?: string]> = [
    ['chats', 'Chats in violation', String(t.chats), t.chats > 0 ? 'bad' : 'good'],
    ['ongoing', 'Still in violation', String(t.ongoing), t.ongoing > 0 ? 'bad' : undefined],
    ['frozen', 'Frozen', String(t.frozen)],
    ['notFrozen', 'Never frozen', String(t.notFrozen), t.notFrozen > 0 ? 'warn' : undefined],
    ['children', 'Children affected', String(t.children), t.children > 0 ? 'bad' : undefined],
    ['pairs', 'Unapproved pairings', String(t.pairs)],
    ['episodes', 'Exposures', String(t.episodes)],
    ['exposure', 'Time in violation, all chats', dur(t.exposureMs)],
    ['longest', 'Longest exposure', dur(t.longestMs)],
    ['medianToFreeze', 'Median time to freeze', dur(t.medianMsToFreeze)],
    ['maxToFreeze', 'Longest time to freeze', dur(t.maxMsToFreeze)],
    ['events', 'Events judged', String(s.events)],
    ['malformed', 'Malformed records skipped', String(malformed), malformed > 0 ? 'warn' : undefined],
  ];
  const cells = items.map(
    ([key, label, value, tone]) =>
      `<div class="total${tone ? ` ${tone}` : ''}"><dt>${esc(label)}</dt><dd data-total="${key}">${esc(value)}</dd></div>`,
  );
  return `<section id="totals"><h2>Totals</h2><dl class="totals">${cells.join('')}</dl></section>`;
}

function exposuresTable(view: ExposureView): string {
  const rows = view.exposures.map((x) => {
    const state = x.frozen
      ? `frozen after ${dur(x.msToFreeze)}`
      : x.ongoing
        ? 'ongoing, not frozen'
        : 'ended, not frozen';
    const cls = x.frozen ? 'frozen' : x.ongoing ? 'open' : 'ended';
    return `<tr class="${cls}"><td>${esc(x.chatId)}</td><td>${esc(x.pair.join(' + '))}</td><td>${esc(x.children.join(', '))}</td><td>${when(x.start)}</td><td>${x.end === null ? 'still open' : when(x.end)}</td><td>${dur(x.durationMs)}</td><td>${esc(state)}</td></tr>`;
  });
  return (
    `<section id="exposures"><h2>Every exposure</h2><table><thead><tr><th>Chat</th><th>Pair</th><th>Child(ren) not approved for the other</th><th>Began</th><th>Ended</th><th>Exposed for</th><th>Freeze</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></section>`
  );
}

function childrenTable(view: ExposureView): string {
  const rows = view.children.map(
    (c) =>
      `<tr><td>${esc(c.childId)}</td><td>${esc(c.with.join(', '))}</td><td>${esc(c.chats.join(', '))}</td><td>${dur(c.longestMs)}</td><td>${c.ongoing ? 'yes' : 'no'}</td></tr>`,
  );
  return (
    `<section id="children"><h2>Children affected</h2><p class="note">User ids only. "With" lists the contacts their parent never approved.</p>` +
    `<table><thead><tr><th>Child</th><th>With</th><th>Chats</th><th>Longest exposure</th><th>Still exposed</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`
  );
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1c1c1c;background:#fafafa}
header,section{max-width:1200px;margin:0 auto;padding:12px 24px}
header{border-bottom:1px solid #ddd;background:#fff;max-width:none}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:18px 0 8px}
.meta,.note{color:#555;margin:2px 0}
.totals{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin:0}
.total{background:#fff;border:1px solid #ddd;border-left:5px solid #90a4ae;border-radius:4px;padding:8px 10px}
.total.bad{border-left-color:#c62828}.total.warn{border-left-color:#ef6c00}.total.good{border-left-color:#2e7d32}
.total dt{color:#555;font-size:12px}.total dd{margin:2px 0 0;font-size:20px;font-weight:600}
.chart{position:relative;background:#fff;border:1px solid #ddd;border-radius:4px;padding:8px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #e0e0e0;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0}tr.open td:last-child{color:#c62828;font-weight:600}tr.frozen td:last-child{color:#1565c0}
`;

export function renderAuditHtml(report: AuditReport, opts: HtmlReportOptions): string {
  const view = exposureView(report);
  const data = chartData(report, view);
  const s = report.summary;
  const window = s.since || s.until ? ` · window ${s.since ?? 'the beginning'} .. ${s.until ?? 'the end'}` : '';
  const history = s.firstEventAt
    ? `history ${when(Date.parse(s.firstEventAt))} .. ${when(Date.parse(s.lastEventAt!))}`
    : 'no events';
  const timelineHeight = Math.max(120, data.drawnRows * 22 + 90);
  const drawnNote =
    data.drawnRows < data.allRows
      ? ` The ${data.drawnRows} longest of ${data.allRows} exposures are drawn; the table below lists them all.`
      : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>pairguard audit: ${s.chats} chat${s.chats === 1 ? '' : 's'} in violation</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>pairguard audit: which children, with whom, for how long</h1>
<p class="meta">${esc(history)}${esc(window)} · ${s.events} events judged from ${s.records} records · page made ${when(opts.generatedAt.getTime())}</p></header>
${totalsSection(view, report)}
<section id="timeline"><h2>Exposure timeline</h2><p class="note">One row per unapproved pairing (chat · pair), from when it began to when it ended (or the end of the history): red while the child was exposed in a chat not frozen, blue once pairguard's freeze was requested. Hover a bar for its times.${drawnNote}</p>
<div class="chart" style="height:${timelineHeight}px"><canvas id="timeline-chart" role="img" aria-label="Exposure timeline per chat"></canvas></div></section>
<section id="per-chat"><h2>Per chat: time in violation and time to freeze</h2><p class="note">The chats longest in violation first${report.chats.length > TIMELINE_ROWS ? ` (the ${TIMELINE_ROWS} longest of ${report.chats.length})` : ''}; no blue bar: never frozen, or frozen at once.</p>
<div class="chart" style="height:300px"><canvas id="per-chat-chart" role="img" aria-label="Time in violation and time to freeze per chat"></canvas></div></section>
${childrenTable(view)}
${exposuresTable(view)}
<script type="application/json" id="audit-data">${jsonSafe(data)}</script>
<script>${scriptSafe(opts.chartJs)}</script>
<script>${scriptSafe(PAGE_SCRIPT)}</script>
</body>
</html>
`;
}

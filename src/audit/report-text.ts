/** The audit report as a text table for a terminal: one row per chat, then a summary line. */
import type { AuditReport, AuditedChat, EventRef } from './episodes.js';

/** How many pairs a row names before it says "+N more". */
const PAIRS_SHOWN = 2;

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let s = Math.floor(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.slice(0, 2).join(' ');
}

function when(iso: string): string {
  return `${iso.slice(0, 19).replace('T', ' ')}Z`;
}

function eventCell(e: EventRef): string {
  return `${when(e.occurredAt)} ${e.type} ${e.topic}/${e.partition}@${e.offset}`;
}

function pairsCell(c: AuditedChat): string {
  const names = c.pairs.map((p) => p.pair.join('+'));
  const shown = names.slice(0, PAIRS_SHOWN).join(', ');
  return names.length > PAIRS_SHOWN ? `${shown}, +${names.length - PAIRS_SHOWN} more` : shown;
}

export function renderAuditText(report: AuditReport): string {
  const s = report.summary;
  const header = ['CHAT', 'PAIRS', 'FIRST OFFENDING EVENT', 'LAST OFFENDING EVENT', 'IN VIOLATION', 'FROZEN'];
  const rows = report.chats.map((c) => [
    c.chatId,
    pairsCell(c),
    eventCell(c.firstOffending),
    eventCell(c.lastOffending),
    `${formatDuration(c.violationMs)}${c.ongoing ? ' (ongoing)' : ''}`,
    c.frozen ? 'yes' : 'no',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out: string[] = [];
  if (rows.length > 0) out.push(line(header), ...rows.map(line));
  const malformed = Object.values(s.malformed).reduce((a, b) => a + b, 0);
  const window = s.since || s.until ? ` in ${s.since ?? 'the beginning'} .. ${s.until ?? 'the end'}` : '';
  out.push(
    `${s.chats} chat${s.chats === 1 ? '' : 's'} in violation${window} (${s.ongoing} ongoing, ${s.frozen} frozen) · ` +
      `${s.events} events judged from ${s.records} records in ${s.seconds.toFixed(1)} s` +
      (s.firstEventAt ? ` · history ${when(s.firstEventAt)} .. ${when(s.lastEventAt!)}` : '') +
      (malformed > 0 ? ` · ${malformed} malformed record${malformed === 1 ? '' : 's'} skipped` : '') +
      (s.outOfOrder > 0 ? ` · ${s.outOfOrder} events out of time order` : ''),
  );
  return `${out.join('\n')}\n`;
}

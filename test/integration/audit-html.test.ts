/**
 * `pairguard audit --html`: the page written for a history on a real broker, opened in a real
 * headless Chromium (Debian's package, driven by playwright-core). It must load with no console
 * error and no request beyond its own file, draw its charts, show the totals of the JSON audit of
 * the same topics, and hold no message text. A screenshot is written (docs/audit-report.png, shown
 * in the README, with UPDATE_SCREENSHOTS=1; a temporary file otherwise).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/audit/episodes.js';
import { TIMELINE_ROWS } from '../../src/audit/report-html.js';
import { runAudit } from '../../src/cli/audit.js';
import { replayLines } from '../../src/cli/replay.js';
import { SyntheticPlatform } from '../../src/synthetic/platform.js';
import type { TestEnv } from '../support/harness.js';
import { createTestEnv, kafka } from '../support/harness.js';
import { debianTool } from '../support/tools.js';

const SENTINEL = 'SENTINEL-TEXT-7f3a';
const limits = { maxValueBytes: 262_144, maxMembers: 1000 };
const browserTool = debianTool('chromium', 'chromium');
const dir = mkdtempSync(path.join(tmpdir(), 'pairguard-html-'));
let env: TestEnv | null = null;

afterAll(async () => {
  await env?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** A generated history, some of its flagged chats frozen a few minutes in, and a message whose text must never reach the page. */
function history(): string[] {
  const platform = new SyntheticPlatform({
    seed: 77,
    events: 6_000,
    rates: { 'group-flaw': 15, 'revocation-in-chat': 15, 'unknown-user': 15, 'non-member-message': 15 },
  });
  const lines = [...platform.events()].map((e) => JSON.stringify(e));
  const answers = platform.answers();
  answers.chats.forEach((c, i) => {
    if (i % 3 === 2) return;
    const requestedAt = new Date(Date.parse(c.pairs[0]!.episodes[0]!.start) + (i + 1) * 60_000).toISOString();
    lines.push(
      JSON.stringify({
        $topic: 'control',
        $key: c.chatId,
        $value: JSON.stringify({
          type: 'chat.freeze',
          chatId: c.chatId,
          alertId: `a${i}`,
          reason: 'unapproved-pairing',
          requestedAt,
        }),
      }),
    );
  });
  const chat = answers.chats[0]!;
  lines.push(
    JSON.stringify({
      type: 'message.sent',
      eventId: 'sentinel',
      occurredAt: answers.lastEventAt,
      chatId: chat.chatId,
      messageId: 'm-sentinel',
      senderId: chat.pairs[0]!.pair[0],
      text: SENTINEL,
    }),
  );
  return lines;
}

describe.skipIf(browserTool.skip)('the audit as an HTML page, in headless Chromium', () => {
  it('loads offline with no console error, draws its charts and shows the totals of the JSON audit', async () => {
    env = await createTestEnv();
    await replayLines({ kafka, topics: env.config.topics, createPartitions: 0 }, history());
    const file = path.join(dir, 'report.html');
    const base = { kafka, topics: env.config.topics, limits, progress: false };
    const json = JSON.parse((await runAudit({ ...base, json: true })).output) as AuditReport;
    await runAudit({ ...base, json: false, html: file });
    expect(json.summary).toMatchObject({ events: 6_001, malformed: {} });
    expect(json.summary.chats).toBeGreaterThan(10);
    expect(json.summary.frozen).toBeGreaterThan(5);
    expect(json.summary.frozen).toBeLessThan(json.summary.chats);

    const html = readFileSync(file, 'utf8');
    expect(html).not.toContain(SENTINEL);
    expect(html).toContain('Chart.js v4');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);

    const browser = await chromium.launch({
      executablePath: browserTool.command()[0],
      args: ['--no-sandbox', '--headless'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('body[data-charts="drawn"]', { timeout: 15_000 });
      expect(problems).toEqual([]);
      expect(requests).toEqual([pathToFileURL(file).href]);

      const shown = await page.$$eval('[data-total]', (els) =>
        Object.fromEntries(els.map((e) => [e.getAttribute('data-total')!, e.textContent!.trim()])),
      );
      const episodes = json.chats.flatMap((c) => c.pairs.flatMap((p) => p.episodes));
      const children = new Set(episodes.flatMap((e) => e.missing.map((m) => m.childId)));
      expect(shown).toMatchObject({
        chats: String(json.summary.chats),
        ongoing: String(json.summary.ongoing),
        frozen: String(json.summary.frozen),
        notFrozen: String(json.summary.chats - json.summary.frozen),
        pairs: String(json.chats.reduce((n, c) => n + c.pairs.length, 0)),
        episodes: String(episodes.length),
        children: String(children.size),
        events: String(json.summary.events),
      });
      // One table row per exposure and per child; the timeline draws the longest of them.
      expect(await page.locator('#exposures tbody tr').count()).toBe(episodes.length);
      expect(await page.locator('#children tbody tr').count()).toBe(children.size);
      const charts = await page.evaluate(() => {
        const chart = (id: string) =>
          (
            globalThis as unknown as { Chart: { getChart(id: string): { data: { labels: unknown[] } } | undefined } }
          ).Chart.getChart(id);
        return {
          timelineRows: chart('timeline-chart')?.data.labels.length,
          perChat: chart('per-chat-chart')?.data.labels.length,
        };
      });
      expect(charts).toEqual({
        timelineRows: Math.min(TIMELINE_ROWS, episodes.length),
        perChat: Math.min(TIMELINE_ROWS, json.summary.chats),
      });

      const shot = process.env.UPDATE_SCREENSHOTS ? 'docs/audit-report.png' : path.join(dir, 'audit-report.png');
      await page.screenshot({ path: shot });
      expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
      expect(statSync(shot).size).toBeGreaterThan(20_000);
    } finally {
      await browser.close();
    }
  });
});

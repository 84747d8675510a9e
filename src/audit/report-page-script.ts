/**
 * The script of the audit's HTML page, run in the browser once Chart.js (inlined before it) has
 * loaded: it reads the page's embedded JSON and draws the exposure timeline and the per-chat
 * chart. Plain ES2020 in a string, so no bundler or transpiler helper ends up in the page.
 * Sets `document.body.dataset.charts = "drawn"` when done (the browser test waits for it).
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('audit-data').textContent);
  var RED = '#c62828', BLUE = '#1565c0', GREY = '#757575';

  function when(ms) { return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + 'Z'; }
  function duration(ms) {
    if (ms === null || ms === undefined) return '–';
    if (ms < 1000) return ms + ' ms';
    var s = Math.floor(ms / 1000), out = [];
    [['d', 86400], ['h', 3600], ['m', 60]].forEach(function (u) { if (s >= u[1]) { out.push(Math.floor(s / u[1]) + u[0]); s %= u[1]; } });
    if (s > 0 || out.length === 0) out.push(s + 's');
    return out.slice(0, 2).join(' ');
  }
  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;

  function drawTimeline() {
    var rows = data.timeline;
    if (rows.length === 0) return;
    var labels = [];
    rows.forEach(function (r) { if (labels.indexOf(r.row) < 0) labels.push(r.row); });
    function bars(kind) {
      return rows.filter(function (r) { return r.kind === kind; }).map(function (r) { return { x: [r.from, r.to], y: r.row, r: r }; });
    }
    new Chart(document.getElementById('timeline-chart'), {
      type: 'bar',
      data: {
        labels: labels,
        datasets: [
          { label: 'exposed: chat not frozen', data: bars('exposed'), backgroundColor: RED },
          { label: 'chat frozen by pairguard', data: bars('frozen'), backgroundColor: BLUE },
        ],
      },
      options: {
        indexAxis: 'y',
        maintainAspectRatio: false,
        grouped: false,
        barPercentage: 0.8,
        categoryPercentage: 1,
        scales: {
          x: { type: 'linear', position: 'top', min: data.range.from, max: data.range.to, ticks: { maxTicksLimit: 8, callback: function (v) { return when(v); } } },
          y: { ticks: { autoSkip: false } },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var r = ctx.raw.r;
                var freeze = r.msToFreeze === null ? 'chat not frozen' : 'chat frozen ' + duration(r.msToFreeze) + ' after it began';
                return [when(r.start) + ' → ' + (r.ongoing ? 'still open' : when(r.end)), 'exposed ' + duration(r.durationMs) + ', ' + freeze];
              },
            },
          },
        },
      },
    });
  }

  function drawPerChat() {
    var chats = data.perChat;
    if (chats.length === 0) return;
    // Minutes to freeze beside days in violation: only a log scale shows both.
    new Chart(document.getElementById('per-chat-chart'), {
      type: 'bar',
      data: {
        labels: chats.map(function (c) { return c.chatId; }),
        datasets: [
          { label: 'time in violation', data: chats.map(function (c) { return c.exposureMs || null; }), backgroundColor: RED },
          { label: 'time to freeze', data: chats.map(function (c) { return c.msToFreeze || null; }), backgroundColor: BLUE },
        ],
      },
      options: {
        maintainAspectRatio: false,
        scales: {
          y: { type: 'logarithmic', title: { display: true, text: 'duration (log scale)' }, ticks: { maxTicksLimit: 8, callback: function (v) { return duration(v); } } },
          x: { ticks: { color: GREY } },
        },
        plugins: { tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ': ' + duration(ctx.raw); } } } },
      },
    });
  }

  drawTimeline();
  drawPerChat();
  document.body.dataset.charts = 'drawn';
})();
`;

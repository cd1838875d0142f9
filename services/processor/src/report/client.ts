/**
 * The report page's own script (plain browser JavaScript, inlined after uPlot): reads the chart data from
 * the `rstwatch-data` JSON element and draws the charts, stacked bars over time by cause and by origin and
 * horizontal stacked bars for the top senders, receivers and services. Each chart is registered in
 * `window.rstwatchCharts` (name -> uPlot instance) and its container gets `data-series` (the number of
 * series drawn), so a browser test can check what was drawn.
 */
export const CLIENT_JS = `(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('rstwatch-data').textContent);
  var charts = {};
  window.rstwatchCharts = charts;
  var FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  var AXIS = { stroke: '#555', font: FONT, grid: { stroke: '#eceef1', width: 1 }, ticks: { stroke: '#d5d8dc', width: 1 } };

  function axis(extra) {
    var a = {};
    for (var k in AXIS) a[k] = AXIS[k];
    for (var j in extra) a[j] = extra[j];
    return a;
  }

  function fmtCount(n) {
    return n == null ? '–' : Number(n).toLocaleString('en-US');
  }

  // Stacked bars drawn back to front: series i holds the sum of series i..n-1, so the part of bar i left
  // visible above bar i+1 is exactly series i. The legend shows the raw counts.
  function cumulative(rows) {
    var out = [];
    for (var i = rows.length - 1; i >= 0; i--) {
      var acc = rows[i].slice();
      if (out.length > 0) for (var k = 0; k < acc.length; k++) acc[k] += out[0][k];
      out.unshift(acc);
    }
    return out;
  }

  function seriesFor(names, raw, colors, align) {
    return names.map(function (name, i) {
      return {
        label: name,
        stroke: colors[name],
        fill: colors[name],
        width: 0,
        points: { show: false },
        paths: uPlot.paths.bars({ size: [0.86, 64], align: align }),
        value: function (u, v, si, di) {
          return di == null ? '–' : fmtCount(raw[i][di]);
        },
      };
    });
  }

  function register(name, el, u, n) {
    charts[name] = u;
    el.setAttribute('data-series', String(n));
    var resize = function () {
      u.setSize({ width: el.clientWidth, height: u.height });
    };
    window.addEventListener('resize', resize);
  }

  function timeChart(name, groups, colors) {
    var el = document.querySelector('[data-chart="' + name + '"]');
    if (!el || data.time.t.length === 0) return;
    var names = groups.map(function (g) { return g.name; });
    var raw = groups.map(function (g) { return g.counts; });
    var step = data.time.stepMs / 1000;
    var t = data.time.t;
    var opts = {
      width: el.clientWidth,
      height: 260,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
      legend: { live: true },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: function () { return [data.time.t[0], data.time.t[data.time.t.length - 1] + step]; } },
        y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.05)]; } },
      },
      axes: [axis({}), axis({ size: 48, values: function (u, splits) { return splits.map(fmtCount); } })],
      series: [{ label: 'time (UTC)', value: '{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}' }].concat(seriesFor(names, raw, colors, 1)),
    };
    var u = new uPlot(opts, [t].concat(cumulative(raw)), el);
    register(name, el, u, names.length);
  }

  function topChart(name, rows) {
    var el = document.querySelector('[data-chart="' + name + '"]');
    if (!el || rows.length === 0) return;
    var causes = data.causes.filter(function (c, ci) {
      return rows.some(function (r) { return r.byCause[ci] > 0; });
    });
    var idx = causes.map(function (c) { return data.causes.indexOf(c); });
    var raw = idx.map(function (ci) { return rows.map(function (r) { return r.byCause[ci]; }); });
    var labels = rows.map(function (r) { return r.key; });
    var longest = labels.reduce(function (m, l) { return Math.max(m, l.length); }, 0);
    var x = rows.map(function (r, i) { return i; });
    var opts = {
      width: el.clientWidth,
      height: 48 + rows.length * 26,
      legend: { live: true },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: {
        x: { time: false, ori: 1, dir: 1, range: [-0.5, rows.length - 0.5] },
        y: { ori: 0, range: function (u, min, max) { return [0, Math.max(1, max * 1.05)]; } },
      },
      axes: [
        axis({
          side: 3,
          grid: { show: false },
          size: Math.min(300, 16 + longest * 7),
          splits: function () { return x; },
          values: function (u, splits) { return splits.map(function (s) { return labels[s] || ''; }); },
        }),
        axis({ side: 2, values: function (u, splits) { return splits.map(fmtCount); } }),
      ],
      series: [
        {
          label: name.replace('top-', ''),
          value: function (u, v, si, di) { return di == null ? '–' : labels[di] + ' (' + fmtCount(rows[di].total) + ')'; },
        },
      ].concat(seriesFor(causes, raw, data.colors.cause, 0)),
    };
    var u = new uPlot(opts, [x].concat(cumulative(raw)), el);
    register(name, el, u, causes.length);
  }

  timeChart('time-cause', data.time.byCause, data.colors.cause);
  timeChart('time-origin', data.time.byOrigin, data.colors.origin);
  topChart('top-senders', data.top.senders);
  topChart('top-receivers', data.top.receivers);
  topChart('top-services', data.top.services);
  document.documentElement.setAttribute('data-charts-ready', String(Object.keys(charts).length));
})();
`;

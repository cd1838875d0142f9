/**
 * The report page's own script (plain browser JavaScript, inlined after uPlot): reads the chart data from
 * the `rstwatch-data` JSON element and draws the charts, stacked bars over time by cause and by origin and
 * horizontal stacked bars for the top senders, receivers and services. Each chart is registered in
 * `window.rstwatchCharts` (name -> uPlot instance; top charts carry `rowLabels`) and its container gets `data-series` (the number of
 * series drawn), so a browser test can check what was drawn.
 */
export const CLIENT_JS = String.raw`(function () {
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

  function two(n) {
    return (n < 10 ? '0' : '') + n;
  }

  // Time ticks in UTC, 24 h: the date on the first tick and where it changes.
  function timeValues(u, splits, ai, space, incr) {
    var prevDay = '';
    return splits.map(function (s) {
      var d = new Date(s * 1000);
      var day = d.toISOString().slice(0, 10);
      if (incr >= 86400) return day;
      var hms = two(d.getUTCHours()) + ':' + two(d.getUTCMinutes());
      if (incr < 60) hms += ':' + two(d.getUTCSeconds());
      // Below a second the hour is on the date line: minutes, seconds and milliseconds only.
      if (incr < 1) hms = hms.slice(3) + '.' + String(d.getUTCMilliseconds()).padStart(3, '0');
      if (incr < 1 && day !== prevDay) day += ' ' + two(d.getUTCHours()) + ' h';
      var label = day !== prevDay ? hms + '\n' + day : hms;
      prevDay = day;
      return label;
    });
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
      axes: [axis({ values: timeValues, size: 54, space: 80 }), axis({ size: 48, values: function (u, splits) { return splits.map(fmtCount); } })],
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
    // No legend (the colours are the causes table's); one line under the chart tells the hovered row.
    var readout = document.createElement('div');
    readout.className = 'readout';
    readout.textContent = 'Hover a bar for its causes.';
    var opts = {
      width: el.clientWidth,
      height: 40 + rows.length * 26,
      legend: { show: false },
      hooks: {
        setCursor: [
          function (u) {
            var i = u.cursor.idx;
            if (i == null) return;
            var parts = idx
              .map(function (ci, k) { return [causes[k], raw[k][i]]; })
              .filter(function (p) { return p[1] > 0; })
              .sort(function (a, b) { return b[1] - a[1]; })
              .map(function (p) { return p[0] + ' ' + fmtCount(p[1]); });
            readout.textContent = labels[i] + ': ' + fmtCount(rows[i].total) + ' RSTs (' + parts.join(', ') + ')';
          },
        ],
      },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: {
        x: { time: false, ori: 1, dir: -1, range: [-0.5, rows.length - 0.5] },
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
    u.rowLabels = labels;
    el.appendChild(readout);
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

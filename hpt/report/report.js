/* hpt report: the sortable trial table and the plots, drawn as inline SVG from the JSON island.
   No libraries: the report must open offline from a single file. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("hpt-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = {
    completed: "#2e6fd8", terminated: "#e8891c", failed: "#d92d20", timed_out: "#9e3fcf",
    cancelled: "#98a2b3", running: "#12b76a", proposed: "#98a2b3"
  };
  var SIGN = D.goal === "maximize" ? 1 : -1;
  var MANY = D.trials.length > 400;

  function svg(tag, attrs, parent) {
    var node = document.createElementNS(NS, tag);
    for (var k in attrs) { if (attrs[k] !== undefined) node.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(node);
    return node;
  }
  function html(tag, attrs, parent, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function title(node, text) { svg("title", {}, node).textContent = text; }
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function fmt(v) {
    if (v === null || v === undefined) return "-";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v)) return String(v);
    var a = Math.abs(v);
    return (a !== 0 && (a < 1e-3 || a >= 1e6)) ? v.toExponential(3) : v.toFixed(5).replace(/0+$/, "0");
  }
  function extent(values) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) { if (isNum(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } });
    if (lo === Infinity) return [0, 1];
    if (lo === hi) { var pad = Math.abs(lo) * 0.05 || 0.5; return [lo - pad, hi + pad]; }
    var margin = (hi - lo) * 0.04;  // marks on the extremes stay inside the frame
    return [lo - margin, hi + margin];
  }
  function tickText(t) { return String(+t.toPrecision(10)); }
  function ticks(lo, hi, n) {
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    var err = (hi - lo) / n / step;
    if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(+t.toPrecision(12));
    return out;
  }
  function scale(d0, d1, r0, r1, log) {
    if (log) {
      var l0 = Math.log(d0), l1 = Math.log(d1);
      return function (v) { return r0 + (Math.log(v) - l0) / (l1 - l0 || 1) * (r1 - r0); };
    }
    return function (v) { return r0 + (v - d0) / ((d1 - d0) || 1) * (r1 - r0); };
  }
  function empty(container, text) {
    html("p", { "class": "empty" }, container, text);
    container.setAttribute("data-marks", "0");
  }

  /* An x/y frame with axes, ticks and labels; returns the scales and the svg. */
  function frame(container, xd, yd, xlabel, ylabel, opts) {
    opts = opts || {};
    var W = opts.width || 640, H = opts.height || 320, L = 70, R = 14, T = 12, B = 42;
    var root = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H }, container);
    var x = scale(xd[0], xd[1], L, W - R), y = scale(yd[0], yd[1], H - B, T);
    var axis = svg("g", { "class": "axis" }, root);
    svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B }, axis);
    svg("line", { x1: L, x2: L, y1: T, y2: H - B }, axis);
    (opts.xticks || ticks(xd[0], xd[1], 6)).forEach(function (t) {
      svg("line", { x1: x(t), x2: x(t), y1: H - B, y2: H - B + 4 }, axis);
      svg("text", { x: x(t), y: H - B + 16, "text-anchor": "middle" }, axis).textContent =
        opts.xformat ? opts.xformat(t) : tickText(t);
    });
    ticks(yd[0], yd[1], 5).forEach(function (t) {
      svg("line", { x1: L - 4, x2: L, y1: y(t), y2: y(t) }, axis);
      svg("line", { x1: L, x2: W - R, y1: y(t), y2: y(t), stroke: "#f0f1f3" }, axis);
      svg("text", { x: L - 7, y: y(t) + 4, "text-anchor": "end" }, axis).textContent = tickText(t);
    });
    svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, root).textContent = xlabel;
    svg("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle",
      transform: "rotate(-90 14 " + (T + H - B) / 2 + ")" }, root).textContent = ylabel;
    return { svg: root, x: x, y: y, marks: svg("g", { "class": "marks" }, root) };
  }

  function legend(container, statuses) {
    var box = html("div", { "class": "legend" }, container);
    statuses.forEach(function (s) {
      var span = html("span", {}, box);
      html("i", { style: "background:" + COLORS[s] }, span);
      span.appendChild(document.createTextNode(s));
    });
  }

  /* -- the trial table ------------------------------------------------------------------------ */
  function trialTable() {
    var table = document.getElementById("trials-table");
    var columns = [
      { key: "id", label: "trial", get: function (t) { return t.n; } },
      { key: "status", label: "status", get: function (t) { return t.status; } },
      { key: "value", label: D.metric, num: true, get: function (t) { return t.value; } }
    ];
    D.param_names.forEach(function (name) {
      columns.push({ key: "p:" + name, label: name, num: true,
        get: function (t) { return t.params[name]; } });
    });
    columns.push({ key: "last", label: "last interval", num: true,
      get: function (t) { return t.values.length ? t.values[t.values.length - 1] : null; } });
    columns.push({ key: "duration", label: "duration (s)", num: true, get: function (t) { return t.duration; } });
    columns.push({ key: "intervals", label: "intervals", num: true, get: function (t) { return t.values.length; } });
    columns.push({ key: "attempts", label: "attempts", num: true, get: function (t) { return t.attempts; } });
    var thead = html("thead", {}, table), tr = html("tr", {}, thead);
    var tbody = html("tbody", {}, table);
    var state = { col: 2, dir: -SIGN };
    var bestId = D.best ? D.best.trial : null;
    columns.forEach(function (c, i) {
      var th = html("th", { "class": c.num ? "num" : "", "data-col": String(i) }, tr, c.label);
      th.addEventListener("click", function () {
        state.dir = state.col === i ? -state.dir : (c.key === "value" ? -SIGN : 1);
        state.col = i;
        render();
      });
    });
    function compare(a, b) {
      var get = columns[state.col].get, va = get(a), vb = get(b);
      var na = va === null || va === undefined, nb = vb === null || vb === undefined;
      if (na || nb) return na && nb ? a.n - b.n : (na ? 1 : -1);  // unknown values always last
      if (typeof va === "number" && typeof vb === "number") return (va - vb) * state.dir || a.n - b.n;
      return String(va).localeCompare(String(vb)) * state.dir || a.n - b.n;
    }
    // One page of rows in the DOM at a time, each row built once, on first show: a sort of
    // thousands of trials costs an array sort and the layout of one page, not of every row.
    var PAGE = 100, page = 0, sorted = [];
    var rowOf = {};
    var pager = html("div", { "class": "pager" });
    table.parentNode.parentNode.insertBefore(pager, table.parentNode.nextSibling);
    var prev = html("button", { type: "button", id: "trials-prev" }, pager, "\u2039 previous");
    var where = html("span", { id: "trials-where" }, pager);
    var next = html("button", { type: "button", id: "trials-next" }, pager, "next \u203a");
    prev.addEventListener("click", function () { if (page > 0) { page--; show(); } });
    next.addEventListener("click", function () { if ((page + 1) * PAGE < sorted.length) { page++; show(); } });
    function rowFor(t) {
      if (rowOf[t.id]) return rowOf[t.id];
      var row = html("tr", t.id === bestId ? { "class": "best" } : {});
      columns.forEach(function (c) {
        var td = html("td", c.num ? { "class": "num" } : {}, row);
        if (c.key === "status") {
          html("span", { "class": "status", style: "background:" + (COLORS[t.status] || "#999") }, td, t.status);
        } else if (c.key === "id") {
          td.textContent = t.id;
        } else {
          td.textContent = fmt(c.get(t));
        }
      });
      return (rowOf[t.id] = row);
    }
    function show() {
      var frag = document.createDocumentFragment();
      sorted.slice(page * PAGE, (page + 1) * PAGE).forEach(function (t) { frag.appendChild(rowFor(t)); });
      tbody.textContent = "";
      tbody.appendChild(frag);
      var last = Math.min(sorted.length, (page + 1) * PAGE);
      where.textContent = " trials " + (sorted.length ? page * PAGE + 1 : 0) + "\u2013" + last + " of " + sorted.length + " ";
      prev.disabled = page === 0;
      next.disabled = last >= sorted.length;
      pager.style.display = sorted.length > PAGE ? "" : "none";
    }
    function render() {
      var started = performance.now();
      sorted = D.trials.slice().sort(compare);
      page = 0;
      show();
      Array.prototype.forEach.call(tr.children, function (th, i) {
        th.classList.remove("asc", "desc");
        if (i === state.col) th.classList.add(state.dir > 0 ? "asc" : "desc");
      });
      table.setAttribute("data-sorted-by", columns[state.col].key);
      table.setAttribute("data-sort-ms", (performance.now() - started).toFixed(1));
    }
    render();
  }

  /* -- primary metric over intervals --------------------------------------------------------- */
  function intervals() {
    var box = document.getElementById("plot-intervals");
    var withValues = D.trials.filter(function (t) { return t.values.some(isNum); });
    if (!withValues.length) return empty(box, "No interval reports yet.");
    var maxLen = Math.max.apply(null, withValues.map(function (t) { return t.values.length; }));
    var all = [];
    withValues.forEach(function (t) { t.values.forEach(function (v) { all.push(v); }); });
    var f = frame(box, [1, Math.max(2, maxLen)], extent(all), "interval", D.metric,
      { xticks: ticks(1, Math.max(2, maxLen), Math.min(10, maxLen)).filter(Number.isInteger) });
    withValues.forEach(function (t) {
      var pts = [];
      t.values.forEach(function (v, i) { if (isNum(v)) pts.push(f.x(i + 1).toFixed(1) + "," + f.y(v).toFixed(1)); });
      var line = svg(pts.length > 1 ? "polyline" : "circle", pts.length > 1 ? {
        points: pts.join(" "), fill: "none", stroke: COLORS[t.status] || "#999",
        "stroke-width": MANY ? 1 : 1.6, "stroke-opacity": MANY ? 0.35 : 0.8, "data-trial": t.id
      } : { cx: pts[0].split(",")[0], cy: pts[0].split(",")[1], r: 3, fill: COLORS[t.status] || "#999", "data-trial": t.id }, f.marks);
      if (!MANY) title(line, "trial " + t.id + " (" + t.status + "): " + fmt(t.values[t.values.length - 1]));
      if (t.status === "terminated" && pts.length) {
        var last = pts[pts.length - 1].split(",");
        svg("circle", { cx: last[0], cy: last[1], r: 3.5, fill: COLORS.terminated, "class": "stop" }, f.marks);
      }
    });
    box.setAttribute("data-marks", String(withValues.length));
    legend(box, ["completed", "terminated", "failed", "cancelled"]);
  }

  /* -- best so far over time ---------------------------------------------------------------- */
  function bestSoFar() {
    var box = document.getElementById("plot-best");
    var t0 = D.times.started || 0;
    var done = D.trials.filter(function (t) { return isNum(t.end) && isNum(t.value); })
      .sort(function (a, b) { return a.end - b.end; });
    if (!done.length) return empty(box, "No trial has a final value yet.");
    var span = done[done.length - 1].end - t0, unit = span < 120 ? 1 : 60;
    var xs = done.map(function (t) { return (t.end - t0) / unit; });
    var f = frame(box, [0, Math.max(xs[xs.length - 1], 1e-3)], extent(done.map(function (t) { return t.value; })),
      (unit === 1 ? "seconds" : "minutes") + " since the sweep started", D.metric);
    var best = null, path = [];
    done.forEach(function (t, i) {
      var dot = svg("circle", { cx: f.x(xs[i]), cy: f.y(t.value), r: MANY ? 1.8 : 3,
        fill: COLORS[t.status] || "#999", "fill-opacity": 0.6 }, f.marks);
      if (!MANY) title(dot, "trial " + t.id + ": " + fmt(t.value));
      if (t.status !== "completed") return;
      if (best === null || SIGN * t.value > SIGN * best) {
        if (best !== null) path.push(f.x(xs[i]).toFixed(1) + "," + f.y(best).toFixed(1));
        best = t.value;
        path.push(f.x(xs[i]).toFixed(1) + "," + f.y(best).toFixed(1));
      }
    });
    if (best !== null) {
      path.push(f.x(xs[xs.length - 1]).toFixed(1) + "," + f.y(best).toFixed(1));
      svg("polyline", { points: path.join(" "), fill: "none", stroke: "#027a48", "stroke-width": 2,
        "class": "best-line" }, f.marks);
    }
    box.setAttribute("data-marks", String(done.length));
  }

  /* -- parallel coordinates ------------------------------------------------------------------ */
  function parallel() {
    var box = document.getElementById("plot-parallel");
    var rows = D.trials.filter(function (t) { return isNum(t.value); });
    if (!rows.length || !D.param_names.length) return empty(box, "No trial with a final value yet.");
    var dims = D.param_names.map(function (name) {
      var vals = rows.map(function (t) { return t.params[name]; });
      var numeric = vals.every(isNum);
      var distinct = Array.from(new Set(vals.map(String)));
      if (numeric && distinct.length > 6) {
        var e = extent(vals), log = e[0] > 0 && e[1] / e[0] > 100;
        return { name: name, numeric: true, log: log, domain: e, get: function (t) { return t.params[name]; } };
      }
      // Few values (a grid's choices) sit on evenly spaced ticks, in numeric order when numbers.
      var cats = numeric ? distinct.sort(function (a, b) { return +a - +b; }) : distinct.sort();
      return { name: name, numeric: false, cats: cats, get: function (t) { return String(t.params[name]); } };
    });
    dims.push({ name: D.metric, numeric: true, log: false, domain: extent(rows.map(function (t) { return t.value; })),
      get: function (t) { return t.value; } });
    var W = Math.max(640, 130 * dims.length), H = 340, T = 24, B = 40, L = 60, R = 60;
    var root = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H }, box);
    var step = (W - L - R) / Math.max(1, dims.length - 1);
    dims.forEach(function (d, i) {
      d.x = L + i * step;
      if (d.numeric) d.y = scale(d.domain[0], d.domain[1], H - B, T, d.log);
      else d.y = function (v) { var k = d.cats.indexOf(v); return d.cats.length > 1 ? H - B - k * (H - B - T) / (d.cats.length - 1) : (H - B + T) / 2; };
    });
    var vd = dims[dims.length - 1].domain;
    var lines = svg("g", { "class": "marks" }, root);
    rows.slice().sort(function (a, b) { return SIGN * (a.value - b.value); }).forEach(function (t) {
      var q = (t.value - vd[0]) / ((vd[1] - vd[0]) || 1);
      if (SIGN < 0) q = 1 - q;
      var hue = 210, light = 88 - 55 * q;  // better = darker blue
      var pts = dims.map(function (d) { return d.x.toFixed(1) + "," + d.y(d.get(t)).toFixed(1); });
      var line = svg("polyline", { points: pts.join(" "), fill: "none",
        stroke: "hsl(" + hue + ",70%," + light.toFixed(0) + "%)", "stroke-width": MANY ? 1 : 1.5,
        "stroke-opacity": MANY ? 0.5 : 0.9, "data-trial": t.id }, lines);
      if (!MANY) title(line, "trial " + t.id + ": " + fmt(t.value));
    });
    dims.forEach(function (d) {
      var g = svg("g", { "class": "axis" }, root);
      svg("line", { x1: d.x, x2: d.x, y1: T, y2: H - B, stroke: "#475467" }, g);
      svg("text", { x: d.x, y: H - B + 18, "text-anchor": "middle", "font-weight": "600" }, g).textContent = d.name;
      var marks = d.numeric ? (d.log ? [d.domain[0], Math.sqrt(d.domain[0] * d.domain[1]), d.domain[1]] : ticks(d.domain[0], d.domain[1], 4)) : d.cats;
      marks.forEach(function (m) {
        svg("text", { x: d.x + 5, y: d.y(m) + 4, "font-size": 10 }, g).textContent = d.numeric ? tickText(m) : m;
      });
    });
    var left = D.trials.length - rows.length;
    if (left) html("p", { "class": "note" }, box, left + " trial(s) without a final value (terminated, failed, running) are not drawn.");
    box.setAttribute("data-marks", String(rows.length));
  }

  /* -- per-fold scores of the top trials ----------------------------------------------------- */
  function folds() {
    var box = document.getElementById("plot-folds");
    var rows = D.trials.filter(function (t) { return isNum(t.value) && t.folds.some(isNum); })
      .sort(function (a, b) { return SIGN * (b.value - a.value); }).slice(0, 10);
    if (!rows.length) return empty(box, "No trial with fold scores yet.");
    var all = [];
    rows.forEach(function (t) { t.folds.forEach(function (v) { all.push(v); }); });
    var f = frame(box, [-0.5, rows.length - 0.5], extent(all), "top trials (best first)", D.metric + " per fold",
      { xticks: rows.map(function (_, i) { return i; }), xformat: function (i) { return rows[i] ? rows[i].id : ""; } });
    rows.forEach(function (t, i) {
      t.folds.forEach(function (v, k) {
        if (!isNum(v)) return;
        var dot = svg("circle", { cx: f.x(i) + (k - (t.folds.length - 1) / 2) * 5, cy: f.y(v), r: 3.2,
          fill: COLORS.completed, "fill-opacity": 0.75 }, f.marks);
        title(dot, "trial " + t.id + " fold " + k + ": " + fmt(v));
      });
      svg("line", { x1: f.x(i) - 16, x2: f.x(i) + 16, y1: f.y(t.value), y2: f.y(t.value), stroke: "#101828",
        "stroke-width": 2 }, f.marks);
    });
    box.setAttribute("data-marks", String(rows.length));
  }

  var drawStart = performance.now();
  [trialTable, intervals, bestSoFar, parallel, folds].forEach(function (draw) { draw(); });
  document.body.setAttribute("data-draw-ms", (performance.now() - drawStart).toFixed(1));
  document.body.setAttribute("data-rendered", "1");
})();

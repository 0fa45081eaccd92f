// forgeproof dashboard: fetches data.json and draws it as inline SVG.
// Every value from the data is inserted with textContent or as an SVG
// attribute, never as markup: origins are attacker-chosen strings.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const W = 900, H = 220, L = 44, R = 8, T = 10, B = 24; // chart box and margins
  const PALETTE = ["#f85149", "#d29922", "#a371f7", "#58a6ff", "#db61a2", "#3fb950", "#ff7b72",
    "#e3b341", "#79c0ff", "#bc8cff", "#56d364", "#ffa657", "#f778ba", "#7ee787", "#a5d6ff"];
  const params = new URLSearchParams(location.search);
  const refresh = Math.max(1, Number(params.get("refresh")) || 5);
  document.getElementById("refresh").textContent = String(refresh);

  function el(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // perMinute sums a series of points of step seconds into minutes.
  function perMinute(series, step) {
    const g = Math.max(1, Math.round(60 / step));
    const out = [];
    for (let i = series.length % g; i < series.length; i += g) {
      let s = 0;
      for (let j = i; j < i + g && j < series.length; j++) s += series[j];
      out.push(s);
    }
    return out;
  }

  const sum = (xs) => xs.reduce((a, b) => a + b, 0);

  // scale returns the y axis for counts up to v: a step of 1, 2 or 5 times
  // a power of ten (at least 1, since counts are whole), chosen so that at
  // most four steps reach v, and the top of the axis, a whole number of
  // steps. Every label is then a multiple of the step: 0, 2, 4, 6, never
  // 0, 1, 3, 4, 5.
  function scale(v) {
    v = Math.max(1, v);
    const raw = v / 4;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    let step = 10 * p;
    for (const m of [1, 2, 5]) if (raw <= m * p) { step = m * p; break; }
    step = Math.max(1, step);
    return { max: step * Math.ceil(v / step), step };
  }

  function axes(svg, n, sc) {
    for (let k = 0; k * sc.step <= sc.max; k++) {
      const y = T + (H - T - B) * (1 - k * sc.step / sc.max);
      svg.appendChild(el("line", { class: "grid", x1: L, x2: W - R, y1: y, y2: y }));
      svg.appendChild(el("text", { class: "y-label", x: L - 6, y: y + 4, "text-anchor": "end" }, String(k * sc.step)));
    }
    const labels = [[0, "-60m"], [0.25, "-45m"], [0.5, "-30m"], [0.75, "-15m"], [1, "now"]];
    for (const [f, s] of labels) {
      svg.appendChild(el("text", { x: L + (W - L - R) * f, y: H - 6, "text-anchor": f === 0 ? "start" : f === 1 ? "end" : "middle" }, s));
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function drawRequests(allowed, rejected) {
    const svg = document.getElementById("chart-requests");
    clear(svg);
    const n = allowed.length;
    const sc = scale(Math.max(...allowed, ...rejected));
    const max = sc.max;
    axes(svg, n, sc);
    const x = (i) => L + (W - L - R) * (n === 1 ? 1 : i / (n - 1));
    const y = (v) => T + (H - T - B) * (1 - v / max);
    for (const [series, color, name] of [[allowed, "#3fb950", "allowed"], [rejected, "#f85149", "rejected"]]) {
      let line = "";
      series.forEach((v, i) => { line += (i ? " L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1); });
      const area = line + " L" + x(n - 1).toFixed(1) + " " + y(0) + " L" + x(0).toFixed(1) + " " + y(0) + " Z";
      svg.appendChild(el("path", { d: area, fill: color, "fill-opacity": 0.15, stroke: "none" }));
      svg.appendChild(el("path", { d: line, fill: "none", stroke: color, "stroke-width": 2, "data-series": name, "data-total": sum(series) }));
    }
  }

  function drawReasons(byReason, step) {
    const svg = document.getElementById("chart-reasons");
    const legend = document.getElementById("reason-legend");
    clear(svg);
    clear(legend);
    const names = Object.keys(byReason).sort();
    const series = names.map((r) => perMinute(byReason[r], step));
    const n = series.length ? series[0].length : 60;
    const stacks = new Array(n).fill(0);
    series.forEach((s) => s.forEach((v, i) => { stacks[i] += v; }));
    const sc = scale(Math.max(...stacks));
    const max = sc.max;
    axes(svg, n, sc);
    const bw = (W - L - R) / n;
    const base = new Array(n).fill(0);
    names.forEach((name, k) => {
      const color = PALETTE[k % PALETTE.length];
      series[k].forEach((v, i) => {
        if (!v) return;
        const h = (H - T - B) * v / max;
        const y0 = T + (H - T - B) * (1 - base[i] / max);
        const r = el("rect", { x: (L + i * bw + 1).toFixed(1), y: (y0 - h).toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: h.toFixed(1), fill: color, "data-reason": name, "data-count": v });
        r.appendChild(el("title", {}, name + ": " + v));
        svg.appendChild(r);
        base[i] += v;
      });
      const li = document.createElement("li");
      li.dataset.reason = name;
      const key = document.createElement("span");
      key.className = "key";
      key.style.background = color;
      li.appendChild(key);
      li.appendChild(document.createTextNode(name + " " + sum(series[k])));
      legend.appendChild(li);
    });
  }

  function drawOrigins(top) {
    const list = document.getElementById("origins");
    clear(list);
    document.getElementById("origins-empty").classList.toggle("hidden", top.length > 0);
    const max = Math.max(1, ...top.map((o) => o.count));
    for (const o of top) {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.className = "name";
      name.title = o.origin;
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.width = (100 * o.count / max).toFixed(1) + "%";
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = o.origin;
      name.append(fill, text);
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = String(o.count);
      li.append(name, count);
      list.appendChild(li);
    }
  }

  function drawAlerts(alerts) {
    const body = document.querySelector("#alerts tbody");
    clear(body);
    document.getElementById("alerts-empty").classList.toggle("hidden", alerts.length > 0);
    for (const a of alerts) {
      const tr = document.createElement("tr");
      const when = a.status === "resolved" && a.ended_at ? a.ended_at : a.started_at;
      const cells = [when.slice(11, 19), a.status, a.rule, a.summary];
      cells.forEach((c, i) => {
        const td = document.createElement("td");
        td.textContent = c;
        if (i === 1) td.className = a.status;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
  }

  function render(d) {
    const allowed = perMinute(d.allowed, d.step_seconds);
    const rejected = perMinute(d.rejected, d.step_seconds);
    document.getElementById("total-allowed").textContent = String(sum(d.allowed));
    document.getElementById("total-rejected").textContent = String(sum(d.rejected));
    document.getElementById("total-report-only").textContent = String(sum(d.report_only));
    document.getElementById("active-alerts").textContent = String(d.active.length);
    document.getElementById("active-alerts").className = "value " + (d.active.length ? "bad" : "ok");
    drawRequests(allowed, rejected);
    drawReasons(d.by_reason, d.step_seconds);
    drawOrigins(d.top_origins);
    drawAlerts(d.alerts);
    const status = document.getElementById("status");
    status.textContent = "updated " + d.now.slice(11, 19) + " UTC";
    status.className = "status";
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  async function tick() {
    try {
      const resp = await fetch("data.json", { cache: "no-store", credentials: "same-origin" });
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      render(await resp.json());
    } catch (e) {
      const status = document.getElementById("status");
      status.textContent = "stale: " + e.message;
      status.className = "status stale";
    }
    setTimeout(tick, refresh * 1000);
  }

  tick();
})();

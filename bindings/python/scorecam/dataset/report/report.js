// The scorecam report page: reads window.SCORECAM_REPORT (data.js, written by
// scorecam/dataset/_report.py) and draws the summary, the gallery (one page at a time, so 50,000
// cards cost what 60 do) and the detail view. The view (filters, sort, page, open card) lives in
// the URL hash so that a view can be shared. No network: every URL is a relative file path.
"use strict";
(function () {
  const DATA = window.SCORECAM_REPORT;
  const PAGE_SIZE = 60;
  const METRIC_NAMES = {average_drop: "Average Drop", increase_in_confidence: "Increase in Confidence",
                        insertion: "Insertion AUC", deletion: "Deletion AUC"};
  const SHORT = {average_drop: "AD", increase_in_confidence: "IC", insertion: "Ins", deletion: "Del"};
  // Which way is better: AD and deletion lower, IC and insertion higher.
  const HIGHER_BETTER = {average_drop: false, increase_in_confidence: true, insertion: true, deletion: false};
  const SORT_FIELDS = ["probability", "average_drop", "increase_in_confidence", "insertion", "deletion",
                       "seconds", "forward_passes"];
  const RANGE_FIELDS = ["probability", "average_drop", "insertion", "deletion"];

  const $ = (id) => document.getElementById(id);
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }
  function svg(tag, attributes) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);  // a namespace name, not a request
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    return node;
  }

  if (!DATA || !Array.isArray(DATA.runs) || !DATA.runs.length) {
    $("problem").hidden = false;
    $("problem").textContent = "data.js is missing or empty: rewrite the report with `python -m scorecam report OUT`.";
    return;
  }
  const RUNS = DATA.runs;
  const COMPARE = RUNS.length > 1;
  const label = (c) => (DATA.labels[c] !== undefined ? DATA.labels[c] : "class " + c);
  // A path relative to the report, each part escaped (keys may hold spaces, '#', '%' ...).
  const url = (path) => path.split("/").map(encodeURIComponent).join("/");
  const runFile = (run, name) => (name ? url(run.path + "/" + name) : null);

  // ---- items: one per (image key, target rank), paired across runs; one per failed image ----
  const items = [];
  {
    const byPair = new Map();
    RUNS.forEach((run, r) => {
      const images = run.images, cards = run.cards;
      for (let i = 0; i < cards.image.length; i++) {
        const pair = images.key[cards.image[i]] + "\u0000" + cards.rank[i];
        let item = byPair.get(pair);
        if (!item) {
          item = {key: images.key[cards.image[i]], rank: cards.rank[i], cards: new Array(RUNS.length).fill(-1),
                  images: new Array(RUNS.length).fill(-1)};
          byPair.set(pair, item);
          items.push(item);
        }
        item.cards[r] = i;
        item.images[r] = cards.image[i];
      }
      for (let j = 0; j < images.key.length; j++) {
        if (images.status[j] === "ok") continue;
        const pair = images.key[j] + "\u0000error";
        let item = byPair.get(pair);
        if (!item) {
          item = {key: images.key[j], rank: -1, cards: new Array(RUNS.length).fill(-1),
                  images: new Array(RUNS.length).fill(-1)};
          byPair.set(pair, item);
          items.push(item);
        }
        item.images[r] = j;
      }
    });
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.rank - b.rank));
  }
  const firstRun = (item) => {  // the first run that explained this pair (or failed on it)
    for (let r = 0; r < RUNS.length; r++) if (item.cards[r] >= 0) return r;
    for (let r = 0; r < RUNS.length; r++) if (item.images[r] >= 0) return r;
    return 0;
  };
  function value(item, field, r) {
    if (r === undefined) r = firstRun(item);
    const run = RUNS[r], i = item.cards[r], j = item.images[r];
    if (field === "seconds") return j >= 0 ? run.images.seconds[j] : null;
    if (field === "forward_passes") return j >= 0 ? run.images.passes[j] : null;
    if (i < 0) return null;
    if (field === "probability") return run.cards.prob[i];
    if (field === "class") return run.cards.cls[i];
    return run.cards[field] ? run.cards[field][i] : null;
  }
  function delta(item, field) {  // the second run minus the first
    const a = value(item, field, 0), b = value(item, field, 1);
    return a === null || b === null || a === undefined || b === undefined ? null : b - a;
  }
  const itemClass = (item) => value(item, "class");
  const itemFailed = (item) => item.cards.every((i) => i < 0);
  const inputOf = (item) => RUNS[firstRun(item)].images.input[item.images[firstRun(item)]] || "";

  // ---- formatting ----
  function metricText(metric, v) {
    if (v === null || v === undefined) return "–";
    if (metric === "average_drop") return (100 * v).toFixed(1) + "%";
    if (metric === "increase_in_confidence") return v > 0 ? "yes" : "no";
    return v.toFixed(3);
  }
  function deltaNode(metric, d) {
    if (d === null || d === undefined) return el("span", {text: "–"});
    const scaled = metric === "average_drop" || metric === "increase_in_confidence" ? 100 * d : d;
    const text = (scaled > 0 ? "+" : "") + (metric === "insertion" || metric === "deletion" ? scaled.toFixed(3)
                                                                                           : scaled.toFixed(1));
    const better = d === 0 ? "" : (d > 0) === HIGHER_BETTER[metric] ? "delta-good" : "delta-bad";
    return el("span", {class: better, text: text});
  }
  const number = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));

  // ---- summary ----
  function drawCounts() {
    const box = $("counts");
    const add = (name, text, testid, extra) =>
      box.append(el("div", {class: "count " + (extra || "")}, el("b", {"data-testid": testid, text: String(text)}),
                    el("span", {text: name})));
    const run = RUNS[0], counts = run.counts;
    add("images ok", counts.ok, "count-ok");
    add("failed", counts.failed, "count-failed", "failed");
    add("skipped (last run)", run.last_run && run.last_run.skipped !== null ? run.last_run.skipped : 0, "count-skipped");
    add("targets", counts.targets, "count-targets");
    add("forward passes", number(counts.forward_passes), "count-forward-passes");
    const seconds = run.last_run && run.last_run.seconds;
    add("wall time (last run)", seconds === null || seconds === undefined ? "–" : seconds.toFixed(1) + " s", "count-seconds");
    if (COMPARE) {
      for (let r = 1; r < RUNS.length; r++) {
        box.append(el("div", {class: "count"}, el("b", {text: RUNS[r].counts.ok + " / " + RUNS[r].counts.failed}),
                      el("span", {text: RUNS[r].name + ": ok / failed"})));
      }
    }
  }
  function drawSettings() {
    const box = $("settings");
    RUNS.forEach((run) => {
      const table = el("table", {class: "table"});
      table.append(el("tr", {}, el("th", {colspan: "2", text: run.name})));
      const settings = run.settings || {};
      if (!run.settings) table.append(el("tr", {}, el("td", {colspan: "2", text: "no settings.json (an older run)"})));
      for (const [name, v] of Object.entries(settings)) {
        table.append(el("tr", {}, el("td", {text: name}), el("td", {text: v === null ? "–" : typeof v === "object" ? JSON.stringify(v) : String(v)})));
      }
      if (run.last_run) {
        for (const name of ["backend", "workers", "images_per_second"]) {
          if (run.last_run[name] !== null && run.last_run[name] !== undefined)
            table.append(el("tr", {}, el("td", {text: name}), el("td", {text: String(run.last_run[name])})));
        }
      }
      box.append(table);
    });
  }
  function drawMetrics() {
    const metrics = DATA.metrics.filter((m) => RUNS.some((run) => run.metrics[m]));
    if (!metrics.length) {
      $("metrics").append(el("p", {class: "muted", text: "No metrics: run with --metrics (metrics=True) to get them."}));
      return;
    }
    const table = el("table", {class: "table", "data-testid": "metrics-table"});
    const head = el("tr", {}, el("th", {text: "metric"}));
    RUNS.forEach((run) => head.append(el("th", {text: COMPARE ? run.name : "mean [95% interval]"})));
    if (COMPARE) head.append(el("th", {text: "difference"}));
    head.append(el("th", {text: "n"}));
    table.append(head);
    for (const m of metrics) {
      const unit = m === "average_drop" || m === "increase_in_confidence" ? " (%)" : "";
      const row = el("tr", {}, el("td", {}, METRIC_NAMES[m] + unit + " ",
                                  el("span", {class: "better", text: HIGHER_BETTER[m] ? "higher is better" : "lower is better"})));
      const digits = unit ? 2 : 4;
      RUNS.forEach((run) => {
        const s = run.metrics[m];
        row.append(el("td", {text: s ? s.mean.toFixed(digits) + " [" + s.ci95[0].toFixed(digits) + ", " +
                                       s.ci95[1].toFixed(digits) + "]" : "–"}));
      });
      if (COMPARE) {
        const a = RUNS[0].metrics[m], b = RUNS[1].metrics[m];
        row.append(el("td", {}, a && b ? deltaNode(m, (b.mean - a.mean) / (unit ? 100 : 1)) : "–"));
      }
      row.append(el("td", {text: RUNS.map((run) => (run.metrics[m] ? run.metrics[m].n : 0)).join(" / ")}));
      table.append(row);
    }
    $("metrics").append(table);
  }
  const RUN_COLOURS = ["#2457a6", "#d0701c", "#1d7a3a", "#8e3aa6"];
  function drawHistograms() {
    const box = $("histograms");
    for (const m of DATA.metrics) {
      const series = RUNS.map((run) => run.cards[m].filter((v) => v !== null));
      if (!series.some((values) => values.length)) continue;
      const bins = m === "increase_in_confidence" ? 2 : 20;
      const width = 240, height = 90;
      const counts = series.map((values) => {
        const c = new Array(bins).fill(0);
        for (const v of values) c[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))] += 1;
        return c;
      });
      const top = Math.max(1, ...counts.map((c) => Math.max(...c)));
      const picture = svg("svg", {width: width, height: height + 14, viewBox: `0 0 ${width} ${height + 14}`,
                                  role: "img", "data-testid": "histogram-" + m});
      counts.forEach((c, r) => {
        c.forEach((n, b) => {
          const h = (height * n) / top, w = width / bins;
          const bar = svg("rect", {x: b * w + 1, y: height - h, width: Math.max(1, w - 2), height: h,
                                   fill: RUN_COLOURS[r % RUN_COLOURS.length], "fill-opacity": COMPARE ? 0.45 : 0.8});
          bar.append(svg("title"));
          bar.firstChild.textContent = `${RUNS[r].name}: ${n} in [${(b / bins).toFixed(2)}, ${((b + 1) / bins).toFixed(2)})`;
          picture.append(bar);
        });
      });
      const axis = (x, text, anchor) => {
        const t = svg("text", {x: x, y: height + 12, "font-size": 10, "text-anchor": anchor, fill: "#5b6673"});
        t.textContent = text;
        picture.append(t);
      };
      axis(0, m === "increase_in_confidence" ? "no" : "0", "start");
      axis(width, m === "increase_in_confidence" ? "yes" : "1", "end");
      box.append(el("figure", {}, picture,
                    el("figcaption", {text: `${METRIC_NAMES[m]} (${HIGHER_BETTER[m] ? "higher" : "lower"} is better), ` +
                                            series.map((v) => v.length).join(" / ") + " values"})));
    }
  }
  function classTable() {
    const run = RUNS[0], cards = run.cards, stats = new Map();
    for (let i = 0; i < cards.cls.length; i++) {
      const c = cards.cls[i];
      if (!stats.has(c)) stats.set(c, {n: 0, prob: [0, 0], ad: [0, 0], ic: [0, 0]});
      const s = stats.get(c);
      s.n += 1;
      const add = (pair, v) => { if (v !== null) { pair[0] += v; pair[1] += 1; } };
      add(s.prob, cards.prob[i]); add(s.ad, cards.average_drop[i]); add(s.ic, cards.increase_in_confidence[i]);
    }
    return stats;
  }
  function drawClasses(stats) {
    const table = $("classes");
    const mean = (pair, scale) => (pair[1] ? ((scale * pair[0]) / pair[1]).toFixed(scale === 1 ? 3 : 1) : "–");
    table.append(el("tr", {}, el("th", {text: "class"}), el("th", {text: "n"}), el("th", {text: "mean probability"}),
                    el("th", {text: "mean AD (%)"}), el("th", {text: "mean IC (%)"})));
    const order = [...stats.entries()].sort((a, b) => b[1].n - a[1].n || a[0] - b[0]);
    for (const [c, s] of order) {
      const row = el("tr", {class: "clickable", "data-testid": "class-row", "data-class": String(c)},
                     el("td", {text: `${label(c)} (${c})`}), el("td", {text: String(s.n)}), el("td", {text: mean(s.prob, 1)}),
                     el("td", {text: mean(s.ad, 100)}), el("td", {text: mean(s.ic, 100)}));
      row.addEventListener("click", () => { state.class = state.class === String(c) ? "" : String(c); state.page = 0; changed(); });
      table.append(row);
    }
  }
  function drawErrors() {
    const list = $("errors");
    let shown = 0, total = 0;
    RUNS.forEach((run) => {
      const images = run.images;
      for (let j = 0; j < images.key.length; j++) {
        if (images.status[j] === "ok") continue;
        total += 1;
        if (shown >= 200) continue;
        shown += 1;
        list.append(el("li", {"data-testid": "error-row"}, el("code", {text: images.input[j]}), ": " + (images.error[j] || "error"),
                       COMPARE ? el("span", {class: "muted", text: " (" + run.name + ")"}) : null));
      }
    });
    if (!total) list.append(el("li", {class: "muted", text: "none"}));
    if (total > shown) list.append(el("li", {class: "muted", text: `and ${total - shown} more (Status: failed in the gallery)`}));
  }

  // ---- the view: filters, sort, page, open card; kept in the URL hash ----
  const state = {};
  function defaults() {
    Object.assign(state, {class: "", status: "", q: "", sort: "", page: 0, detail: ""});
    for (const f of RANGE_FIELDS) { state["min_" + f] = ""; state["max_" + f] = ""; }
  }
  function readHash() {
    defaults();
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    for (const [name, v] of params) if (name in state) state[name] = name === "page" ? Math.max(0, parseInt(v, 10) || 0) : v;
  }
  function writeHash() {
    const params = new URLSearchParams();
    for (const [name, v] of Object.entries(state)) if (v !== "" && !(name === "page" && v === 0)) params.set(name, v);
    const hash = params.toString();
    const target = hash ? "#" + hash : location.pathname + location.search;
    try { history.replaceState(null, "", hash ? "#" + hash : target); } catch (error) { location.hash = hash; }
  }

  function filtered() {
    const text = state.q.toLowerCase();
    const ranges = RANGE_FIELDS.map((f) => [f, state["min_" + f] === "" ? null : Number(state["min_" + f]),
                                            state["max_" + f] === "" ? null : Number(state["max_" + f])])
      .filter(([, low, high]) => low !== null || high !== null);
    const out = items.filter((item) => {
      if (state.class !== "" && String(itemClass(item)) !== state.class) return false;
      if (state.status === "ok" && itemFailed(item)) return false;
      if (state.status === "error" && !itemFailed(item)) return false;
      if (text && !inputOf(item).toLowerCase().includes(text) && !item.key.toLowerCase().includes(text)) return false;
      for (const [f, low, high] of ranges) {
        const v = value(item, f);
        if (v === null || v === undefined) return false;
        const shown = f === "average_drop" ? 100 * v : v;  // AD is typed in percent, as shown
        if ((low !== null && shown < low) || (high !== null && shown > high)) return false;
      }
      return true;
    });
    if (state.sort) {
      const [field, direction] = state.sort.split(":");
      const sign = direction === "desc" ? -1 : 1;
      const read = field.startsWith("delta_") ? (item) => delta(item, field.slice(6)) : (item) => value(item, field);
      const keyed = out.map((item, index) => [read(item), index, item]);
      keyed.sort((a, b) => {  // missing values last either way; ties keep the key order
        const missingA = a[0] === null || a[0] === undefined, missingB = b[0] === null || b[0] === undefined;
        if (missingA || missingB) return missingA === missingB ? a[1] - b[1] : missingA ? 1 : -1;
        return a[0] === b[0] ? a[1] - b[1] : sign * (a[0] - b[0]);
      });
      return keyed.map((entry) => entry[2]);
    }
    return out;
  }

  let current = [];
  function changed() { writeHash(); render(); }

  function cardFor(item, position) {
    const r = firstRun(item), failed = itemFailed(item);
    const attributes = {class: "card" + (failed ? " error" : ""), "data-testid": "card", tabindex: "0",
                        "data-key": item.key, "data-rank": String(item.rank), "data-position": String(position),
                        "data-class": failed ? "" : String(itemClass(item)),
                        "data-probability": failed || value(item, "probability") === null ? "" : String(value(item, "probability"))};
    for (const m of DATA.metrics) {
      const v = value(item, m);
      if (v !== null && v !== undefined) attributes["data-" + m.replace(/_/g, "-")] = String(v);
      if (COMPARE) {
        const d = delta(item, m);
        if (d !== null) attributes["data-delta-" + m.replace(/_/g, "-")] = String(d);
      }
    }
    const card = el("div", attributes);
    const pictures = el("div", {class: "pictures"});
    RUNS.forEach((run, s) => {
      if (!COMPARE && s > 0) return;
      const i = item.cards[s], j = item.images[s];
      const source = i >= 0 ? runFile(run, run.cards.thumb[i]) : j >= 0 ? runFile(run, run.images.thumb[j]) : null;
      pictures.append(el("figure", {}, source ? el("img", {src: source, alt: "", loading: "lazy", decoding: "async"})
                                              : el("div", {class: "muted", text: i < 0 && j < 0 ? "not in this run" : "no picture"}),
                         COMPARE ? el("figcaption", {text: run.name}) : null));
    });
    card.append(pictures);
    if (failed) {
      const j = item.images[r];
      card.append(el("div", {class: "label", text: "failed"}), el("div", {class: "message", text: RUNS[r].images.error[j] || "error"}));
    } else {
      const c = itemClass(item), p = value(item, "probability");
      card.append(el("div", {class: "label", title: label(c), text: `${label(c)} (${c})` + (p === null ? "" : ` ${p.toFixed(3)}`)}));
      const numbers = el("div", {class: "numbers"});
      const parts = [];
      for (const m of DATA.metrics) {
        const v = value(item, m);
        if (v === null || v === undefined) continue;
        parts.push(m);
      }
      parts.forEach((m, index) => {
        numbers.append((index ? " · " : "") + SHORT[m] + " " + metricText(m, value(item, m)));
        if (COMPARE) numbers.append(" (", deltaNode(m, delta(item, m)), ")");
      });
      if (!parts.length) numbers.append(`${value(item, "seconds")} s, ${number(value(item, "forward_passes"))} passes`);
      card.append(numbers);
    }
    card.append(el("div", {class: "key", title: inputOf(item), text: item.key}));
    card.addEventListener("click", () => openDetail(item));
    card.addEventListener("keydown", (event) => { if (event.key === "Enter") openDetail(item); });
    return card;
  }

  function render() {
    current = filtered();
    syncControls();
    const pages = Math.max(1, Math.ceil(current.length / PAGE_SIZE));
    if (state.page >= pages) state.page = pages - 1;
    const start = state.page * PAGE_SIZE;
    const gallery = $("gallery");
    const fragment = document.createDocumentFragment();
    current.slice(start, start + PAGE_SIZE).forEach((item, offset) => fragment.append(cardFor(item, start + offset)));
    gallery.replaceChildren(fragment);
    $("match-count").textContent = `${current.length.toLocaleString("en-US")} of ${items.length.toLocaleString("en-US")} cards`;
    $("page-label").textContent = `page ${state.page + 1} of ${pages}`;
    $("prev-page").disabled = state.page === 0;
    $("next-page").disabled = state.page >= pages - 1;
    for (const row of document.querySelectorAll("#classes tr[data-class]"))
      row.classList.toggle("selected", row.dataset.class === state.class);
    const open = state.detail ? current.findIndex((item) => item.key + "|" + item.rank === state.detail) : -1;
    if (open >= 0) showDetail(open); else hideDetail(false);
  }

  // ---- controls ----
  function buildControls(stats) {
    const select = $("filter-class");
    select.append(el("option", {value: "", text: "all classes"}));
    [...stats.keys()].sort((a, b) => label(a).localeCompare(label(b)) || a - b)
      .forEach((c) => select.append(el("option", {value: String(c), text: `${label(c)} (${c}) · ${stats.get(c).n}`})));
    const sort = $("sort");
    sort.append(el("option", {value: "", text: "image key"}));
    const names = Object.assign({probability: "probability", seconds: "seconds", forward_passes: "forward passes"}, METRIC_NAMES);
    for (const f of SORT_FIELDS) {
      sort.append(el("option", {value: f + ":asc", text: names[f] + " ↑"}), el("option", {value: f + ":desc", text: names[f] + " ↓"}));
    }
    if (COMPARE) {
      for (const m of DATA.metrics) {
        const what = `${METRIC_NAMES[m]} change (${RUNS[1].name} − ${RUNS[0].name})`;
        sort.append(el("option", {value: "delta_" + m + ":asc", text: what + " ↑"}),
                    el("option", {value: "delta_" + m + ":desc", text: what + " ↓"}));
      }
    }
    const ranges = $("ranges");
    for (const f of RANGE_FIELDS) {
      const unit = f === "average_drop" ? " (%)" : "";
      ranges.append(el("label", {}, (f === "probability" ? "probability" : SHORT[f]) + unit,
                       el("input", {id: "min_" + f, "data-testid": "min-" + f, type: "number", step: "any", placeholder: "min"}),
                       el("input", {id: "max_" + f, "data-testid": "max-" + f, type: "number", step: "any", placeholder: "max"})));
    }
    const bind = (id, name, event) => $(id).addEventListener(event || "change", () => {
      state[name] = $(id).value; state.page = 0; changed();
    });
    bind("filter-class", "class"); bind("filter-status", "status"); bind("sort", "sort");
    bind("filter-text", "q", "input");
    for (const f of RANGE_FIELDS) { bind("min_" + f, "min_" + f, "input"); bind("max_" + f, "max_" + f, "input"); }
    $("controls").addEventListener("submit", (event) => event.preventDefault());  // Enter in a field: stay
    $("reset").addEventListener("click", () => { defaults(); changed(); });
    $("prev-page").addEventListener("click", () => { state.page -= 1; changed(); });
    $("next-page").addEventListener("click", () => { state.page += 1; changed(); });
  }
  function syncControls() {
    const set = (id, v) => { if ($(id).value !== v && document.activeElement !== $(id)) $(id).value = v; };
    set("filter-class", state.class); set("filter-status", state.status); set("filter-text", state.q); set("sort", state.sort);
    for (const f of RANGE_FIELDS) { set("min_" + f, state["min_" + f]); set("max_" + f, state["max_" + f]); }
  }

  // ---- detail view ----
  let detailIndex = -1;
  function openDetail(item) {
    state.detail = item.key + "|" + item.rank;
    changed();
  }
  function hideDetail(update) {
    $("detail").hidden = true;
    detailIndex = -1;
    if (update && state.detail) { state.detail = ""; changed(); }
  }
  function move(step) {
    if (detailIndex < 0 || !current.length) return;
    const next = detailIndex + step;
    if (next < 0 || next >= current.length) return;
    const item = current[next];
    state.detail = item.key + "|" + item.rank;
    state.page = Math.floor(next / PAGE_SIZE);
    changed();
  }
  function figure(source, fallback, caption, testid) {
    const image = el("img", {class: "full", src: source || fallback, alt: caption, "data-testid": testid});
    if (fallback && source !== fallback) {
      image.addEventListener("error", () => { if (image.getAttribute("src") !== fallback) image.src = fallback; }, {once: true});
    }
    return el("figure", {}, image, el("figcaption", {text: caption}));
  }
  function rawMap(run, i) {
    const source = runFile(run, run.cards.map[i]);
    if (!source) return el("p", {class: "muted", text: "no raw map picture (made by runs since the report exists)"});
    const low = run.cards.lo[i], high = run.cards.hi[i];
    return el("div", {class: "rawmap"},
              el("img", {src: source, alt: "raw map", "data-testid": "detail-map"}),
              el("div", {class: "colorbar", style: `background: linear-gradient(to right, ${DATA.jet.join(", ")})`}),
              el("div", {class: "colorbar-labels"}, el("span", {text: low === null ? "min" : String(low)}),
                 el("span", {text: high === null ? "max" : String(high)})),
              el("div", {class: "muted", text: `map ${run.name}, min..max → colours`}));
  }
  function showDetail(index) {
    detailIndex = index;
    const item = current[index], r = firstRun(item), run = RUNS[r], j = item.images[r];
    const failed = itemFailed(item);
    $("detail-position").textContent = `${index + 1} / ${current.length}`;
    $("detail-title").textContent = failed ? `${item.key}: failed` : `${item.key}: ${label(itemClass(item))} (${itemClass(item)})`;
    $("detail-prev").disabled = index === 0;
    $("detail-next").disabled = index === current.length - 1;
    const body = $("detail-body");
    const pictures = el("div", {class: "pictures"});
    const thumb = runFile(run, run.images.thumb[j]);
    pictures.append(figure(run.images.original[j] ? url(run.images.original[j]) : null, thumb, "original: " + run.images.input[j],
                           "detail-original"));
    RUNS.forEach((other, s) => {
      const i = item.cards[s];
      if (i < 0) return;
      pictures.append(figure(runFile(other, other.cards.overlay[i]), runFile(other, other.cards.thumb[i]),
                             "overlay" + (COMPARE ? ", " + other.name : ""), "detail-overlay"));
    });
    const facts = el("div", {class: "facts"});
    RUNS.forEach((other, s) => { if (item.cards[s] >= 0) facts.append(rawMap(other, item.cards[s])); });
    const predictions = el("table", {class: "table", "data-testid": "detail-predictions"},
                           el("tr", {}, el("th", {text: "top-5 predictions"}), el("th", {text: "probability"})));
    const preds = run.images.preds[j] || [];
    for (let k = 0; k < preds.length; k += 2) predictions.append(el("tr", {}, el("td", {text: `${label(preds[k])} (${preds[k]})`}),
                                                                    el("td", {text: preds[k + 1].toFixed(4)})));
    facts.append(predictions);
    const numbers = el("table", {class: "table", "data-testid": "detail-metrics"});
    const head = el("tr", {}, el("th", {text: ""}));
    RUNS.forEach((other) => head.append(el("th", {text: other.name})));
    if (COMPARE) head.append(el("th", {text: "difference"}));
    numbers.append(head);
    const line = (name, read, metric) => {
      const row = el("tr", {}, el("td", {text: name}));
      RUNS.forEach((other, s) => row.append(el("td", {text: read(s)})));
      if (COMPARE && metric) row.append(el("td", {}, deltaNode(metric, delta(item, metric))));
      else if (COMPARE) row.append(el("td"));
      numbers.append(row);
    };
    const field = (s, f) => { const v = value(item, f, s); return v === null || v === undefined ? "–" : v; };
    line("probability", (s) => { const v = value(item, "probability", s); return v === null ? "–" : v.toFixed(4); });
    for (const m of DATA.metrics) line(METRIC_NAMES[m], (s) => metricText(m, value(item, m, s)), m);
    line("channels used", (s) => (item.images[s] >= 0 ? String(RUNS[s].images.channels[item.images[s]] ?? "–") : "–"));
    line("forward passes", (s) => String(field(s, "forward_passes")));
    line("seconds", (s) => String(field(s, "seconds")));
    line("size", (s) => (item.images[s] >= 0 && RUNS[s].images.size[item.images[s]] ? RUNS[s].images.size[item.images[s]].join(" x ") : "–"));
    line("status", (s) => (item.images[s] < 0 ? "not in this run" : RUNS[s].images.status[item.images[s]] === "ok" ? "ok"
                                                                   : "failed: " + (RUNS[s].images.error[item.images[s]] || "")));
    facts.append(numbers);
    body.replaceChildren(pictures, facts);
    $("detail").hidden = false;
  }

  document.addEventListener("keydown", (event) => {
    if ($("detail").hidden) return;
    if (event.key === "ArrowLeft") { move(-1); event.preventDefault(); }
    else if (event.key === "ArrowRight") { move(1); event.preventDefault(); }
    else if (event.key === "Escape") hideDetail(true);
  });
  $("detail-prev").addEventListener("click", () => move(-1));
  $("detail-next").addEventListener("click", () => move(1));
  $("detail-close").addEventListener("click", () => hideDetail(true));
  window.addEventListener("hashchange", () => { readHash(); render(); });

  // ---- start ----
  $("runs").textContent = RUNS.map((run) => run.name).join(" vs ");
  document.title = "scorecam report: " + RUNS.map((run) => run.name).join(" vs ");
  const stats = classTable();
  buildControls(stats);
  readHash();
  render();  // the gallery first: what a user looks at
  drawCounts(); drawSettings(); drawMetrics(); drawHistograms(); drawClasses(stats); drawErrors();
  document.body.dataset.ready = "true";  // for tests and tools: the page has drawn
})();

// BAT OS inspector: a page per route (#/..., drawn from /api/ JSON) and
// one event stream (/api/events) that keeps the open page live. Every
// value from the image goes into the page as text (textContent), never
// as HTML.
"use strict";

const app = document.getElementById("app");
let page = null; // {onEvent(e), onLagged()} of the page shown
let route = "";

// el builds an element: attrs (class, href, data-*, on* handlers) and
// children (strings become text nodes; null and false are skipped).
function el(tag, attrs, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else if (k === "class") n.className = v;
    else n.setAttribute(k, v);
  }
  append(n, children);
  return n;
}

function append(n, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
  for (const c of children) n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return n;
}

async function api(path, opts) {
  const r = await fetch(path, opts);
  const body = await r.json().catch(() => ({ message: r.statusText }));
  if (!r.ok) {
    const e = new Error(body.message || r.statusText);
    e.code = body.code;
    throw e;
  }
  return body;
}

function show(...nodes) {
  app.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
}

function errorBox(e) {
  return el("div", { class: "error" }, (e.code ? e.code + ": " : "") + e.message);
}

function objLink(o) {
  if (!o) return "";
  const label = o.name ? `${o.name} (${o.oid})` : `object ${o.oid}`;
  return el("a", { href: `#/object/${o.name || o.oid}`, class: "obj" }, label);
}

function cycleLink(id) {
  return el("a", { href: `#/cycle/${id}`, class: "cycle-link" }, `cycle ${id}`);
}

function badge(s) {
  const cls = String(s || "").toLowerCase().replace(/\s+/g, "-");
  return el("span", { class: `badge ${cls}` }, s || "?");
}

function ms(d) {
  if (d === undefined || d === null || isNaN(d)) return "";
  if (d < 1) return `${(d * 1000).toFixed(0)} µs`;
  if (d < 1000) return `${d.toFixed(1)} ms`;
  return `${(d / 1000).toFixed(2)} s`;
}

// Go's time.Duration is JSON nanoseconds.
const nsToMs = (ns) => (ns || 0) / 1e6;

function cycleMs(c) {
  if (!c.started || !c.ended) return null;
  return new Date(c.ended) - new Date(c.started);
}

function bytes(n) {
  if (n < 0) return "unknown";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

function dur(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? `${d}d ` : "") + (h || d ? `${h}h ` : "") + `${m}m ${s % 60}s`;
}

// ---- Starlark highlighting ------------------------------------------

const KEYWORDS = new Set(["def", "return", "if", "elif", "else", "for", "in", "not", "and", "or",
  "pass", "break", "continue", "lambda", "load", "None", "True", "False"]);
const BUILTINS = new Set(["len", "str", "int", "float", "bool", "list", "dict", "range", "print",
  "sorted", "reversed", "enumerate", "zip", "min", "max", "abs", "any", "all", "hasattr", "getattr",
  "type", "repr", "tuple", "fail", "json"]);

// highlight returns the source as spans; the Persistence Covenant's line
// is marked.
function highlight(src) {
  const out = [];
  const re = /(#[^\n]*)|("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)|(\s+|[^\sA-Za-z0-9_#"']+)/g;
  let m;
  while ((m = re.exec(src)) !== null) {
    const [t, com, str, num, id] = m;
    if (com) out.push(el("span", { class: "tok-com" }, t));
    else if (str) out.push(el("span", { class: "tok-str" }, t));
    else if (num) out.push(el("span", { class: "tok-num" }, t));
    else if (id && KEYWORDS.has(id)) out.push(el("span", { class: "tok-kw" }, t));
    else if (id === "self") out.push(el("span", { class: "tok-self" }, t));
    else if (id && BUILTINS.has(id)) out.push(el("span", { class: "tok-bi" }, t));
    else if (id === "_p_changed") out.push(el("span", { class: "tok-cov", title: "the Persistence Covenant" }, t));
    else out.push(t);
  }
  return el("pre", { class: "source" }, out);
}

// ---- charts -----------------------------------------------------------

// barChart draws values (with labels for titles) as bars scaled to the
// largest; color(i) picks each bar's fill.
function barChart(title, values, unit, color, link) {
  const W = 520, H = 150, P = 28;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H + 20}`, width: "100%", class: "chart-svg", role: "img", "aria-label": title });
  const top = Math.max(1e-9, ...values.map((v) => v.y));
  const bw = values.length ? (W - P) / values.length : 0;
  s.append(svg("line", { x1: P, y1: H, x2: W, y2: H, stroke: "#999" }));
  s.append(svg("text", { x: 0, y: 10 }, fmtAxis(top, unit)));
  s.append(svg("text", { x: 0, y: H }, "0"));
  values.forEach((v, i) => {
    const h = Math.max(1, (v.y / top) * (H - 14));
    const r = svg("rect", { x: P + i * bw + 1, y: H - h, width: Math.max(1, bw - 2), height: h, fill: color(v) });
    r.append(svg("title", {}, `${v.label}: ${fmtAxis(v.y, unit)}`));
    if (link) {
      const a = svg("a", { href: link(v) });
      a.append(r);
      s.append(a);
    } else s.append(r);
  });
  if (!values.length) s.append(svg("text", { x: W / 2 - 40, y: H / 2 }, "no cycles yet"));
  return el("div", { class: "chart" }, el("div", { class: "muted" }, title), s);
}

function fmtAxis(v, unit) {
  if (unit === "ms") return ms(v);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${unit}`;
}

const statusColor = (v) => ({ complete: "#1f7a3a", failed: "#b3261e", aborted: "#b3261e" }[v.status] || "#5b3cc4");

// ---- pages ------------------------------------------------------------

async function statusPage() {
  const st = await api("/api/status");
  const a = st.adapters || {};
  const card = (k, v, id) => el("div", { class: "card", "data-k": id || k }, el("div", { class: "k" }, k), el("div", { class: "v" }, v));
  const tiers = el("table", { class: "tiers" },
    el("tr", {}, el("th", {}, "tier"), el("th", {}, "adapters"), el("th", {}, "hits"), el("th", {}, "loads"), el("th", {}, "evictions")),
    el("tr", {}, el("td", {}, "hot"), el("td", {}, (a.hot || []).join(", ") || "—"), el("td", {}, a.hot_hits ?? 0), el("td", {}, a.hot_loads ?? 0), el("td", {}, a.hot_evictions ?? 0)),
    el("tr", {}, el("td", {}, "warm"), el("td", {}, (a.warm || []).join(", ") || "—"), el("td", {}, a.warm_hits ?? 0), el("td", {}, a.cold_loads ?? 0), el("td", {}, a.warm_evictions ?? 0)),
    el("tr", {}, el("td", {}, "cold"), el("td", {}, (a.cold || []).join(", ") || "—"), el("td", {}, ""), el("td", {}, ""), el("td", {}, "")));
  const recent = st.recent || [];
  show(
    el("h1", {}, "Status"),
    el("div", { class: "cards" },
      card("model", st.model || "none"),
      card("device", st.device || "cpu"),
      card("layers offloaded", `${st.gpu_layers ?? 0} of ${st.layers ?? 0}`, "layers"),
      card("context", `${st.context_size ?? 0} tokens`, "context"),
      card("embedder", st.extra && st.extra.embedder ? `${st.extra.embedder} (${st.extra.embedder_vectors || ""})` : "the chat model", "embedder"),
      card("queue", `${st.queue_depth ?? 0} / ${st.queue_capacity ?? 0}`, "queue"),
      card("running", st.active_cycles ?? 0, "running"),
      card("cycles done", st.cycles_done ?? 0, "done"),
      card("failed", st.cycles_failed ?? 0, "failed"),
      card("aborted", st.cycles_aborted ?? 0, "aborted"),
      card("objects", st.objects ?? 0, "objects"),
      card("image", `${bytes(st.image_bytes ?? 0)} (free ${bytes(st.free_bytes ?? -1)})`, "image"),
      card("methods run", `${st.methods.calls} (${st.methods.failed} failed, ${st.methods.limit_hits} at a limit)`, "methods"),
      card("uptime", dur(st.uptime_seconds || 0), "uptime"),
      card("version", st.version || "", "version")),
    el("h2", {}, "Recent cycles"),
    el("div", { class: "charts" },
      barChart("cycle duration (newest right)", recent.map((c) => ({ y: c.duration_ms, label: `cycle ${c.id} ${c.selector || ""} ${c.status}`, status: c.status, id: c.id })), "ms", statusColor, (v) => `#/cycle/${v.id}`),
      barChart("decode tok/s (output tokens over decode time)", recent.map((c) => ({ y: c.tok_s, label: `cycle ${c.id}`, status: c.status, id: c.id })), "tok/s", () => "#24598f", (v) => `#/cycle/${v.id}`)),
    el("h2", {}, "Adapters by tier"), tiers);
  document.getElementById("mode").textContent = st.writable ? "read-write" : "read-only";
  let timer = null;
  page = {
    onEvent(e) {
      if (e.kind === "end" || e.kind === "queued") {
        clearTimeout(timer);
        timer = setTimeout(() => { if (route === "status") render(); }, 300);
      }
    },
  };
}

async function objectsPage() {
  const roots = await api("/api/roots");
  show(el("h1", {}, "Objects"),
    el("form", { class: "inline", onsubmit: (ev) => { ev.preventDefault(); location.hash = `#/object/${ev.target.ref.value.trim()}`; } },
      el("label", {}, "open an object (name or OID)", el("input", { name: "ref", placeholder: "genesis_obj or 12" })),
      el("button", { type: "submit" }, "open")),
    el("table", { class: "roots" },
      el("tr", {}, el("th", {}, "root"), el("th", {}, "oid"), el("th", {}, "repr")),
      roots.map((r) => el("tr", {}, el("td", {}, objLink(r)), el("td", {}, r.oid), el("td", { class: "preview" }, r.repr)))));
}

// graph draws the delegation graph: the object at the left, each parent
// level one column to the right.
function graph(g, self) {
  const level = new Map([[self, 0]]);
  for (let changed = true, n = 0; changed && n < 64; n++) {
    changed = false;
    for (const [c, p] of g.edges) {
      if (level.has(c) && (!level.has(p) || level.get(p) < level.get(c) + 1) && level.get(c) < 16) {
        if (!level.has(p) || level.get(p) !== level.get(c) + 1) { level.set(p, level.get(c) + 1); changed = true; }
      }
    }
  }
  const cols = new Map();
  for (const nd of g.nodes) {
    const l = level.get(nd.oid) ?? 0;
    if (!cols.has(l)) cols.set(l, []);
    cols.get(l).push(nd);
  }
  const BW = 150, BH = 26, GX = 60, GY = 14;
  const rows = Math.max(1, ...[...cols.values()].map((c) => c.length));
  const W = cols.size * (BW + GX), H = rows * (BH + GY) + GY;
  const pos = new Map();
  for (const [l, nodes] of cols) nodes.forEach((nd, i) => pos.set(nd.oid, { x: l * (BW + GX) + 4, y: GY + i * (BH + GY) }));
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: Math.min(W, 1100), class: "graph", role: "img", "aria-label": "delegation graph" });
  s.append(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" },
    svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#888" }))));
  for (const [c, p] of g.edges) {
    const a = pos.get(c), b = pos.get(p);
    if (!a || !b) continue;
    s.append(svg("line", { x1: a.x + BW, y1: a.y + BH / 2, x2: b.x, y2: b.y + BH / 2, stroke: "#888", "marker-end": "url(#arrow)" }));
  }
  for (const nd of g.nodes) {
    const q = pos.get(nd.oid);
    const label = nd.name ? `${nd.name} (${nd.oid})` : `object ${nd.oid}`;
    const link = svg("a", { href: `#/object/${nd.name || nd.oid}` });
    link.append(svg("rect", { x: q.x, y: q.y, width: BW, height: BH, rx: 5, fill: nd.oid === self ? "#dbe8f7" : "#fff", stroke: "#24598f" }));
    link.append(svg("text", { x: q.x + 8, y: q.y + 17 }, label.length > 22 ? label.slice(0, 21) + "…" : label));
    s.append(link);
  }
  return el("div", { class: "chart" }, s, g.cut ? el("div", { class: "note" }, "graph cut at 32 objects") : null);
}

async function objectPage(ref) {
  const o = await api(`/api/object/${encodeURIComponent(ref)}`);
  const title = o.name ? `${o.name} (object ${o.oid})` : `object ${o.oid}`;
  const slots = el("table", { class: "slots" },
    el("tr", {}, el("th", {}, "slot"), el("th", {}, "kind"), el("th", {}, "value")),
    o.slots.map((s) => el("tr", { "data-slot": s.name },
      el("td", { class: "mono" }, s.name), el("td", {}, s.kind),
      el("td", { class: "preview" }, s.preview, s.refs ? el("div", {}, s.refs.map((r) => [objLink(r), " "])) : null))));
  const methods = o.methods.map((m) => {
    const hist = el("div", { class: "history" });
    return el("div", { class: "method", "data-method": m.name },
      el("div", { class: "head" },
        el("span", { class: "name" }, m.name),
        m.native ? el("span", { class: "badge" }, "primitive (Go)") : [
          badge(m.verdict || "unaudited"),
          m.author ? el("span", {}, "by ", el("b", { class: "author" }, m.author)) : null,
          m.version ? el("span", { class: "muted" }, `version ${m.version}`) : null,
          m.installed ? el("span", { class: "muted" }, m.installed) : null,
          m.cycle ? cycleLink(m.cycle) : el("span", { class: "muted" }, "no cycle"),
          el("button", { class: "secondary", onclick: () => loadHistory(o, m.name, hist) }, "history"),
        ]),
      m.findings && m.findings.length ? el("ul", { class: "findings" }, m.findings.map((f) => el("li", {}, f))) : null,
      m.source ? highlight(m.source) : null,
      m.truncated ? el("div", { class: "note" }, "source cut at 64 KiB") : null,
      hist);
  });
  show(
    el("h1", {}, title),
    el("div", { class: "repr mono muted" }, o.repr),
    el("h2", {}, "Delegation"),
    el("div", {}, "parents: ", o.parents.length ? o.parents.map((p) => [objLink(p), " "]) : el("span", { class: "muted" }, "none")),
    graph(o.graph, o.oid),
    el("h2", {}, `Slots (${o.slots.length}${o.omitted ? `, ${o.omitted} more not shown` : ""})`),
    slots,
    el("h2", {}, `Methods (${o.methods.length})`),
    methods.length ? methods : el("p", { class: "muted" }, "none of its own"));
}

async function loadHistory(o, sel, box) {
  try {
    const vs = await api(`/api/history/${o.oid}/${encodeURIComponent(sel)}`);
    box.replaceChildren(el("table", {},
      el("tr", {}, el("th", {}, "version"), el("th", {}, "author"), el("th", {}, "verdict"), el("th", {}, "installed"), el("th", {}, "cycle"), el("th", {}, "note")),
      vs.map((v) => el("tr", {}, el("td", {}, v.version, v.current ? " (current)" : ""), el("td", {}, v.author), el("td", {}, badge(v.verdict)),
        el("td", {}, v.installed), el("td", {}, v.cycle ? cycleLink(v.cycle) : ""), el("td", {}, v.note || "")))));
  } catch (e) {
    box.replaceChildren(errorBox(e));
  }
}

const STATES = ["", "queued", "running", "complete", "failed", "aborted"];

async function cyclesPage(params) {
  const state = params.get("state") || "";
  const list = await api(`/api/cycles?limit=100${state ? `&state=${encodeURIComponent(state)}` : ""}`);
  const body = el("tbody");
  const row = (c) => el("tr", { "data-cycle": c.id },
    el("td", {}, cycleLink(c.id)), el("td", { class: "state" }, badge(c.status)),
    el("td", { class: "mono" }, c.selector || c.mission), el("td", {}, objLink({ oid: c.target })),
    el("td", {}, ms(cycleMs(c))), el("td", {}, c.outcome || c.error || ""));
  list.forEach((c) => body.append(row(c)));
  const filter = el("select", { name: "state", onchange: (ev) => { location.hash = ev.target.value ? `#/cycles?state=${ev.target.value}` : "#/cycles"; } },
    STATES.map((s) => { const o = el("option", { value: s }, s || "all states"); if (s === state) o.selected = true; return o; }));
  show(el("h1", {}, "Cycles"),
    el("form", { class: "inline" }, el("label", {}, "state", filter)),
    el("table", { class: "cycles" },
      el("thead", {}, el("tr", {}, el("th", {}, "cycle"), el("th", {}, "state"), el("th", {}, "selector / mission"), el("th", {}, "target"), el("th", {}, "duration"), el("th", {}, "outcome"))),
      body),
    list.length ? null : el("p", { class: "muted" }, "no cycles"));
  page = {
    async onEvent(e) {
      if (!["queued", "end", "state"].includes(e.kind)) return;
      let c;
      try { c = await api(`/api/cycle/${e.cycle}`); } catch { return; }
      if (state && c.status !== state) return;
      const old = body.querySelector(`tr[data-cycle="${e.cycle}"]`);
      const fresh = row(c);
      if (old) old.replaceWith(fresh); else body.prepend(fresh);
      fresh.classList.add("new");
    },
    onLagged() { render(); },
  };
}

// timeline draws the cycle's states to scale: one bar per state, from its
// start, as long as it lasted.
function timeline(c) {
  const states = c.states || [];
  if (!states.length) return el("p", { class: "muted" }, "no states yet");
  const t0 = new Date(states[0].start).getTime();
  const ends = states.map((s) => new Date(s.start).getTime() - t0 + nsToMs(s.duration));
  const total = Math.max(1, ...ends, c.ended ? new Date(c.ended).getTime() - t0 : 0);
  const W = 900, L = 130, R = 80, BH = 20, G = 6;
  const s = svg("svg", { viewBox: `0 0 ${W} ${states.length * (BH + G) + 24}`, width: "100%", class: "timeline", role: "img", "aria-label": "state timeline" });
  const colors = { IDLE: "#9aa4b1", DECOMPOSING: "#5b3cc4", DELEGATING: "#24598f", SYNTHESIZING: "#0e6e73", COMPLETE: "#1f7a3a", FAILED: "#b3261e" };
  states.forEach((st, i) => {
    const start = new Date(st.start).getTime() - t0;
    const d = nsToMs(st.duration);
    const x = L + (start / total) * (W - L - R);
    const w = Math.max(2, (d / total) * (W - L - R));
    const y = 4 + i * (BH + G);
    s.append(svg("text", { x: 4, y: y + 14 }, st.name));
    const r = svg("rect", { x, y, width: w, height: BH, rx: 3, fill: colors[st.name] || "#777", class: "state-bar", "data-state": st.name });
    r.append(svg("title", {}, `${st.name}: ${ms(d)} from ${ms(start)}`));
    s.append(r);
    s.append(svg("text", { x: x + w + 4, y: y + 14 }, ms(d)));
  });
  s.append(svg("text", { x: L, y: states.length * (BH + G) + 18 }, `0 … ${ms(total)}`));
  return el("div", { class: "chart" }, s);
}

async function cyclePage(id) {
  const c = await api(`/api/cycle/${encodeURIComponent(id)}`);
  const trace = el("ul", { class: "trace" }, (c.lines || []).map((l) => el("li", {}, l)));
  const steps = (c.steps || []).map((s, i) => {
    const dec = nsToMs(s.decode || s.duration) / 1000;
    const rate = dec > 0 && s.output_tokens ? (s.output_tokens / dec).toFixed(1) : "";
    return el("div", { class: "step", "data-step": i },
      el("div", { class: "head" },
        el("b", {}, s.persona), el("span", { class: "muted" }, s.state),
        el("span", {}, "adapter: ", s.adapter || "base model"),
        el("span", {}, ms(nsToMs(s.duration))),
        s.decode ? el("span", { class: "muted" }, `prefill ${ms(nsToMs(s.prefill))}, decode ${ms(nsToMs(s.decode))}${s.sample ? ` (sampling ${ms(nsToMs(s.sample))})` : ""}`) : null,
        s.replayed ? el("span", { class: "note" }, "replayed after a conflict") : null,
        s.batch > 1 ? el("span", { class: "note" }, `decoded in a batch of ${s.batch}`) : null,
        el("span", {}, `prompt ${s.prompt_tokens ?? "?"} tokens (window ${s.window ?? "?"})`),
        el("span", {}, `output ${s.output_tokens ?? 0} tokens (max ${s.max_tokens ?? "?"})${s.forced_tokens ? `, ${s.forced_tokens} forced by the grammar` : ""}`),
        rate ? el("span", { class: "rate" }, `${rate} tok/s${s.decode ? "" : " (over the call)"}`) : null,
        s.error ? el("span", { class: "error" }, s.error) : null),
      el("details", {}, el("summary", {}, "prompt"), el("pre", { class: "text" }, s.prompt)),
      el("details", {}, el("summary", {}, "output"), el("pre", { class: "text" }, s.output)));
  });
  const attempts = (c.methods || []).map((a) => el("div", { class: "method", "data-attempt": a.attempt },
    el("div", { class: "head" }, el("b", {}, `attempt ${a.attempt}`), badge(a.verdict),
      a.trial ? el("span", {}, "trial: ", el("code", {}, a.trial)) : null,
      a.error ? el("span", { class: "error" }, a.error) : null),
    a.findings && a.findings.length ? el("ul", { class: "findings" }, a.findings.map((f) => el("li", {}, f))) : null,
    a.source ? highlight(a.source) : null));
  const d = cycleMs(c);
  show(
    el("h1", {}, `Cycle ${c.id} `, el("span", { id: "cycle-status" }, badge(c.status))),
    el("table", { class: "summary" },
      el("tr", {}, el("th", {}, "mission"), el("td", {}, c.mission, c.selector ? [" ", el("code", {}, c.selector)] : "")),
      el("tr", {}, el("th", {}, "target"), el("td", {}, objLink({ oid: c.target }))),
      el("tr", {}, el("th", {}, "brief"), el("td", { class: "preview" }, c.brief)),
      el("tr", {}, el("th", {}, "queued"), el("td", {}, c.queued || "")),
      el("tr", {}, el("th", {}, "duration"), el("td", {}, d === null ? "running" : ms(d))),
      el("tr", {}, el("th", {}, "attempts"), el("td", {}, c.attempts)),
      el("tr", {}, el("th", {}, "context"), el("td", {}, c.context_size ? `${c.context_size} tokens` : "")),
      c.outcome ? el("tr", {}, el("th", {}, "outcome"), el("td", {}, c.outcome)) : null,
      c.error ? el("tr", {}, el("th", {}, "failure"), el("td", { class: "error" }, c.error)) : null),
    el("h2", {}, "Timeline"), timeline(c),
    el("h2", {}, `Model calls (${steps.length})`), steps.length ? steps : el("p", { class: "muted" }, "none yet"),
    attempts.length ? [el("h2", {}, "ALFRED's attempts"), attempts] : null,
    c.findings && c.findings.length ? [el("h2", {}, "Audit findings"), el("ul", { class: "findings" }, c.findings.map((f) => el("li", {}, f)))] : null,
    c.result ? [el("h2", {}, "Result"), c.outcome === "method installed" || /^def /.test(c.result) ? highlight(c.result) : el("pre", { class: "text" }, c.result)] : null,
    el("h2", {}, "Trace"), trace);
  let timer = null;
  page = {
    onEvent(e) {
      if (String(e.cycle) !== String(c.id)) return;
      if (e.kind === "line") {
        const li = el("li", { class: "new" }, e.line);
        trace.append(li);
        trace.scrollTop = trace.scrollHeight;
      }
      if (e.kind === "step" || e.kind === "state" || e.kind === "end") {
        clearTimeout(timer);
        const y = window.scrollY;
        timer = setTimeout(() => { if (route === `cycle/${id}`) render().then(() => window.scrollTo(0, y)); }, e.kind === "end" ? 0 : 250);
      }
    },
    onLagged() { render(); },
  };
}

async function catalogPage(params) {
  const q = params.get("q") || "", mode = params.get("mode") || "hybrid", doc = params.get("doc_id") || "";
  const form = el("form", { class: "inline search", onsubmit: (ev) => {
    ev.preventDefault();
    const f = ev.target, p = new URLSearchParams();
    p.set("q", f.q.value);
    p.set("mode", f.mode.value);
    if (f.doc_id.value) p.set("doc_id", f.doc_id.value);
    location.hash = `#/catalog?${p}`;
  } },
  el("label", {}, "query", el("input", { name: "q", value: q, size: 40 })),
  el("label", {}, "mode", el("select", { name: "mode" }, ["bm25", "vector", "hybrid"].map((m) => { const o = el("option", { value: m }, m); if (m === mode) o.selected = true; return o; }))),
  el("label", {}, "document", el("input", { name: "doc_id", value: doc, placeholder: "any" })),
  el("button", { type: "submit" }, "search"));
  const results = el("div", { class: "results" });
  const docs = el("div", { class: "documents" });
  show(el("h1", {}, "Catalog"), form, results, el("h2", {}, "Documents"), docs);
  if (q) {
    try {
      const p = new URLSearchParams({ q, mode, limit: "20" });
      if (doc) p.set("doc_id", doc);
      const hits = await api(`/api/search?${p}`);
      results.replaceChildren(el("h2", {}, `Results (${hits.length})`), hits.length ? el("table", { class: "hits" },
        el("tr", {}, el("th", {}, "score"), el("th", {}, "document"), el("th", {}, "chunk"), el("th", {}, "text")),
        hits.map((h) => el("tr", {}, el("td", {}, h.score.toFixed(4)), el("td", {}, el("a", { href: `#/document/${encodeURIComponent(h.doc_id)}` }, h.doc_id)),
          el("td", {}, objLink({ oid: Number(h.chunk) })), el("td", { class: "preview" }, h.text)))) : el("p", { class: "muted" }, "no matches"));
    } catch (e) {
      results.replaceChildren(errorBox(e));
    }
  }
  try {
    const d = await api("/api/documents");
    docs.replaceChildren(d.documents.length ? el("table", {},
      el("tr", {}, el("th", {}, "document"), el("th", {}, "chunks"), el("th", {}, "metadata")),
      d.documents.map((x) => el("tr", {}, el("td", {}, el("a", { href: `#/document/${encodeURIComponent(x.id)}` }, x.id)), el("td", {}, x.chunks),
        el("td", { class: "preview" }, Object.entries(x.metadata || {}).map(([k, v]) => `${k}=${v}`).join(", "))))) : el("p", { class: "muted" }, "no documents"),
    d.more ? el("p", { class: "muted" }, "more documents not shown") : null);
  } catch (e) {
    docs.replaceChildren(errorBox(e));
  }
}

async function documentPage(id) {
  const d = await api(`/api/documents/${encodeURIComponent(id)}`);
  show(el("h1", {}, `Document ${d.id}`),
    el("p", { class: "muted" }, Object.entries(d.metadata || {}).map(([k, v]) => `${k}=${v}`).join(", ")),
    el("table", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, "chunk"), el("th", {}, "text")),
      d.chunks.map((c, i) => el("tr", {}, el("td", {}, i), el("td", {}, objLink({ oid: c.oid })), el("td", { class: "preview" }, c.text)))),
    d.omitted ? el("p", { class: "note" }, `${d.omitted} more chunks not shown`) : null);
}

function sendPage(params) {
  const token = sessionStorage.getItem("batos-token") || "";
  const out = el("div", { class: "send-result" });
  const form = el("form", { class: "send", onsubmit: async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    let args, kwargs;
    try {
      args = JSON.parse(f.args.value || "[]");
      kwargs = JSON.parse(f.kwargs.value || "{}");
      if (!Array.isArray(args)) throw new Error("args must be a JSON array");
      if (typeof kwargs !== "object" || Array.isArray(kwargs) || kwargs === null) throw new Error("kwargs must be a JSON object");
    } catch (e) {
      out.replaceChildren(errorBox(e));
      return;
    }
    if (f.token.value) sessionStorage.setItem("batos-token", f.token.value);
    const headers = { "Content-Type": "application/json" };
    if (f.token.value) headers.Authorization = `Bearer ${f.token.value}`;
    try {
      const r = await api("/api/send", { method: "POST", headers, body: JSON.stringify({ target: f.target.value.trim(), selector: f.selector.value.trim(), args, kwargs }) });
      if (r.mission) {
        location.hash = `#/cycle/${r.cycle}`;
      } else {
        out.replaceChildren(el("h2", {}, "Answer"), el("pre", { class: "text" }, JSON.stringify(r.value, null, 2)));
      }
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  } },
  el("label", {}, "target (name or OID)", el("input", { name: "target", value: params.get("target") || "genesis_obj", required: true })),
  el("label", {}, "selector", el("input", { name: "selector", value: params.get("selector") || "display_yourself", required: true })),
  el("label", {}, "args (JSON array; {\"oid\": N} is a reference)", el("textarea", { name: "args", rows: 3, cols: 60 }, "[]")),
  el("label", {}, "kwargs (JSON object)", el("textarea", { name: "kwargs", rows: 3, cols: 60 }, "{}")),
  el("label", {}, "token (needed off loopback; kept for this tab)", el("input", { name: "token", type: "password", value: token, autocomplete: "off" })),
  el("p", {}, el("button", { type: "submit", id: "send-button" }, "send")));
  show(el("h1", {}, "Send a message"),
    el("p", { class: "muted" }, "A message the object does not understand starts a cognitive cycle; the page then follows it live."),
    form, out);
}

// ---- routing and the event stream ------------------------------------

async function render() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").map(decodeURIComponent);
  route = path;
  page = null;
  document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("active",
    a.dataset.nav === ({ "": "status", object: "objects", cycle: "cycles", document: "catalog" }[parts[0]] || parts[0])));
  try {
    switch (parts[0]) {
      case "": route = "status"; await statusPage(); break;
      case "objects": await objectsPage(); break;
      case "object": await objectPage(parts.slice(1).join("/")); break;
      case "cycles": await cyclesPage(params); break;
      case "cycle": await cyclePage(parts[1]); break;
      case "catalog": await catalogPage(params); break;
      case "document": await documentPage(parts.slice(1).join("/")); break;
      case "send": sendPage(params); break;
      default: show(el("h1", {}, "Not found"), el("p", {}, el("a", { href: "#/" }, "status")));
    }
  } catch (e) {
    show(el("h1", {}, "Error"), errorBox(e));
  }
  document.body.dataset.route = route;
}

function connect() {
  const live = document.getElementById("live");
  const es = new EventSource("/api/events");
  es.addEventListener("open", () => live.classList.remove("off"));
  es.addEventListener("error", () => live.classList.add("off"));
  let seen = 0;
  es.addEventListener("cycle", (m) => {
    let e;
    try { e = JSON.parse(m.data); } catch { return; }
    document.body.dataset.events = String(++seen); // how many arrived, for a look from outside
    if (page && page.onEvent) page.onEvent(e);
  });
  es.addEventListener("lagged", () => { if (page && page.onLagged) page.onLagged(); });
}

window.addEventListener("hashchange", render);
render();
connect();

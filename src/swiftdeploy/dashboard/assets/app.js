// SwiftDeploy dashboard: renders the server's snapshot (SSE) into the page.
// Plain DOM and SVG, no framework, no inline script (the CSP forbids it); values are
// always set as text, never as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const TOKEN_KEY = "swiftdeploy.dashboard.token";
let snapshot = null;
let receivedAt = 0;
const openDecisions = new Set(); // decision ids whose input the viewer unfolded

function $(id) { return document.getElementById(id); }
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}
function pill(text, kind) { return el("span", { class: "pill pill-" + kind, text }); }
function fmt(value, digits, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return "n/a";
  return Number(value).toFixed(digits) + (unit || "");
}
function pct(rate) { return rate === null || rate === undefined ? "n/a" : fmt(rate * 100, 2, "%"); }
function shortTs(ts) {
  // "2026-12-02T07:21:22.552Z" -> "07:21:22" in the viewer's time zone; the full stamp on hover.
  const when = new Date(ts);
  return Number.isNaN(when.getTime()) ? String(ts || "") : when.toLocaleTimeString([], { hour12: false });
}
function clock(epoch) {
  return new Date(epoch * 1000).toLocaleTimeString([], { hour12: false });
}

// -- token -----------------------------------------------------------------------------
function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
}

// -- charts ----------------------------------------------------------------------------
function chart(points, key, max, label, unitFmt) {
  const width = 120, height = 40;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  const values = points.map((p) => p[key]);
  const last = values.length ? values[values.length - 1] : null;
  svg.setAttribute("aria-label", `${label}: ${unitFmt(last)}`);
  if (values.length > 1) {
    const top = max > 0 ? max : 1;
    const step = width / (values.length - 1);
    const coords = values.map((v, i) => [i * step, height - 2 - ((v || 0) / top) * (height - 4)]);
    const d = coords.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join("");
    const area = document.createElementNS(SVG, "path");
    area.setAttribute("d", `${d}L${width},${height}L0,${height}Z`);
    area.setAttribute("class", "area");
    const line = document.createElementNS(SVG, "path");
    line.setAttribute("d", d);
    line.setAttribute("class", "line");
    svg.append(area, line);
  }
  return el("div", { class: "chart" }, el("span", { class: "label", text: `${label} ${unitFmt(last)}` }), svg);
}

// -- panels ----------------------------------------------------------------------------
function renderOverview(o) {
  $("service").textContent = o.service ? "· " + o.service : "";
  const state = $("run-state");
  if (o.running) {
    state.textContent = "running · " + o.mode;
    state.className = "pill " + (o.mode === "canary" ? "pill-warn" : "pill-good");
  } else {
    state.textContent = "not running";
    state.className = "pill pill-bad";
  }
  $("updated").textContent = "updated " + clock(o.sampled_at);
  const unlocked = o.controls && token() !== "";
  $("controls").hidden = !unlocked;
  $("token-form").hidden = !o.controls || unlocked;
  $("lock-btn").hidden = !unlocked;
  $("readonly-note").textContent = !o.controls
    ? "Read-only dashboard: controls are disabled on this server."
    : unlocked ? "Controls unlocked for this tab." : "Read-only until you give the dashboard token.";
  document.body.dataset.controls = unlocked ? "on" : "off";
}

function renderTracks(panel, overview) {
  const box = $("tracks");
  box.replaceChildren();
  $("window-note").textContent = panel.window_s ? `figures over the last ${panel.window_s}s window` : "";
  if (!overview.running) {
    box.append(el("div", { class: "card down", id: "not-running" },
      el("strong", { text: "not running" }),
      el("p", { class: "muted", text: overview.error || "Nothing is deployed. Run 'swiftdeploy deploy'." })));
    return;
  }
  const all = panel.tracks.flatMap((t) => t.series);
  const max = (key) => Math.max(0, ...all.map((p) => p[key] || 0));
  const maxes = { req_per_s: max("req_per_s"), error_rate: max("error_rate"), p99_ms: max("p99_ms") };
  for (const t of panel.tracks) {
    const w = t.window || {};
    const health = t.healthy ? pill("healthy", "good") : pill("unhealthy", "bad");
    const chaos = t.chaos && t.chaos !== "none" ? pill("chaos: " + t.chaos, "warn") : null;
    const bar = el("div", { class: "bar" }, el("span"));
    bar.firstChild.style.width = t.weight + "%";
    box.append(el("article", { class: "card track " + t.track, id: "track-" + t.track, "data-version": t.version },
      el("div", { class: "track-head" },
        el("span", { class: "track-name", text: t.track }),
        el("span", {}, el("b", { text: t.version }), " ", el("span", { class: "muted small", text: t.instance }))),
      el("div", { class: "track-head" }, el("span", { text: `weight ${t.weight}%` }), el("span", {}, health, " ", chaos)),
      bar,
      t.healthy ? null : el("p", { class: "muted small", text: t.health }),
      el("div", { class: "figures" },
        figure("req/s", fmt(w.req_per_s, 1)), figure("errors", pct(w.error_rate)),
        figure("P99", fmt(w.p99_ms, 0, " ms")), figure("requests", w.request_count ?? "n/a")),
      el("div", { class: "charts" },
        chart(t.series, "req_per_s", maxes.req_per_s, "req/s", (v) => fmt(v, 1)),
        chart(t.series, "error_rate", Math.max(maxes.error_rate, 0.01), "errors", pct),
        chart(t.series, "p99_ms", maxes.p99_ms, "P99", (v) => fmt(v, 0, " ms")))));
  }
}
function figure(label, value) {
  return el("div", { class: "figure" }, el("span", { class: "label", text: label }), el("span", { class: "value", text: String(value) }));
}

const VERDICT_KIND = { pass: "good", fail: "bad", inconclusive: "warn" };
const PHASE_KIND = { progressing: "warn", paused: "wait", inconclusive: "warn", promoted: "good", rolled_back: "bad", aborted: "bad" };

function renderRollout(panel) {
  const box = $("rollout");
  box.replaceChildren();
  const r = panel.rollout;
  if (!r) { box.append(el("p", { class: "muted", text: "No rollout yet." })); return; }
  const steps = el("ol", { class: "steps", id: "rollout-steps" });
  for (const s of r.steps) {
    const verdicts = el("div", { class: "verdicts" });
    for (const a of s.analyses) {
      const verdict = pill(a.verdict, VERDICT_KIND[a.verdict] || "wait");
      verdict.title = a.reasons.length ? a.reasons.join("; ") : "analysis passed";
      verdicts.append(verdict);
    }
    steps.append(el("li", { class: "step", "data-status": s.status, "data-step": String(s.index) },
      el("div", { class: "w", text: s.weight + "%" }),
      el("div", { class: "muted small", text: `step ${s.index + 1} · ${s.status.replace("_", " ")}` }),
      verdicts));
  }
  const next = r.next_analysis_in_s === null ? "—"
    : Math.max(0, r.next_analysis_in_s - (Date.now() / 1000 - receivedAt)).toFixed(0) + " s";
  const meta = el("div", { class: "meta" },
    el("span", {}, "version ", el("b", { text: r.version })),
    el("span", { id: "rollout-phase" }, pill(r.phase.replace("_", " "), PHASE_KIND[r.phase] || "wait")),
    el("span", {}, "step ", el("b", { text: `${r.step + 1}/${r.step_count}` }), ` at ${r.weight}%`),
    el("span", {}, "next analysis in ", el("b", { id: "next-analysis", text: next })),
    el("span", {}, "failed checks ", el("b", { id: "failed-checks", text: `${r.failed_checks}/${r.max_failed_checks}` })));
  box.append(meta, steps);
  if (r.last_verdict) {
    const why = r.last_verdict.reasons.length ? r.last_verdict.reasons : ["analysis passed"];
    box.append(el("div", { class: "small" },
      el("span", { class: "muted", text: `last analysis (step ${r.last_verdict.step + 1}, ${r.last_verdict.weight}%): ` }),
      pill(r.last_verdict.verdict, VERDICT_KIND[r.last_verdict.verdict] || "wait"),
      el("ul", { class: "why" }, ...why.map((w) => el("li", { text: w })))));
  }
}

function renderDecisions(panel) {
  const list = $("decisions");
  list.replaceChildren();
  if (!panel.decisions.length) list.append(el("li", { class: "muted", text: "None yet." }));
  for (const d of panel.decisions) {
    const answer = d.type === "policy_decision"
      ? (d.allow ? pill("allow", "good") : pill("deny", "bad")) : pill("unavailable", "bad");
    const verdict = d.verdict ? pill(d.verdict, VERDICT_KIND[d.verdict] || "wait") : null;
    const reasons = d.reasons && d.reasons.length
      ? el("ul", { class: "reasons" }, ...d.reasons.map((x) => el("li", { text: x }))) : null;
    const details = el("details", { "data-decision": d.decision_id || "" },
        el("summary", {}, el("span", { class: "ts muted small", text: shortTs(d.ts), title: d.ts }), el("b", { text: d.domain }), answer, verdict,
          el("span", { class: "muted small", text: d.reason || "" })),
        el("div", { class: "muted small", text: "the exact input the policy saw:" }),
        el("pre", { text: JSON.stringify(d.input, null, 2) }));
    details.open = openDecisions.has(d.decision_id);
    details.addEventListener("toggle", () => {
      if (details.open) openDecisions.add(d.decision_id); else openDecisions.delete(d.decision_id);
    });
    list.append(el("li", {}, details, reasons));
  }
}

function renderHistory(panel) {
  const v = panel.verify;
  const badge = $("verify");
  if (!v) { badge.textContent = "chain: …"; badge.className = "pill pill-wait"; }
  else if (v.ok) { badge.textContent = `chain verified · ${v.count} events at ${clock(v.checked_at)}`; badge.className = "pill pill-good"; }
  else { badge.textContent = "chain broken: " + v.problem; badge.className = "pill pill-bad"; }
  const list = $("timeline");
  list.replaceChildren();
  if (!panel.events.length) list.append(el("li", { class: "muted", text: "No events." }));
  for (const e of panel.events) {
    list.append(el("li", { class: "kind-" + e.kind, "data-type": e.type },
      el("span", { class: "ts", text: shortTs(e.ts), title: e.ts || "" }), el("span", { class: "type", text: e.type }),
      el("span", { text: e.summary })));
  }
}

function renderHost(panel) {
  const box = $("host");
  box.replaceChildren();
  const f = panel.facts || {};
  const rows = [["disk free", fmt(f.disk_free_gb, 1, " GB")], ["CPU load (1 min)", fmt(f.cpu_load, 2)],
    ["CPUs", f.cpu_count ?? "n/a"], ["memory available", fmt(f.mem_available_gb, 1, " GB")]];
  box.append(el("table", { class: "facts" }, ...rows.map(([k, v]) => el("tr", {}, el("td", { text: k }), el("td", { text: String(v) })))));
  if (panel.unavailable) box.append(el("p", {}, pill("UNAVAILABLE", "bad"), " ", panel.unavailable));
  const checks = el("ul", { class: "why", id: "host-checks" });
  for (const c of panel.checks) {
    checks.append(el("li", {}, pill(c.status, c.status === "PASS" ? "good" : "bad"), " ", el("b", { text: c.rule }), " ", c.detail));
  }
  box.append(checks);
}

function render() {
  if (!snapshot) return;
  renderOverview(snapshot.overview);
  renderTracks(snapshot.tracks, snapshot.overview);
  renderRollout(snapshot.rollout);
  renderDecisions(snapshot.decisions);
  renderHistory(snapshot.history);
  renderHost(snapshot.host);
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
}

// -- controls --------------------------------------------------------------------------
async function sendControl(action) {
  const out = $("control-result");
  const body = action === "set-weight" ? JSON.stringify({ weight: Number($("weight-input").value) }) : "";
  out.className = "result";
  out.textContent = action + "…";
  try {
    const response = await fetch("/api/control/" + action, {
      method: "POST",
      headers: { "Authorization": "Bearer " + token(), "Content-Type": "application/json" },
      body,
      credentials: "omit",
    });
    const answer = await response.json();
    out.className = "result " + (response.ok ? "good" : "bad");
    out.textContent = response.ok ? answer.summary : `${response.status}: ${answer.error}`;
  } catch (err) {
    out.className = "result bad";
    out.textContent = action + " failed: " + err;
  }
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("snapshot", (event) => {
    snapshot = JSON.parse(event.data);
    receivedAt = Date.now() / 1000;
    render();
  });
  source.onerror = () => {
    const state = $("run-state");
    state.textContent = "dashboard unreachable — retrying";
    state.className = "pill pill-bad";
  };
}

document.addEventListener("DOMContentLoaded", () => {
  takeTokenFromFragment();
  for (const button of document.querySelectorAll("#controls [data-action]")) {
    button.addEventListener("click", () => sendControl(button.dataset.action));
  }
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    $("token-input").value = "";
    render();
  });
  $("lock-btn").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); render(); });
  setInterval(() => {
    const next = $("next-analysis");
    const r = snapshot && snapshot.rollout.rollout;
    if (next && r && r.next_analysis_in_s !== null) {
      next.textContent = Math.max(0, r.next_analysis_in_s - (Date.now() / 1000 - receivedAt)).toFixed(0) + " s";
    }
  }, 1000);
  connect();
});

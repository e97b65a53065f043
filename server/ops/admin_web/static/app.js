// Branchsync operations dashboard: polls /admin/api/overview and redraws.
// No framework and no third-party code; every value goes in as text, never as HTML.
"use strict";

const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);
let timer = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child === null || child === undefined ? "" : child);
  return node;
}

function ago(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  if (seconds < 5) return "now";
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

function since(iso, nowIso) {
  return iso ? ago((Date.parse(nowIso) - Date.parse(iso)) / 1000) : "never";
}

function fmtMs(ms) {
  return ms === null ? "–" : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

function pill(online) {
  return el("span", { class: `pill ${online ? "online" : "offline"}` }, online ? "online" : "offline");
}

function num(value) {
  return el("td", { class: "num" }, value === null || value === undefined ? "–" : String(value));
}

function renderFleet(data) {
  const body = $("fleet").tBodies[0];
  const rows = [];
  for (const branch of data.branches) {
    const online = branch.online > 0;
    rows.push(el("tr", { class: "branch", "data-branch": branch.name, "data-status": online ? "online" : "offline" },
      el("td", {}, branch.name, el("span", { class: "muted" }, ` · ${branch.online}/${branch.devices_total} devices`)),
      el("td", {}, pill(online)),
      el("td", {}, ago(branch.last_seen_age_s)),
      num(branch.behind), num(branch.pending), num(branch.rejected), el("td")));
    for (const device of branch.devices) {
      rows.push(el("tr", { class: "device", "data-device": device.id, "data-status": device.online ? "online" : "offline" },
        el("td", {}, device.name), el("td", {}, pill(device.online)),
        el("td", { title: device.last_seen || "" }, ago(device.last_seen_age_s)),
        num(device.behind), num(device.pending), num(device.rejected), el("td", {}, device.app_version || "–")));
    }
  }
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 7, class: "muted" }, "No branches yet.")));
  body.replaceChildren(...rows);
}

function renderRejections(data) {
  const rows = data.rejections.map((r) => el("tr", { class: "rejection" },
    el("td", { title: r.at }, since(r.at, data.now)),
    el("td", {}, r.branch || "–"), el("td", {}, r.device || "REST / integration"),
    el("td", {}, `${r.collection || "?"} ${r.row_id ? r.row_id.slice(0, 8) : ""}`),
    el("td", {}, r.field || "–"),
    el("td", {}, el("strong", {}, r.code), `: ${r.message}`)));
  $("rejections").tBodies[0].replaceChildren(...rows);
  $("no-rejections").hidden = rows.length > 0;
}

function renderChart(minutes) {
  const svg = $("error-chart");
  const ns = "http://www.w3.org/2000/svg";
  const peak = Math.max(1, ...minutes.map((m) => m.accepted + m.rejected));
  const width = 600 / minutes.length;
  const bars = [];
  minutes.forEach((m, i) => {
    const total = ((m.accepted + m.rejected) / peak) * 86;
    const bad = (m.rejected / peak) * 86;
    for (const [cls, h, y] of [["ok", total - bad, 90 - total], ["bad", bad, 90 - bad]]) {
      if (h <= 0) continue;
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("class", cls);
      rect.setAttribute("x", String(i * width + 0.5));
      rect.setAttribute("y", String(y));
      rect.setAttribute("width", String(Math.max(1, width - 1)));
      rect.setAttribute("height", String(h));
      bars.push(rect);
    }
  });
  svg.replaceChildren(...bars);
  const accepted = minutes.reduce((s, m) => s + m.accepted, 0);
  const rejected = minutes.reduce((s, m) => s + m.rejected, 0);
  const rate = accepted + rejected ? ((100 * rejected) / (accepted + rejected)).toFixed(1) : "0.0";
  $("error-rate").textContent = `${accepted + rejected} writes in the last hour, ${rejected} rejected (${rate} %)`;
}

function renderTiles(data) {
  const online = data.branches.filter((b) => b.online > 0).length;
  $("tile-branches").textContent = `${online} / ${data.branches.length}`;
  $("tile-propagation").textContent = `${fmtMs(data.propagation.p50_ms)} / ${fmtMs(data.propagation.p99_ms)}`;
  $("tile-head").textContent = String(data.head);
  $("tile-epoch").textContent = `epoch ${data.epoch.slice(0, 8)}`;
  const b = data.backups;
  $("backup-tile").classList.toggle("bad", b.failing);
  $("tile-backup").textContent = b.failing ? "FAILED" : since(b.last_success, data.now);
  $("tile-backup-detail").textContent = b.failing
    ? `${b.last_error || "unknown error"} (${since(b.last_failure, data.now)})`
    : b.enabled ? (b.last_file || "automatic backups on") : "automatic backups off";
}

function render(data) {
  renderTiles(data);
  renderChart(data.writes_per_minute);
  renderFleet(data);
  renderRejections(data);
  $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
  $("stale").textContent = "";
}

function show(view) {
  $("login-view").hidden = view !== "login";
  $("dashboard").hidden = view !== "dashboard";
  $("who").hidden = view !== "dashboard";
}

async function poll() {
  clearTimeout(timer);
  try {
    const answer = await fetch("/admin/api/overview", { credentials: "same-origin", cache: "no-store" });
    if (answer.status === 401) { show("login"); return; }
    if (!answer.ok) throw new Error(`server answered ${answer.status}`);
    render(await answer.json());
    show("dashboard");
  } catch (err) {
    $("stale").textContent = `Cannot refresh: ${err.message}`;
  }
  timer = setTimeout(poll, POLL_MS);
}

async function start() {
  const me = await fetch("/admin/api/me", { credentials: "same-origin" });
  if (me.ok) {
    $("user").textContent = (await me.json()).name;
    poll();
  } else {
    show("login");
  }
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  const answer = await fetch("/admin/api/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ name: $("login-name").value, password: $("login-password").value }),
  });
  if (answer.ok) {
    $("login-password").value = "";
    start();
  } else {
    const body = await answer.json().catch(() => ({}));
    $("login-error").textContent = (body.error && body.error.message) || `login failed (${answer.status})`;
  }
});

$("logout").addEventListener("click", async () => {
  clearTimeout(timer);
  await fetch("/admin/api/logout", { method: "POST", credentials: "same-origin" });
  show("login");
});

start();

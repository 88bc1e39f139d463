// QuantumNet web console: live topology and security-group editor.
// Vanilla ES2020, no framework, no request outside the page's origin.
// Data: GET /console/api/state, then the SSE stream /console/api/events
// (snapshot… synced, then created/updated/deleted; resync: a fresh snapshot
// follows); polling /console/api/state every 2 s when streaming fails.
// The build (build/main.go) drops whole-line comments and indentation only:
// keep every string on one line (no multi-line template literals).
"use strict";

const API = "/console/api";
const SVGNS = "http://www.w3.org/2000/svg";
const $ = (sel) => document.querySelector(sel);
const arr = (v) => (Array.isArray(v) ? v : []);

// ---- state ---------------------------------------------------------------
const S = {
  networks: new Map(), routers: new Map(), fips: new Map(), ports: new Map(),
  lbs: new Map(), sgs: new Map(), chassis: "", presets: [],
};
const KIND_MAP = { port: "ports", network: "networks", router: "routers", floating_ip: "fips", load_balancer: "lbs" };
const EV_FIELD = { port: "port", network: "network", router: "router", floating_ip: "floating_ip", load_balancer: "load_balancer" };
const PRESETS = ["web", "ssh", "rdp", "database", "icmp", "internal"];
let csrf = ($('meta[name="qn-csrf"]') || {}).content || "";

function keyOf(kind, o) { return kind === "floating_ip" ? o.address : o.name; }

function loadState(st) {
  S.networks = new Map(arr(st.networks).map((o) => [o.name, o]));
  S.routers = new Map(arr(st.routers).map((o) => [o.name, o]));
  S.fips = new Map(arr(st.floating_ips).map((o) => [o.address, o]));
  S.ports = new Map(arr(st.ports).map((o) => [o.name, o]));
  S.lbs = new Map(arr(st.load_balancers).map((o) => [o.name, o]));
  loadGroups(st.security_groups);
  if (st.chassis) S.chassis = st.chassis;
}

function loadGroups(list) {
  S.sgs = new Map(arr(list).map((o) => [o.name, o]));
}

// ---- HTTP ------------------------------------------------------------------
async function getJSON(path) {
  const r = await fetch(API + path, { credentials: "same-origin", cache: "no-store" });
  if (!r.ok) throw new Error(await errText(r));
  return r.json();
}

async function errText(r) {
  try {
    const b = await r.json();
    if (b && b.error) return b.error;
  } catch (e) { /* not JSON */ }
  return r.status + " " + r.statusText;
}

// write sends a non-GET request with the CSRF token. A 403 may mean the
// daemon restarted (a new token): fetch the page's token again and retry once.
async function write(method, path, body, retried) {
  writes++;
  try { return await send(method, path, body, retried); } finally { writes++; }
}

// writes counts the writes' starts and ends: a read of the groups that
// overlapped a write may predate it and is read again.
let writes = 0;

async function send(method, path, body, retried) {
  const r = await fetch(API + path, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-QN-CSRF": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 403 && !retried && (await refreshToken())) return send(method, path, body, true);
  if (!r.ok) throw new Error(await errText(r));
  const t = await r.text();
  return t ? JSON.parse(t) : {};
}

async function refreshToken() {
  try {
    const r = await fetch("/console/", { credentials: "same-origin", cache: "no-store" });
    const m = /name="qn-csrf" content="([^"]*)"/.exec(await r.text());
    if (m && m[1] !== csrf) { csrf = m[1]; return true; }
  } catch (e) { /* keep the old token */ }
  return false;
}

const enc = encodeURIComponent;

// ---- live data: stream, reconnect, polling -----------------------------------
const live = { es: null, errors: [], pollTimer: 0, retryTimer: 0, pending: null, pollFailed: false };

function setMode(mode) {
  const el = $("#status");
  const text = { live: "live", reconnecting: "reconnecting…", polling: "polling every 2 s (no stream)" };
  el.dataset.mode = mode;
  el.textContent = text[mode];
}

function connect() {
  if (!("EventSource" in window)) { startPolling(); return; }
  if (live.es) live.es.close();
  const es = new EventSource(API + "/events");
  live.es = es;
  es.onopen = () => { if (live.es === es) { live.pending = emptyMaps(); setMode("live"); stopPolling(); } };
  es.onmessage = (m) => {
    if (live.es !== es) return;
    try { onEvent(JSON.parse(m.data)); } catch (e) { console.error("console: bad event", e); }
  };
  es.onerror = () => {
    if (live.es !== es) return;
    const now = Date.now();
    live.errors = live.errors.filter((t) => now - t < 10000);
    live.errors.push(now);
    live.pending = null;
    if (live.errors.length >= 3) {
      es.close(); live.es = null; live.errors = [];
      startPolling();
      return;
    }
    if (!live.pollTimer) setMode("reconnecting");
    // A refused stream (HTTP error) is closed for good: reopen it ourselves.
    if (es.readyState === 2) setTimeout(() => { if (live.es === es) connect(); }, 1500);
  };
}

function startPolling() {
  setMode("polling");
  if (!live.pollTimer) { poll(); live.pollTimer = setInterval(poll, 2000); }
  if (!live.retryTimer) live.retryTimer = setInterval(() => { if (!live.es) connect(); }, 30000);
}

function stopPolling() {
  clearInterval(live.pollTimer); clearInterval(live.retryTimer);
  live.pollTimer = live.retryTimer = 0;
}

async function poll() {
  try {
    loadState(await getJSON("/state"));
    render();
    // The daemon is back after a failure: try the stream again now.
    if (live.pollFailed && !live.es) connect();
    live.pollFailed = false;
  } catch (e) {
    live.pollFailed = true;
  }
}

// onEvent applies one stream event. snapshot events after a connect or a
// resync collect a fresh copy, swapped in at synced.
function onEvent(ev) {
  const t = ev.type;
  if (t === "resync") { live.pending = emptyMaps(); return; }
  if (t === "synced") {
    if (live.pending) Object.assign(S, live.pending);
    live.pending = null;
    setMode("live");
    live.errors = [];
    render(); refreshGroupsSoon();
    return;
  }
  const field = EV_FIELD[ev.kind], store = KIND_MAP[ev.kind];
  const obj = field && ev[field];
  if (!store || !obj) return;
  if (t === "snapshot") {
    if (!live.pending) live.pending = emptyMaps();
    live.pending[store].set(keyOf(ev.kind, obj), obj);
    return;
  }
  const target = live.pending ? live.pending[store] : S[store];
  if (t === "deleted") target.delete(keyOf(ev.kind, obj) || ev.name);
  else target.set(keyOf(ev.kind, obj), obj);
  if (live.pending) return;
  if (ev.kind === "port" && (t !== "updated" || arr(ev.changed).includes("security_groups"))) refreshGroupsSoon();
  render();
}

function emptyMaps() {
  return { networks: new Map(), routers: new Map(), fips: new Map(), ports: new Map(), lbs: new Map() };
}

let groupsTimer = 0;
// Groups are not on the stream: their members change with ports, so read
// the groups (alone, not the whole state) again, once for a burst.
function refreshGroupsSoon() {
  clearTimeout(groupsTimer);
  groupsTimer = setTimeout(async () => {
    const at = writes;
    try {
      const list = await getJSON("/security-groups");
      if (at !== writes) { refreshGroupsSoon(); return; }
      loadGroups(list); renderSG();
    } catch (e) { /* next time */ }
  }, 300);
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderFilters(); renderTopology(); renderDetail(); renderSG();
  });
}

// ---- small DOM helpers -----------------------------------------------------
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

function s(tag, attrs, ...kids) {
  const e = document.createElementNS(SVGNS, tag);
  setAttrs(e, attrs);
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

function setAttrs(e, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
}

function clip(str, n) { str = str || ""; return str.length > n ? str.slice(0, n - 1) + "…" : str; }
const collator = new Intl.Collator(undefined, { numeric: true });
function cmp(a, b) { return collator.compare(a || "", b || ""); }
function sorted(m) { return [...m.values()].sort((a, b) => cmp(a.name || a.address, b.name || b.address)); }

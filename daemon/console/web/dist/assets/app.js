"use strict";
const API = "/console/api";
const SVGNS = "http://www.w3.org/2000/svg";
const $ = (sel) => document.querySelector(sel);
const arr = (v) => (Array.isArray(v) ? v : []);
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
async function write(method, path, body, retried) {
writes++;
try { return await send(method, path, body, retried); } finally { writes++; }
}
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
if (live.pollFailed && !live.es) connect();
live.pollFailed = false;
} catch (e) {
live.pollFailed = true;
}
}
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
const PW = 140, PH = 46, NW = 164, NH = 92, RW = 150, RH = 38, EW = 170, EH = 38, GH = 26;
const Y_EXT = 16, Y_ROUTER = 100, Y_NET = 190, PORT_GAP = 8, COL_W = PW + 26, NET_GAP = 14, ROW_GAP = 52, MARGIN = 30;
const ROWS = 10, GROUP = 50, GROUP_MAX = 60, SMALL = 8, READ_PX = 10, TEXT_PX = [10, 11, 12, 13];
const toggled = new Map();
function viewSize() {
const r = $("#topology").getBoundingClientRect();
return r.width > 0 ? { w: r.width, h: r.height } : { w: 1200, h: 700 };
}
function netOrder(v) {
const order = [], seen = new Set(), netSet = new Set(v.nets.map((n) => n.name));
for (const r of v.routers) for (const n of arr(r.networks)) if (netSet.has(n) && !seen.has(n)) { seen.add(n); order.push(n); }
for (const n of v.nets) if (!seen.has(n.name)) order.push(n.name);
return order;
}
function stats(kids) {
const st = { ports: 0, up: 0, down: 0, migrating: 0, vm: 0, container: 0, lb: 0 };
for (const [kind, o] of kids) {
if (kind === "lb") { st.lb++; continue; }
st.ports++; st[portState(o)]++; st[o.kind === "vm" ? "vm" : "container"]++;
}
return st;
}
function cols(n, vw) {
const fit = Math.max(1, Math.floor((vw - MARGIN - 44) / COL_W));
return Math.max(1, Math.min(fit, Math.ceil(Math.min(n, GROUP) / ROWS)));
}
function groupOpen(name, i) {
const t = toggled.get("group:" + name + "#" + i);
return t === undefined ? false : t;
}
function netSize(name, kids, open, vw) {
if (!open || !kids.length) return { w: NW, h: NH };
const c = cols(kids.length, vw), w = Math.max(NW, 14 + c * COL_W);
if (kids.length <= GROUP_MAX) return { w, h: NH + 24 + Math.ceil(kids.length / c) * (PH + PORT_GAP) };
let h = NH + 14;
for (let i = 0; i * GROUP < kids.length; i++) {
h += GH + 8;
if (groupOpen(name, i)) h += Math.ceil(Math.min(GROUP, kids.length - i * GROUP) / c) * (PH + PORT_GAP) + 6;
}
return { w, h };
}
function netRows(order, kidsOf, open, vw) {
const pos = new Map();
let x = MARGIN, y = Y_NET, rowH = 0, row = 0, width = 0;
for (const name of order) {
const sz = netSize(name, kidsOf.get(name), open.has(name), vw);
if (x > MARGIN && x + sz.w > vw - 30) { y += rowH + ROW_GAP; x = MARGIN; rowH = 0; row++; }
pos.set(name, { x, y, w: sz.w, h: sz.h, row });
width = Math.max(width, x + sz.w + 10); x += sz.w + NET_GAP; rowH = Math.max(rowH, sz.h);
}
return { pos, height: y + rowH, width };
}
function openNets(order, kidsOf, vw, vh) {
const f = filters(), open = new Set(), auto = [];
for (const n of order) {
const t = toggled.get("network:" + n), k = kidsOf.get(n).length;
if (t !== undefined) { if (t) open.add(n); continue; }
open.add(n);
if (!(k <= SMALL || f.net === n || ((f.text || f.ch) && k <= GROUP_MAX))) auto.push(n);
}
auto.sort((a, b) => kidsOf.get(b).length - kidsOf.get(a).length);
for (const n of auto) {
if (netRows(order, kidsOf, open, vw).height <= vh - 20) break;
open.delete(n);
}
return open;
}
function layout(v) {
const L = { boxes: [], edges: [], areas: new Map(), width: 0, height: 0 };
const at = new Map();
const put = (kind, name, obj, x, y, w, h, extra) => { const b = Object.assign({ kind, name, obj, x, y, w, h }, extra); L.boxes.push(b); at.set(kind + ":" + name, b); return b; };
const order = netOrder(v);
const kidsOf = new Map(order.map((n) => [n, []]));
for (const p of v.ports) kidsOf.get(p.network).push(["port", p]);
for (const l of v.lbs) kidsOf.get(l.network).push(["lb", l]);
const vs = viewSize();
const open = openNets(order, kidsOf, vs.w, vs.h);
const rows = netRows(order, kidsOf, open, vs.w);
for (const name of order) {
const p = rows.pos.get(name), kids = kidsOf.get(name), isOpen = open.has(name) && kids.length > 0;
put("network", name, S.networks.get(name), p.x, p.y, NW, NH, { stats: stats(kids), open: isOpen, row: p.row, count: kids.length });
L.areas.set(name, p);
if (isOpen) placeKids(L, put, name, kids, p, vs.w);
}
placeRow(v.routers, Y_ROUTER, RW, RH, "router", (r) => centres(arr(r.networks).map((n) => at.get("network:" + n))), put, rows.width);
v.routers.forEach((r, i) => { for (const n of arr(r.networks)) routerEdge(L.edges, at, r.name, n, i); });
placeRow(v.exts, Y_EXT, EW, EH, "external", (e) => centres(v.routers.filter((r) => r.gateway && r.gateway.network === e.name).map((r) => at.get("router:" + r.name))), put, rows.width);
for (const r of v.routers) if (r.gateway) link(L.edges, at, "external:" + r.gateway.network, "router:" + r.name, "edge gw");
L.width = Math.max(rows.width, ...L.boxes.map((b) => b.x + b.w + 10));
L.height = rows.height + 30;
return L;
}
function placeKids(L, put, name, kids, p, vw) {
const c = cols(kids.length, vw), x = p.x, top = p.y + NH;
const column = (list, y0, from) => {
const rows = Math.ceil(list.length / c);
list.forEach(([kind, o], i) => {
const trunk = x + 8 + Math.floor(i / rows) * COL_W, py = y0 + (i % rows) * (PH + PORT_GAP);
put(kind, o.name, o, trunk + 14, py, PW, PH);
L.edges.push({ d: "M" + (x + 8) + " " + from + "V" + (y0 - 14) + "H" + trunk + "V" + (py + PH / 2) + "H" + (trunk + 14), from: "network:" + name, to: kind + ":" + o.name });
});
return y0 + rows * (PH + PORT_GAP);
};
if (kids.length <= GROUP_MAX) { column(kids, top + 24, top); return; }
let y = top + 14;
for (let i = 0; i * GROUP < kids.length; i++) {
const part = kids.slice(i * GROUP, (i + 1) * GROUP), gopen = groupOpen(name, i);
const g = put("group", name + "#" + i, null, x + 22, y, p.w - 22, GH, { stats: stats(part), open: gopen, first: part[0][1].name, last: part[part.length - 1][1].name, network: name });
L.edges.push({ d: "M" + (x + 8) + " " + top + "V" + (y + GH / 2) + "H" + g.x, from: "network:" + name, to: "group:" + g.name });
y += GH + 8;
if (gopen) y = column(part, y + 14, y - 8) + 6;
}
}
function centres(bs) {
bs = bs.filter(Boolean);
return bs.length ? bs.reduce((a, b) => a + b.x + b.w / 2, 0) / bs.length : null;
}
function placeRow(list, y, w, h, kind, want, put, xEnd) {
let free = xEnd;
const items = list.map((o) => { const c = want(o); return { o, c: c === null ? free++ * 1e6 : c - w / 2 }; });
items.sort((a, b) => a.c - b.c);
let minX = MARGIN;
for (const it of items) {
const xx = Math.max(minX, it.c >= 1e6 ? minX : it.c);
put(kind, it.o.name, it.o, xx, y, w, h);
minX = xx + w + 20;
}
}
function routerEdge(edges, at, r, n, i) {
const p = at.get("router:" + r), q = at.get("network:" + n);
if (!p || !q) return;
if (!q.row) { link(edges, at, "router:" + r, "network:" + n, "edge"); return; }
const lane = (i % 5) * 4, x1 = p.x + p.w / 2, x2 = q.x + q.w / 2;
const d = "M" + x1 + " " + (p.y + p.h) + "V" + (Y_NET - 18 - lane) + "H" + (10 + lane) + "V" + (q.y - 18 - lane) + "H" + x2 + "V" + q.y;
edges.push({ d, from: "router:" + r, to: "network:" + n, cls: "edge" });
}
function link(edges, at, a, b, cls) {
const p = at.get(a), q = at.get(b);
if (!p || !q) return;
const x1 = p.x + p.w / 2, y1 = p.y + p.h, x2 = q.x + q.w / 2, y2 = q.y, my = (y1 + y2) / 2;
edges.push({ d: "M" + x1 + " " + y1 + "C" + x1 + " " + my + " " + x2 + " " + my + " " + x2 + " " + y2, from: a, to: b, cls });
}
const view = { k: 1, x: 0, y: 0, fitted: false, w: 0, h: 0 };
let sel = null;
function portChassis(p) {
if (p.migration) {
const m = p.migration.split("->").map((x) => x.trim()).filter(Boolean);
if (m.length) return m;
}
const c = (p.chassis || "").split(/[,\s]+/).filter(Boolean);
if (c.length) return c;
return p.bound_chassis ? [p.bound_chassis] : [];
}
function portState(p) {
if (p.migration || portChassis(p).length > 1) return "migrating";
return p.up ? "up" : "down";
}
function gwChassis(r) {
const g = r.gateway;
if (!g) return [];
const names = arr(g.chassis).map((c) => c.name);
if (g.active_chassis && !names.includes(g.active_chassis)) names.push(g.active_chassis);
return names;
}
function textOf(kind, o) {
let parts = [o.name];
if (kind === "port") parts = parts.concat([o.mac, o.dns_name, o.vm, o.container_id], arr(o.addresses), arr(o.floating_ips));
if (kind === "network" || kind === "external") parts.push(o.subnet4, o.subnet6, o.gateway4, o.fip_range);
if (kind === "router") parts = parts.concat(arr(o.gateway && o.gateway.addresses));
if (kind === "lb") parts = parts.concat([o.vip], arr(o.dns_names));
return parts.filter(Boolean).join(" ").toLowerCase();
}
function filters() {
return {
net: $("#filter-network").value, ch: $("#filter-chassis").value,
kind: $("#filter-kind").value, text: $("#filter-text").value.trim().toLowerCase(),
};
}
function visible(f) {
const m = (k, o) => !f.text || textOf(k, o).includes(f.text);
const nets = sorted(S.networks), routers = sorted(S.routers);
let scopeNets = null, scopeRouters = null, scopeExt = null;
const sn = f.net && S.networks.get(f.net);
if (f.net) {
const rs = routers.filter((r) => (sn && sn.external ? r.gateway && r.gateway.network === f.net : arr(r.networks).includes(f.net)));
scopeRouters = new Set(rs.map((r) => r.name));
scopeNets = new Set(sn && sn.external ? [] : [f.net]);
scopeExt = new Set(sn && sn.external ? [f.net] : rs.filter((r) => r.gateway).map((r) => r.gateway.network));
}
const inScope = (set, n) => !set || set.has(n);
const ports = sorted(S.ports).filter((p) => inScope(scopeNets, p.network) && (!f.ch || portChassis(p).includes(f.ch)) && m("port", p));
const lbs = sorted(S.lbs).filter((l) => inScope(scopeNets, l.network) && !f.ch && m("lb", l));
const kids = new Set(ports.map((p) => p.network).concat(lbs.map((l) => l.network)));
const narrow = !!(f.text || f.ch);
const netKeep = nets.filter((n) => !n.external && inScope(scopeNets, n.name) && (!narrow || kids.has(n.name) || (!f.ch && m("network", n))));
const netSet = new Set(netKeep.map((n) => n.name));
const rKeep = routers.filter((r) => inScope(scopeRouters, r.name) && (!narrow || arr(r.networks).some((n) => netSet.has(n)) || (f.ch ? gwChassis(r).includes(f.ch) && m("router", r) : m("router", r))));
const gwNets = new Set(rKeep.filter((r) => r.gateway).map((r) => r.gateway.network));
const extKeep = nets.filter((n) => n.external && inScope(scopeExt, n.name) && (!narrow || gwNets.has(n.name) || (!f.ch && m("external", n))));
return { ports: ports.filter((p) => netSet.has(p.network)), lbs: lbs.filter((l) => netSet.has(l.network)), nets: netKeep, routers: rKeep, exts: extKeep };
}
function shape(b) {
const { w, h } = b;
if (b.kind === "external") return s("polygon", { class: "shape", points: "12,0 " + w + ",0 " + (w - 12) + "," + h + " 0," + h });
if (b.kind === "router") return s("rect", { class: "shape", width: w, height: h, rx: h / 2 });
if (b.kind === "port" && b.obj.kind === "vm") return s("polygon", { class: "shape", points: "9,0 " + (w - 9) + ",0 " + w + "," + h / 2 + " " + (w - 9) + "," + h + " 9," + h + " 0," + h / 2 });
if (b.kind === "lb") return s("rect", { class: "shape", width: w, height: h, rx: 9 });
return s("rect", { class: "shape", width: w, height: h, rx: b.kind === "network" ? 5 : 2 });
}
function subText(b) {
const o = b.obj;
if (b.kind === "port") {
const a = arr(o.addresses)[0] || o.mac || "";
return a + (o.kind === "vm" ? " · vm" : "");
}
if (b.kind === "network") return o.subnet4 || o.subnet6 || "";
if (b.kind === "external") return "external " + (o.subnet4 || o.physnet || "");
if (b.kind === "router") return gwChassis(o).length ? "gw " + (o.gateway.active_chassis || gwChassis(o)[0]) : arr(o.networks).length + " networks";
if (b.kind === "lb") return "lb " + (o.vip || "");
return "";
}
function label(x, y, px, text, cls) {
return s("text", { class: "f" + px + (cls ? " " + cls : ""), x, y, text });
}
function counts(st, x, y) {
const out = [];
for (const k of ["up", "down", "migrating"]) {
if (!st[k] && k !== "up") continue;
out.push(s("circle", { class: "cnt-" + k, cx: x + 4, cy: y - 4, r: 4.5 }), label(x + 11, y, 11, String(st[k]), "cnt"));
x += 24 + 7 * String(st[k]).length;
}
return out;
}
function kindsText(st) {
const parts = [];
if (st.container) parts.push(plural(st.container, "container"));
if (st.vm) parts.push(st.vm + (st.vm === 1 ? " VM" : " VMs"));
return parts.length ? parts.join(" · ") : "no ports";
}
function countsLabel(st) {
return st.ports + " ports: " + st.up + " up, " + st.down + " down, " + st.migrating + " migrating";
}
let fipOf = new Map();
function portFip(o) {
return arr(o.floating_ips)[0] || fipOf.get(o.name) || "";
}
function portLine3(b) {
const o = b.obj, fip = portFip(o), ch = portChassis(o).join(" → ") || "no chassis";
const out = [label(20, 40, 10, clip(ch, fip ? 9 : 21), "sub")];
if (fip) out.push(s("text", { class: "f10 sub fip", x: b.w - (o.kind === "vm" ? 12 : 6), y: 40, "text-anchor": "end", text: "⇄" + fip }));
return out;
}
function nodeEl(b) {
if (b.kind === "group") return groupEl(b);
const o = b.obj, port = b.kind === "port";
const attrs = { class: "node", "data-kind": b.kind, "data-name": b.name, tabindex: 0, role: "button", transform: "translate(" + b.x + "," + b.y + ")" };
let name = b.kind + " " + b.name;
if (port) {
attrs["data-state"] = portState(o);
attrs["data-fip"] = portFip(o) || undefined;
attrs["data-chassis"] = portChassis(o).join(",");
attrs["data-port-kind"] = o.kind === "vm" ? "vm" : "container";
name += ", " + attrs["data-port-kind"] + ", " + attrs["data-state"] + ", chassis " + (attrs["data-chassis"] || "none") +
", " + list(o.addresses) + (attrs["data-fip"] ? ", floating IP " + attrs["data-fip"] : "");
}
if (b.kind === "network") {
const st = b.stats;
Object.assign(attrs, { "data-open": b.open ? "true" : "false", "data-ports": st.ports, "data-up": st.up, "data-down": st.down, "data-migrating": st.migrating, "data-lbs": st.lb });
if (b.count) attrs["aria-expanded"] = b.open ? "true" : "false";
name += ", " + countsLabel(st) + (b.count ? (b.open ? "; open, minus closes" : "; closed, Enter opens") : "");
}
attrs["aria-label"] = name;
if (sel && sel.kind === b.kind && sel.name === b.name) attrs.class += " selected";
if (b.kind === "network") return s("g", attrs, s("title", { text: name }), shape(b), ...netBody(b));
const tx = port ? 20 : 10;
return s("g", attrs,
s("title", { text: name }), shape(b),
port ? s("circle", { class: "st", cx: 11, cy: b.h / 2, r: 4.5 }) : null,
label(tx, 15, 12, clip(b.name, port ? 16 : 21)),
label(tx, port ? 28 : b.h - 6, 10, clip(subText(b), port ? 21 : 27), "sub"),
...(port ? portLine3(b) : []));
}
function netBody(b) {
const st = b.stats;
const out = [label(10, 18, 13, clip(b.name, 17), "name"), label(10, 34, 10, clip(subText(b), 30), "sub")];
out.push(...counts(st, 10, 56), label(10, 78, 10, clip(kindsText(st), 26), "sub"));
if (st.lb) out.push(label(b.w - 44, 56, 11, st.lb + " LB", "cnt"));
if (b.count) out.push(s("rect", { class: "toggle", x: b.w - 30, y: 0, width: 30, height: 28 }), label(b.w - 20, 18, 12, b.open ? "▾" : "▸", "glyph"));
return out;
}
function groupEl(b) {
const name = b.network + " ports " + b.first + " to " + b.last + ", " + countsLabel(b.stats);
return s("g", { class: "node group", "data-kind": "group", "data-name": b.name, "data-open": b.open ? "true" : "false", "aria-expanded": b.open ? "true" : "false",
tabindex: 0, role: "button", "aria-label": name, transform: "translate(" + b.x + "," + b.y + ")" },
s("title", { text: name }), s("rect", { class: "shape", width: b.w, height: b.h, rx: 4 }),
label(8, 17, 12, (b.open ? "▾ " : "▸ ") + clip(b.first, 14) + " … " + clip(b.last, 14)), ...counts(b.stats, Math.max(b.w - 130, 250), 17));
}
function renderTopology() {
const host = $("#topology");
let svg = host.querySelector("svg");
if (!svg) svg = initSVG(host);
const f = filters();
fipOf = new Map();
for (const x of S.fips.values()) if (x.port && !fipOf.has(x.port)) fipOf.set(x.port, x.address);
const L = layout(visible(f));
const closedNet = (key) => key.startsWith("group:") || (key.startsWith("network:") && (f.kind === "port" || f.kind === "lb"));
const drawn = (key) => !f.kind || key.startsWith(f.kind + ":") || closedNet(key);
const focus = document.activeElement && document.activeElement.closest && document.activeElement.closest("g.node");
const focusKey = focus ? focus.dataset.kind + ":" + focus.dataset.name : "";
const vp = svg.querySelector("#vp");
const edges = s("g", { class: "edges" }), nodes = s("g", { class: "nodes" });
for (const e of L.edges) if (drawn(e.from) && drawn(e.to)) edges.append(s("path", { class: e.cls || "edge", d: e.d, "data-from": e.from, "data-to": e.to }));
let refocus = null;
const rank = { external: 0, router: 1 };
const boxes = L.boxes.map((b, i) => [rank[b.kind] ?? 2, i, b]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
for (const b of boxes) {
if (!drawn(b.kind + ":" + b.name)) continue;
const g = nodeEl(b);
if (b.kind + ":" + b.name === focusKey) refocus = g;
nodes.append(g);
}
vp.replaceChildren(edges, nodes);
view.w = L.width; view.h = L.height;
let empty = host.querySelector(".empty");
if (!nodes.childElementCount) {
if (!empty) host.append(empty = h("p", { class: "empty muted" }));
empty.textContent = S.networks.size ? "Nothing matches the filters." : "No networks yet.";
} else if (empty) empty.remove();
if (!view.fitted && L.boxes.length) { view.fitted = true; fit(); } else applyView();
if (refocus) refocus.focus({ preventScroll: true });
if (reveal) { const a = L.areas.get(reveal); reveal = ""; if (a) bringIntoView(a.x, a.y, a.w, a.h); }
}
let reveal = "";
function toggle(kind, name, open) {
const key = kind + ":" + name, g = nodeFor(kind, name);
const now = g ? g.dataset.open === "true" : false;
if (open === undefined) open = !now;
if (open === now) return;
toggled.set(key, open);
const net = kind === "group" ? name.replace(/#\d+$/, "") : name;
if (kind === "group") toggled.set("network:" + net, true);
if (open) reveal = net;
render();
}
function bringIntoView(x, y, w, hh) {
const r = viewSize(), m = 10, k = view.k;
let l = view.x + x * k, t = view.y + y * k;
const dx = l + w * k > r.w - m ? Math.max(r.w - m - (l + w * k), m - l) : l < m ? m - l : 0;
const dy = t + hh * k > r.h - m ? Math.max(r.h - m - (t + hh * k), m - t) : t < m ? m - t : 0;
if (dx || dy) { view.x += dx; view.y += dy; applyView(); }
}
function initSVG(host) {
const svg = s("svg", { role: "group", "aria-label": "Network topology", tabindex: -1 }, s("g", { id: "vp" }));
host.append(svg);
let drag = null;
svg.addEventListener("pointerdown", (e) => {
if (e.button !== 0) return;
drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, moved: false, id: e.pointerId };
});
svg.addEventListener("pointermove", (e) => {
if (!drag) return;
const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 5) return;
if (!drag.moved) { drag.moved = true; svg.setPointerCapture(drag.id); svg.classList.add("dragging"); }
view.x = drag.vx + dx; view.y = drag.vy + dy; applyView();
});
const end = () => { if (drag && drag.moved) { svg.classList.remove("dragging"); svg.dataset.dragged = "1"; } drag = null; };
svg.addEventListener("pointerup", end);
svg.addEventListener("pointercancel", end);
svg.addEventListener("click", (e) => {
if (svg.dataset.dragged) { delete svg.dataset.dragged; return; }
const g = e.target.closest("g.node");
if (!g) return;
if (g.dataset.kind === "group" || e.target.matches("rect.toggle")) toggle(g.dataset.kind, g.dataset.name);
else activate(g);
});
svg.addEventListener("keydown", (e) => {
const g = e.target.closest && e.target.closest("g.node");
if (!g) return;
const open = { "+": true, ArrowRight: true, "-": false, ArrowLeft: false }[e.key];
if (open !== undefined && g.dataset.open) { e.preventDefault(); toggle(g.dataset.kind, g.dataset.name, open); return; }
if (e.key !== "Enter" && e.key !== " ") return;
e.preventDefault();
if (g.dataset.kind === "group") toggle("group", g.dataset.name);
else activate(g);
});
let width = 0;
new ResizeObserver(() => {
const w = host.getBoundingClientRect().width;
if (w > 0 && Math.abs(w - width) > 40) { if (width) { view.fitted = false; render(); } width = w; }
}).observe(host);
svg.addEventListener("focusin", (e) => {
const g = e.target.closest && e.target.closest("g.node");
if (!g) return;
const r = svg.getBoundingClientRect(), b = g.getBoundingClientRect(), m = 20;
let dx = 0, dy = 0;
if (b.left < r.left + m) dx = r.left + m - b.left;
else if (b.right > r.right - m) dx = r.right - m - b.right;
if (b.top < r.top + m) dy = r.top + m - b.top;
else if (b.bottom > r.bottom - m) dy = r.bottom - m - b.bottom;
if (dx || dy) { view.x += dx; view.y += dy; applyView(); }
});
svg.addEventListener("wheel", (e) => {
e.preventDefault();
const g = e.target.closest && e.target.closest('g.node[data-open="false"]');
if (g && e.deltaY < 0 && view.k >= 1) { toggle(g.dataset.kind, g.dataset.name, true); return; }
const r = svg.getBoundingClientRect();
zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 0.0015));
}, { passive: false });
return svg;
}
function applyView() {
const vp = $("#vp");
if (!vp) return;
vp.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
for (const px of TEXT_PX) vp.ownerSVGElement.classList.toggle("hide" + px, px * view.k < READ_PX - 0.05);
}
function activate(g) {
select(g.dataset.kind, g.dataset.name);
if (g.dataset.open === "false") toggle(g.dataset.kind, g.dataset.name, true);
}
function zoomAt(px, py, f) {
const k = Math.min(4, Math.max(0.1, view.k * f));
view.x = px - (px - view.x) * (k / view.k);
view.y = py - (py - view.y) * (k / view.k);
view.k = k;
applyView();
}
function zoomCentre(f) {
const r = $("#topology").getBoundingClientRect();
zoomAt(r.width / 2, r.height / 2, f);
}
function fit() {
const r = viewSize();
const k = Math.max(0.25, Math.min(1, (r.w - 20) / (view.w || 1)));
view.k = k;
view.x = (r.w - view.w * k) / 2;
view.y = 10;
applyView();
}
function select(kind, name) {
const same = sel && sel.kind === kind && sel.name === name;
sel = { kind, name };
if (!same) { groupsDirty = false; $("#detail-error").textContent = ""; }
for (const g of document.querySelectorAll("#topology g.node.selected")) g.classList.remove("selected");
const g = nodeFor(kind, name);
if (g) g.classList.add("selected");
renderDetail();
if (!same && !$("#detail").hidden) $("#detail").scrollIntoView({ block: "nearest" });
}
function nodeFor(kind, name) {
for (const g of document.querySelectorAll("#topology g.node")) if (g.dataset.kind === kind && g.dataset.name === name) return g;
return null;
}
function unselect() {
const back = sel && nodeFor(sel.kind, sel.name);
sel = null;
for (const g of document.querySelectorAll("#topology g.node.selected")) g.classList.remove("selected");
$("#detail").hidden = true;
if (back) back.focus();
}
function renderFilters() {
fillSelect($("#filter-network"), sorted(S.networks).map((n) => [n.name, n.name + (n.external ? " (external)" : "")]));
const ch = new Set(S.chassis ? [S.chassis] : []);
for (const p of S.ports.values()) portChassis(p).forEach((c) => ch.add(c));
for (const r of S.routers.values()) gwChassis(r).forEach((c) => ch.add(c));
fillSelect($("#filter-chassis"), [...ch].sort().map((c) => [c, c + (c === S.chassis ? " (this host)" : "")]));
}
function fillSelect(el, opts) {
const sig = JSON.stringify(opts);
if (el.dataset.sig === sig) return;
el.dataset.sig = sig;
const cur = el.value;
el.replaceChildren(h("option", { value: "", text: "all" }), ...opts.map(([v, t]) => h("option", { value: v, text: t })));
el.value = opts.some(([v]) => v === cur) ? cur : "";
}
let groupsDirty = false;
function objectFor(kind, name) {
if (kind === "external" || kind === "network") return S.networks.get(name);
if (kind === "router") return S.routers.get(name);
if (kind === "port") return S.ports.get(name);
if (kind === "lb") return S.lbs.get(name);
return null;
}
function list(v) { const a = arr(v).filter(Boolean); return a.length ? a.join(", ") : "—"; }
function detailFields(kind, o) {
const fips = [...S.fips.values()];
const lbs = [...S.lbs.values()];
const f = { name: o.name, kind, state: "", addresses: "—", mac: "—", dns_name: "—", chassis: "—", security_groups: "—", floating_ips: "—", load_balancers: "—" };
if (kind === "port") {
f.kind = "port (" + (o.kind || "container") + (o.vm ? ", domain " + o.vm : "") + ")";
f.state = portState(o) + (o.migration ? " (" + o.migration + ")" : "") + (o.activation ? ", " + o.activation : "");
f.addresses = list(o.addresses) + " on " + o.network;
f.mac = o.mac || "—";
f.dns_name = o.dns_name || "—";
f.chassis = list(portChassis(o)) + (o.bound_chassis ? " (bound: " + o.bound_chassis + ")" : "");
f.security_groups = arr(o.security_groups).length ? list(o.security_groups) : "the network's default";
const pf = fips.filter((x) => x.port === o.name).map((x) => x.address + (x.fixed_ip ? " → " + x.fixed_ip : ""));
f.floating_ips = list(arr(o.floating_ips).length ? o.floating_ips : pf);
f.load_balancers = list(lbs.filter((l) => arr(l.members).some((m) => m.port === o.name)).map((l) => l.name));
} else if (kind === "network" || kind === "external") {
f.kind = kind === "external" ? "external network" + (o.physnet ? " (" + o.physnet + (o.vlan ? ", vlan " + o.vlan : "") + ")" : "") : "network";
f.addresses = list([o.subnet4 && o.subnet4 + (o.gateway4 ? " gw " + o.gateway4 : ""), o.subnet6 && o.subnet6 + (o.gateway6 ? " gw " + o.gateway6 : ""), o.fip_range && "floating IPs " + o.fip_range]);
f.dns_name = o.dns_domain || "—";
f.state = (o.ports || 0) + " ports" + (o.router ? ", router " + o.router : "") + (o.mtu ? ", mtu " + o.mtu : "");
f.floating_ips = list(fips.filter((x) => x.network === o.name).map((x) => x.address + (x.port ? " → " + x.port : "")));
f.load_balancers = list(lbs.filter((l) => l.network === o.name).map((l) => l.name));
} else if (kind === "router") {
const g = o.gateway;
f.addresses = g ? list(g.addresses) + " on " + g.network + (g.snat ? " (snat)" : "") : "no gateway";
f.chassis = g ? list(arr(g.chassis).map((c) => c.name + " (" + (c.priority || 0) + ")")) + (g.active_chassis ? "; active " + g.active_chassis : "") : "—";
f.state = "networks: " + list(o.networks) + (arr(o.routes).length ? "; routes: " + list(o.routes) : "");
f.floating_ips = list(fips.filter((x) => x.router === o.name).map((x) => x.address + (x.port ? " → " + x.port : "")));
} else if (kind === "lb") {
f.kind = "load balancer (" + (o.protocol || "tcp") + ")";
f.addresses = (o.vip || "—") + " on " + o.network + "; listeners " + list(arr(o.listeners).map((l) => l.port + "→" + (l.member_port || l.port)));
f.dns_name = list(o.dns_names);
f.floating_ips = o.fip || "—";
f.state = "members: " + list(arr(o.members).map((m) => (m.port || m.address) + " " + (m.enabled === false ? "disabled" : m.health || "unknown")));
f.load_balancers = o.name;
}
return f;
}
function renderDetail() {
const d = $("#detail");
const o = sel && objectFor(sel.kind, sel.name);
if (!o) { d.hidden = true; return; }
d.hidden = false;
const f = detailFields(sel.kind, o);
for (const dd of d.querySelectorAll("[data-field]")) dd.textContent = f[dd.dataset.field] || "—";
const fs = $("#detail-groups");
fs.hidden = sel.kind !== "port";
if (sel.kind !== "port" || groupsDirty) return;
const mine = new Set(arr(o.security_groups));
const names = [...new Set([...S.sgs.keys(), ...mine])].sort();
$("#detail-groups-list").replaceChildren(...(names.length ? names.map((g) => h("label", {},
h("input", { type: "checkbox", "data-group": g, checked: mine.has(g), onchange: () => { groupsDirty = true; } }), " " + g)) : [h("p", { class: "muted", text: "No security groups yet." })]));
}
async function saveGroups() {
if (!sel || sel.kind !== "port") return;
const port = sel.name, err = $("#detail-error");
const groups = [...document.querySelectorAll("#detail-groups input[data-group]")].filter((c) => c.checked).map((c) => c.dataset.group);
err.textContent = "";
try {
const p = await write("PUT", "/ports/" + enc(port) + "/security-groups", { security_groups: groups });
if (p && p.name) S.ports.set(p.name, p);
groupsDirty = false;
refreshGroupsSoon();
render();
} catch (e) {
err.textContent = e.message;
}
}
let sgSel = "";
let editing = "";
function renderSG() {
const groups = sorted(S.sgs);
if (sgSel && !S.sgs.has(sgSel)) sgSel = "";
const ul = $("#sg-list");
const focusName = document.activeElement && document.activeElement.closest && document.activeElement.closest("#sg-list li") ? document.activeElement.dataset.group : null;
ul.replaceChildren(...groups.map((g) => h("li", {
"data-group": g.name, tabindex: 0, role: "option", "aria-selected": g.name === sgSel ? "true" : "false",
"aria-label": g.name + ", " + plural(arr(g.ports).length, "member") + ", " + plural(arr(g.rules).length, "rule"),
}, h("span", { text: g.name }), h("span", { class: "count", text: plural(arr(g.ports).length, "member") }))));
if (!groups.length) ul.append(h("li", { class: "muted", text: "No security groups." }));
if (focusName) { const li = groupItem(focusName); if (li) li.focus(); }
renderGroup();
}
function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
function groupItem(name) {
for (const li of document.querySelectorAll("#sg-list li[data-group]")) if (li.dataset.group === name) return li;
return null;
}
function renderGroup() {
const g = sgSel && S.sgs.get(sgSel);
$("#sg-title").textContent = g ? g.name : "Select a group";
$("#sg-desc").textContent = g ? g.description || "" : "";
const del = $("#sg-delete");
del.hidden = !g;
if (del.dataset.armed !== sgSel) { delete del.dataset.armed; del.textContent = "Delete group"; }
for (const el of ["#rule-form", "#sg-presets"]) $(el).hidden = !g;
if (editing && document.activeElement && document.activeElement.matches("input.edit-text")) return;
editing = "";
const rules = g ? arr(g.rules) : [];
$("#sg-rules").replaceChildren(...rules.map(ruleItem));
if (g && !rules.length) $("#sg-rules").append(h("li", { class: "muted", text: "No rules: ingress dropped, egress allowed." }));
const members = g ? arr(g.ports) : [];
$("#sg-members").replaceChildren(...members.map((p) => {
const port = S.ports.get(p);
return h("li", { "data-port": p, text: p + (port ? " — " + list(port.addresses) + " (" + portState(port) + ")" : "") });
}));
if (g && !members.length) $("#sg-members").append(h("li", { class: "muted", text: "No member ports." }));
}
function ruleItem(r) {
return h("li", { class: "rule", "data-rule-id": r.id },
h("span", { class: "rule-text", text: r.spec }),
h("button", { type: "button", class: "edit", "aria-label": "Edit rule " + r.spec, text: "edit" }),
h("button", { type: "button", class: "delete", "aria-label": "Delete rule " + r.spec, text: "delete" }));
}
function selectGroup(name) {
sgSel = name;
history.replaceState(null, "", "#sg/" + enc(name));
editing = "";
$("#rule-error").textContent = "";
for (const li of document.querySelectorAll("#sg-list li[data-group]")) li.setAttribute("aria-selected", li.dataset.group === name ? "true" : "false");
renderGroup();
}
async function groupWrite(method, path, body, errEl) {
errEl.textContent = "";
try {
const g = await write(method, path, body);
if (g && g.name) S.sgs.set(g.name, g);
editing = "";
renderSG();
return true;
} catch (e) {
errEl.textContent = e.message;
return false;
}
}
function startEdit(li) {
const old = li.querySelector(".rule-text").textContent;
const input = h("input", { class: "edit-text", value: old, "aria-label": "Rule text; Enter saves, Escape cancels" });
editing = li.dataset.ruleId;
li.querySelector(".rule-text").replaceWith(input);
li.querySelector("button.edit").textContent = "save";
input.focus();
input.select();
}
async function saveEdit(li) {
const input = li.querySelector("input.edit-text");
const rule = input.value.trim();
if (!rule) return;
await groupWrite("PUT", "/security-groups/" + enc(sgSel) + "/rules/" + enc(li.dataset.ruleId), { rule }, $("#rule-error"));
}
function cancelEdit() {
editing = "";
if (document.activeElement) document.activeElement.blur();
renderGroup();
}
function renderPresets() {
const names = S.presets.length ? S.presets.map((p) => p.name) : PRESETS;
$("#sg-presets").replaceChildren(h("span", { class: "muted", text: "Presets:" }), ...names.map((n) => {
const p = S.presets.find((x) => x.name === n);
return h("button", { type: "button", "data-preset": n, title: p ? arr(p.rules).join("\n") : n, "aria-label": "Add preset " + n, text: n });
}));
}
function initSG() {
const ul = $("#sg-list");
ul.addEventListener("click", (e) => { const li = e.target.closest("li[data-group]"); if (li) selectGroup(li.dataset.group); });
ul.addEventListener("keydown", (e) => {
const li = e.target.closest("li[data-group]");
if (li && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); selectGroup(li.dataset.group); }
});
$("#sg-create-form").addEventListener("submit", async (e) => {
e.preventDefault();
const name = $("#sg-new-name").value.trim();
if (!name) return;
if (await groupWrite("POST", "/security-groups", { name, description: "" }, $("#sg-error"))) {
$("#sg-new-name").value = "";
selectGroup(name);
}
});
$("#sg-delete").addEventListener("click", async () => {
const b = $("#sg-delete");
if (b.dataset.armed !== sgSel) { b.dataset.armed = sgSel; b.textContent = "Really delete " + sgSel + "?"; return; }
const name = sgSel;
$("#sg-error").textContent = "";
try {
await write("DELETE", "/security-groups/" + enc(name));
S.sgs.delete(name);
sgSel = "";
renderSG();
} catch (err) {
$("#sg-error").textContent = err.message;
}
});
$("#sg-presets").addEventListener("click", (e) => {
const b = e.target.closest("button[data-preset]");
if (b && sgSel) groupWrite("POST", "/security-groups/" + enc(sgSel) + "/rules", { preset: b.dataset.preset }, $("#rule-error"));
});
$("#rule-form").addEventListener("submit", async (e) => {
e.preventDefault();
const text = $("#rule-text").value.trim();
if (!text || !sgSel) return;
if (await groupWrite("POST", "/security-groups/" + enc(sgSel) + "/rules", { rules: [text] }, $("#rule-error"))) $("#rule-text").value = "";
});
const rules = $("#sg-rules");
rules.addEventListener("click", (e) => {
const li = e.target.closest("li.rule");
if (!li) return;
if (e.target.matches("button.delete")) groupWrite("DELETE", "/security-groups/" + enc(sgSel) + "/rules/" + enc(li.dataset.ruleId), undefined, $("#rule-error"));
else if (e.target.matches("button.edit")) { if (li.querySelector("input.edit-text")) saveEdit(li); else startEdit(li); }
});
rules.addEventListener("keydown", (e) => {
if (!e.target.matches("input.edit-text")) return;
if (e.key === "Enter") { e.preventDefault(); saveEdit(e.target.closest("li.rule")); }
if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); cancelEdit(); }
});
}
let groupsPoll = 0;
function showTab(which) {
for (const t of ["topology", "sg"]) {
const on = t === which;
$("#tab-" + t).setAttribute("aria-selected", on ? "true" : "false");
$("#tab-" + t).tabIndex = on ? 0 : -1;
$("#view-" + t).hidden = !on;
}
clearInterval(groupsPoll);
groupsPoll = which === "sg" ? setInterval(refreshGroupsSoon, 3000) : 0;
if (which === "sg") refreshGroupsSoon();
history.replaceState(null, "", which === "sg" ? "#sg" + (sgSel ? "/" + enc(sgSel) : "") : location.pathname + location.search);
if (which === "topology" && !view.fitted) render();
}
function init() {
$("#tab-topology").addEventListener("click", () => showTab("topology"));
$("#tab-sg").addEventListener("click", () => showTab("sg"));
$("nav").addEventListener("keydown", (e) => {
if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
const next = $("#tab-topology").getAttribute("aria-selected") === "true" ? "sg" : "topology";
showTab(next);
$("#tab-" + next).focus();
});
for (const id of ["#filter-network", "#filter-chassis", "#filter-kind"]) $(id).addEventListener("change", () => { view.fitted = false; render(); });
$("#filter-text").addEventListener("input", render);
$("#zoom-in").addEventListener("click", () => zoomCentre(1.25));
$("#zoom-out").addEventListener("click", () => zoomCentre(0.8));
$("#zoom-reset").addEventListener("click", fit);
$("#detail-close").addEventListener("click", unselect);
$("#detail-groups-save").addEventListener("click", saveGroups);
document.addEventListener("keydown", (e) => {
if (e.key === "Escape" && sel && !e.target.matches("input.edit-text")) unselect();
});
initSG();
renderPresets();
const m = /^#sg(?:\/(.+))?$/.exec(location.hash);
if (m) { sgSel = m[1] ? decodeURIComponent(m[1]) : ""; showTab("sg"); }
start();
}
async function start() {
try {
loadState(await getJSON("/state"));
$("#chassis").textContent = S.chassis ? "chassis " + S.chassis : "";
} catch (e) {
$("#status").textContent = "cannot read the state: " + e.message;
}
render();
getJSON("/presets").then((p) => { S.presets = arr(p); renderPresets(); }).catch(() => {});
connect();
}
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();

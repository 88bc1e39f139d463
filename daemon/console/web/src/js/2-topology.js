// ---- topology: filters, layout, SVG, zoom/pan, selection ---------------------
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

// visible picks what the filters leave. Structural nodes (externals,
// routers, networks) stay as context when they lead to something visible;
// the kind filter only decides what is drawn, not where.
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

// label is a text of one of the TEXT_PX sizes (class fN, hidden by
// applyView when it would render smaller than READ_PX).
function label(x, y, px, text, cls) {
  return s("text", { class: "f" + px + (cls ? " " + cls : ""), x, y, text });
}

// counts draws up/down/migrating as coloured dots with their numbers.
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

// portFip is a port's (first) floating IP, "" without; fipOf is the
// floating IPs by port, made once a drawing.
let fipOf = new Map();
function portFip(o) {
  return arr(o.floating_ips)[0] || fipOf.get(o.name) || "";
}

// portLine3 is a port's chassis (both while migrating) and, right-aligned,
// its floating IP.
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

// netBody is a network's card: name, subnet, its ports counted by state
// and kind, and ▸/▾ that opens or closes it.
function netBody(b) {
  const st = b.stats;
  const out = [label(10, 18, 13, clip(b.name, 17), "name"), label(10, 34, 10, clip(subText(b), 30), "sub")];
  out.push(...counts(st, 10, 56), label(10, 78, 10, clip(kindsText(st), 26), "sub"));
  if (st.lb) out.push(label(b.w - 44, 56, 11, st.lb + " LB", "cnt"));
  if (b.count) out.push(s("rect", { class: "toggle", x: b.w - 30, y: 0, width: 30, height: 28 }), label(b.w - 20, 18, 12, b.open ? "▾" : "▸", "glyph"));
  return out;
}

// groupEl is one group of a big network's ports: its range and counts;
// click or Enter opens or closes it.
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
  // Tab order: externals, routers, then each network and its ports.
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

// toggle opens or closes a network or a group of its ports, and brings
// an opened network's ports into view.
function toggle(kind, name, open) {
  const key = kind + ":" + name, g = nodeFor(kind, name);
  const now = g ? g.dataset.open === "true" : false;
  if (open === undefined) open = !now;
  if (open === now) return;
  toggled.set(key, open);
  const net = kind === "group" ? name.replace(/#\d+$/, "") : name;
  // An opened group keeps its network open however big it grows.
  if (kind === "group") toggled.set("network:" + net, true);
  if (open) reveal = net;
  render();
}

// bringIntoView pans (at the current zoom) so the box, in drawing
// coordinates, is on screen, its top left first when it is too big.
function bringIntoView(x, y, w, hh) {
  const r = viewSize(), m = 10, k = view.k;
  let l = view.x + x * k, t = view.y + y * k;
  const dx = l + w * k > r.w - m ? Math.max(r.w - m - (l + w * k), m - l) : l < m ? m - l : 0;
  const dy = t + hh * k > r.h - m ? Math.max(r.h - m - (t + hh * k), m - t) : t < m ? m - t : 0;
  if (dx || dy) { view.x += dx; view.y += dy; applyView(); }
}

function initSVG(host) {
  // tabindex -1: not a Tab stop of its own (chromium makes it one), its nodes are.
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
  // A new width lays the networks' rows out again.
  let width = 0;
  new ResizeObserver(() => {
    const w = host.getBoundingClientRect().width;
    if (w > 0 && Math.abs(w - width) > 40) { if (width) { view.fitted = false; render(); } width = w; }
  }).observe(host);
  // A node reached with Tab is brought into view.
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
    // Semantic zoom: zooming in past 1:1 on a closed network opens it.
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
  // Semantic zoom: a label that would be smaller than READ_PX is hidden.
  for (const px of TEXT_PX) vp.ownerSVGElement.classList.toggle("hide" + px, px * view.k < READ_PX - 0.05);
}

// activate selects a node; a closed network opens too.
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

// fit shows the drawing at scale 1, centred when narrower than the view
// (the layout wraps the networks to the view's width and closes networks
// until the whole fits, when it can): every label readable, the rest of a
// tall drawing reached by panning. Only a drawing wider than the view
// (a network open in a narrow window) is scaled down to fit its width.
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
  // In a narrow window the panel is below the drawing: bring it up.
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

// fillSelect replaces the options after "all" only when they changed, so an
// open list or a choice is not disturbed by live updates.
function fillSelect(el, opts) {
  const sig = JSON.stringify(opts);
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  const cur = el.value;
  el.replaceChildren(h("option", { value: "", text: "all" }), ...opts.map(([v, t]) => h("option", { value: v, text: t })));
  el.value = opts.some(([v]) => v === cur) ? cur : "";
}

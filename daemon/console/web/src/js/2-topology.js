// ---- topology: filters, layout, SVG, zoom/pan, selection ---------------------
const PW = 132, PH = 30, NW = 170, NH = 38, RW = 150, RH = 36, EW = 170, EH = 36;
const Y_EXT = 20, Y_ROUTER = 110, Y_NET = 200, PORT_GAP = 8, COL_W = PW + 30, MAX_KIDS = 200;
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

// layout places the layers: externals, routers, networks, and under each
// network its ports and load balancers in columns read top to bottom.
function layout(v) {
  const boxes = [], edges = [], more = [];
  const at = new Map();
  const put = (kind, name, obj, x, y, w, h) => { const b = { kind, name, obj, x, y, w, h }; boxes.push(b); at.set(kind + ":" + name, b); return b; };
  const order = [], seen = new Set(), netSet = new Set(v.nets.map((n) => n.name));
  for (const r of v.routers) for (const n of arr(r.networks)) if (netSet.has(n) && !seen.has(n)) { seen.add(n); order.push(n); }
  for (const n of v.nets) if (!seen.has(n.name)) order.push(n.name);
  const kidsOf = new Map(order.map((n) => [n, []]));
  for (const p of v.ports) kidsOf.get(p.network).push(["port", p]);
  for (const l of v.lbs) kidsOf.get(l.network).push(["lb", l]);
  let x = 20, bottom = Y_NET + NH;
  const y0 = Y_NET + NH + 36;
  for (const name of order) {
    const all = kidsOf.get(name), kids = all.slice(0, MAX_KIDS);
    const cols = kids.length <= 12 ? 1 : kids.length <= 36 ? 2 : kids.length <= 90 ? 3 : 4;
    const rows = Math.ceil(kids.length / cols);
    const w = Math.max(NW, cols * COL_W);
    put("network", name, S.networks.get(name), x, Y_NET, NW, NH);
    kids.forEach(([kind, o], i) => {
      const c = Math.floor(i / rows), r = i % rows;
      const trunk = x + 8 + c * COL_W, py = y0 + r * (PH + PORT_GAP);
      put(kind, o.name, o, trunk + 14, py, PW, PH);
      const d = "M" + (x + 8) + " " + (Y_NET + NH) + "V" + (y0 - 14) + "H" + trunk + "V" + (py + PH / 2) + "H" + (trunk + 14);
      edges.push({ d, from: "network:" + name, to: kind + ":" + o.name });
      bottom = Math.max(bottom, py + PH);
    });
    if (all.length > kids.length) {
      more.push({ x: x + 8, y: bottom + 18, text: "+" + (all.length - kids.length) + " more: narrow with the filters" });
      bottom += 24;
    }
    x += w + 40;
  }
  placeRow(v.routers, Y_ROUTER, RW, RH, "router", (r) => centres(arr(r.networks).map((n) => at.get("network:" + n))), put, x);
  for (const r of v.routers) for (const n of arr(r.networks)) link(edges, at, "router:" + r.name, "network:" + n, "edge");
  placeRow(v.exts, Y_EXT, EW, EH, "external", (e) => centres(v.routers.filter((r) => r.gateway && r.gateway.network === e.name).map((r) => at.get("router:" + r.name))), put, x);
  for (const r of v.routers) if (r.gateway) link(edges, at, "external:" + r.gateway.network, "router:" + r.name, "edge gw");
  const width = Math.max(x, ...boxes.map((b) => b.x + b.w + 20));
  return { boxes, edges, more, width, height: bottom + 30 };
}

function centres(bs) {
  bs = bs.filter(Boolean);
  return bs.length ? bs.reduce((a, b) => a + b.x + b.w / 2, 0) / bs.length : null;
}

// placeRow puts a layer's nodes near the centre of what they connect to,
// left to right without overlap; unconnected ones go after the rest.
function placeRow(list, y, w, h, kind, want, put, xEnd) {
  let free = xEnd;
  const items = list.map((o) => { const c = want(o); return { o, c: c === null ? free++ * 1e6 : c - w / 2 }; });
  items.sort((a, b) => a.c - b.c);
  let minX = 20;
  for (const it of items) {
    const xx = Math.max(minX, it.c >= 1e6 ? minX : it.c);
    put(kind, it.o.name, it.o, xx, y, w, h);
    minX = xx + w + 20;
  }
}

function link(edges, at, a, b, cls) {
  const p = at.get(a), q = at.get(b);
  if (!p || !q) return;
  const x1 = p.x + p.w / 2, y1 = p.y + p.h, x2 = q.x + q.w / 2, y2 = q.y, my = (y1 + y2) / 2;
  edges.push({ d: "M" + x1 + " " + y1 + "C" + x1 + " " + my + " " + x2 + " " + my + " " + x2 + " " + y2, from: a, to: b, cls });
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
    return portState(o) === "migrating" ? portChassis(o).join(" → ") : a + (o.kind === "vm" ? " · vm" : "");
  }
  if (b.kind === "network") return o.subnet4 || o.subnet6 || "";
  if (b.kind === "external") return "external " + (o.subnet4 || o.physnet || "");
  if (b.kind === "router") return gwChassis(o).length ? "gw " + (o.gateway.active_chassis || gwChassis(o)[0]) : arr(o.networks).length + " networks";
  if (b.kind === "lb") return "lb " + (o.vip || "");
  return "";
}

function nodeEl(b) {
  const o = b.obj, port = b.kind === "port";
  const attrs = { class: "node", "data-kind": b.kind, "data-name": b.name, tabindex: 0, role: "button", transform: "translate(" + b.x + "," + b.y + ")" };
  let label = b.kind + " " + b.name;
  if (port) {
    attrs["data-state"] = portState(o);
    attrs["data-chassis"] = portChassis(o).join(",");
    attrs["data-port-kind"] = o.kind === "vm" ? "vm" : "container";
    label += ", " + attrs["data-port-kind"] + ", " + attrs["data-state"] + ", chassis " + (attrs["data-chassis"] || "none");
  }
  attrs["aria-label"] = label;
  if (sel && sel.kind === b.kind && sel.name === b.name) attrs.class += " selected";
  const tx = port ? 20 : 10;
  return s("g", attrs,
    s("title", { text: label }), shape(b),
    port ? s("circle", { class: "st", cx: 11, cy: b.h / 2, r: 4.5 }) : null,
    s("text", { x: tx, y: 13, text: clip(b.name, port ? 19 : 24) }),
    s("text", { class: "sub", x: tx, y: b.h - 6, text: clip(subText(b), port ? 22 : 28) }));
}

function renderTopology() {
  const host = $("#topology");
  let svg = host.querySelector("svg");
  if (!svg) svg = initSVG(host);
  const f = filters();
  const L = layout(visible(f));
  const drawn = (key) => !f.kind || key.startsWith(f.kind + ":");
  const focus = document.activeElement && document.activeElement.closest && document.activeElement.closest("g.node");
  const focusKey = focus ? focus.dataset.kind + ":" + focus.dataset.name : "";
  const vp = svg.querySelector("#vp");
  const edges = s("g", { class: "edges" }), nodes = s("g", { class: "nodes" });
  for (const e of L.edges) if (drawn(e.from) && drawn(e.to)) edges.append(s("path", { class: e.cls || "edge", d: e.d, "data-from": e.from, "data-to": e.to }));
  let refocus = null;
  for (const b of L.boxes) {
    if (!drawn(b.kind + ":" + b.name)) continue;
    const g = nodeEl(b);
    if (b.kind + ":" + b.name === focusKey) refocus = g;
    nodes.append(g);
  }
  for (const m of L.more) nodes.append(s("g", { class: "more" }, s("text", { x: m.x, y: m.y, text: m.text })));
  vp.replaceChildren(edges, nodes);
  view.w = L.width; view.h = L.height;
  let empty = host.querySelector(".empty");
  if (!nodes.childElementCount) {
    if (!empty) host.append(empty = h("p", { class: "empty muted" }));
    empty.textContent = S.networks.size ? "Nothing matches the filters." : "No networks yet.";
  } else if (empty) empty.remove();
  if (!view.fitted && L.boxes.length) { view.fitted = true; fit(); }
  if (refocus) refocus.focus({ preventScroll: true });
}

function initSVG(host) {
  const svg = s("svg", { role: "group", "aria-label": "Network topology" }, s("g", { id: "vp" }));
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
    if (g) select(g.dataset.kind, g.dataset.name);
  });
  svg.addEventListener("keydown", (e) => {
    const g = e.target.closest && e.target.closest("g.node");
    if (g && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); select(g.dataset.kind, g.dataset.name); }
  });
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 0.0015));
  }, { passive: false });
  return svg;
}

function applyView() {
  const vp = $("#vp");
  if (vp) vp.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
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

// fit shows the whole drawing when it is readable that small, else its top left.
function fit() {
  const r = $("#topology").getBoundingClientRect();
  const k = Math.max(0.4, Math.min(1, (r.width - 20) / (view.w || 1), (r.height - 20) / (view.h || 1)));
  view.k = k;
  view.x = Math.max(10, (r.width - view.w * k) / 2);
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

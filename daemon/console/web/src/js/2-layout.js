// ---- topology layout: layers, networks in rows, semantic zoom ---------------------
// Every label is drawn at 10-13 px and hidden when the zoom would make it
// smaller than READ_PX (applyView). A network whose ports would not fit the
// view readably is drawn as a summary (its ports counted by state and kind);
// click or Enter opens it, and a network the filters narrow to a few ports
// opens by itself. Networks wrap into rows as wide as the view, so the whole
// overview fits at scale 1; an open network lays its ports out in columns of
// ROWS, and one of more than GROUP_MAX ports in groups of GROUP that open
// one by one.
const PW = 140, PH = 46, NW = 164, NH = 92, RW = 150, RH = 38, EW = 170, EH = 38, GH = 26;
const Y_EXT = 16, Y_ROUTER = 100, Y_NET = 190, PORT_GAP = 8, COL_W = PW + 26, NET_GAP = 14, ROW_GAP = 52, MARGIN = 30;
const ROWS = 10, GROUP = 50, GROUP_MAX = 60, SMALL = 8, READ_PX = 10, TEXT_PX = [10, 11, 12, 13];
// toggled: what the user opened (true) or closed (false), by "network:NAME"
// or "group:NETWORK#I"; the rest follows the automatic choice.
const toggled = new Map();

// viewSize is the topology's size on screen (a guess while it is hidden).
function viewSize() {
  const r = $("#topology").getBoundingClientRect();
  return r.width > 0 ? { w: r.width, h: r.height } : { w: 1200, h: 700 };
}

// netOrder is the networks in the order of the routers that link them.
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

// cols is how many columns n ports take in a view vw wide.
function cols(n, vw) {
  const fit = Math.max(1, Math.floor((vw - MARGIN - 44) / COL_W));
  return Math.max(1, Math.min(fit, Math.ceil(Math.min(n, GROUP) / ROWS)));
}

function groupOpen(name, i) {
  const t = toggled.get("group:" + name + "#" + i);
  return t === undefined ? false : t;
}

// netSize is the size of a network's drawing, open or not.
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

// netRows places the networks left to right, wrapping at the view's width.
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

// openNets decides which networks show their ports: the user's choice,
// else those a filter narrowed and the small ones, else as many as fit the
// view at scale 1 (the biggest close first).
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

// layout places the layers: externals, routers, networks (in rows), and in
// an open network its ports and load balancers in columns.
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

// placeKids draws an open network's ports in columns under its card, in
// groups of GROUP when there are more than GROUP_MAX.
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

// placeRow puts a layer's nodes near the centre of what they connect to,
// left to right without overlap; unconnected ones go after the rest.
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

// routerEdge links a router to a network: a curve to the first row; to a
// later row down the left margin and along the gap above that row (each
// router its own lane), so no line crosses a network.
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

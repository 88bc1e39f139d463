// ---- detail panel -------------------------------------------------------------
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

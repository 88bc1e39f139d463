// ---- start ---------------------------------------------------------------------------
let groupsPoll = 0;

function showTab(which) {
  for (const t of ["topology", "sg"]) {
    const on = t === which;
    $("#tab-" + t).setAttribute("aria-selected", on ? "true" : "false");
    $("#tab-" + t).tabIndex = on ? 0 : -1;
    $("#view-" + t).hidden = !on;
  }
  // While the editor shows, its groups are read again every 3 s: a rule
  // added elsewhere (qnetctl) is not on the stream.
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
  // #sg opens the editor, #sg/NAME with that group selected.
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

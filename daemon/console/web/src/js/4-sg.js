// ---- security-group editor ------------------------------------------------------
let sgSel = "";
let editing = "";

function renderSG() {
  const groups = sorted(S.sgs);
  if (sgSel && !S.sgs.has(sgSel)) sgSel = "";
  const ul = $("#sg-list");
  const focusName = document.activeElement && document.activeElement.closest && document.activeElement.closest("#sg-list li") ? document.activeElement.dataset.group : null;
  ul.replaceChildren(...groups.map((g) => h("li", {
    "data-group": g.name, tabindex: 0, role: "option", "aria-selected": g.name === sgSel ? "true" : "false",
    "aria-label": g.name + ", " + arr(g.ports).length + " members, " + arr(g.rules).length + " rules",
  }, h("span", { text: g.name }), h("span", { class: "count", text: arr(g.ports).length + " members" }))));
  if (!groups.length) ul.append(h("li", { class: "muted", text: "No security groups." }));
  if (focusName) { const li = groupItem(focusName); if (li) li.focus(); }
  renderGroup();
}

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
  editing = "";
  $("#rule-error").textContent = "";
  for (const li of document.querySelectorAll("#sg-list li[data-group]")) li.setAttribute("aria-selected", li.dataset.group === name ? "true" : "false");
  renderGroup();
}

// groupWrite sends a write whose answer is the group, shows the daemon's
// message in errEl, and refreshes the group from the answer.
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

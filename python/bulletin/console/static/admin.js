// 通报工作台: the 账号管理 and 审计日志 pages. Plain JS like console.js; everything shown is put in with
// textContent; every state change sends the page's CSRF token.
"use strict";

const CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return node;
}

async function api(method, url, body) {
  const options = { method, headers: { "X-CSRFToken": CSRF }, credentials: "same-origin" };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  let response, data;
  try { response = await fetch(url, options); } catch (e) { throw new Error("无法连接工作台，请稍后重试"); }
  try { data = await response.json(); } catch (e) { data = { error: `工作台的回答无法识别（状态 ${response.status}），请刷新页面后重试` }; }
  if (!response.ok) throw new Error(data.error || `请求未完成（状态 ${response.status}）`);
  return data;
}

function showError(message) { $("error").textContent = message || ""; $("error").hidden = !message; }
function showNotes(lines) { $("notes").replaceChildren(...lines.map((l) => el("li", {}, l))); }

// -- 账号管理 ----------------------------------------------------------------------------------------------
const admin = { users: [], roles: [], departments: [] };

function options(select, items, keepFirst) {
  const first = keepFirst ? [select.options[0]] : [];
  select.replaceChildren(...first, ...items.map((v) => el("option", { value: v }, v)));
}

async function loadUsers() {
  const data = await api("GET", "/api/users");
  Object.assign(admin, data);
  options($("add-role"), data.roles.map((r) => r.name));
  options($("add-department"), data.departments, true);
  options($("bind-role"), data.roles.map((r) => r.name));
  options($("bind-department"), data.departments, true);
  showUsers();
}

function state(u) {
  if (u.disabled) return "已停用";
  if (u.locked_until && new Date(u.locked_until) > new Date()) return "已锁定";
  return u.must_change_password ? "待修改初始密码" : "正常";
}

function showUsers() {
  const q = $("user-filter").value.trim();
  const shown = admin.users.filter((u) => !q || [u.name, u.role, u.department || ""].some((v) => v.includes(q)));
  $("user-count").textContent = `共 ${admin.users.length} 个账号${q ? `，显示 ${shown.length} 个` : ""}`;
  $("users").tBodies[0].replaceChildren(...shown.map((u) => el("tr", { "data-user": u.name },
    el("td", {}, u.name), el("td", {}, u.role), el("td", {}, u.department || ""), el("td", {}, state(u)),
    el("td", {}, u.created_at),
    el("td", {},
      el("button", { type: "button", class: "mini", onclick: () => change(u, u.disabled ? "enable" : "disable") }, u.disabled ? "启用" : "停用"),
      el("button", { type: "button", class: "mini", onclick: () => change(u, "reset") }, "重置密码"),
      el("button", { type: "button", class: "mini", onclick: () => bind(u) }, "角色/部门")))));
}

async function change(u, what) {
  const asks = { disable: `停用账号“${u.name}”？其已登录的会话会立即结束。`, reset: `重置“${u.name}”的密码？将生成一个临时密码，对方下次登录时须修改。` };
  if (asks[what] && !window.confirm(asks[what])) return;
  showError("");
  try {
    const data = await api("POST", `/api/users/${encodeURIComponent(u.name)}/${what}`, {});
    const said = { disable: `已停用“${u.name}”。`, enable: `已启用“${u.name}”。` }[what];
    // the temporary password is shown this once: the administrator passes it on
    showNotes([what === "reset" ? `“${u.name}”的临时密码：${data.password}（只显示这一次，请转告本人；登录后须修改）` : said]);
    await loadUsers();
  } catch (e) { showError(e.message); }
}

function bind(u) {
  const dialog = $("bind");
  $("bind-title").textContent = `更改“${u.name}”的角色或部门`;
  $("bind-role").value = u.role;
  $("bind-department").value = u.department || "";
  dialog.returnValue = "";
  dialog.showModal();
  dialog.addEventListener("close", async function once() {
    dialog.removeEventListener("close", once);
    if (dialog.returnValue !== "ok") return;
    showError("");
    try {
      const data = await api("POST", `/api/users/${encodeURIComponent(u.name)}/bind`,
        { role: $("bind-role").value, department: $("bind-department").value });
      showNotes([`已将“${u.name}”改为${data.user.role}${data.user.department ? `（${data.user.department}）` : ""}；其已登录的会话已结束。`]);
      await loadUsers();
    } catch (e) { showError(e.message); }
  });
}

function setUpAdmin() {
  $("add-user").addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    const form = new FormData(event.target);
    const body = Object.fromEntries(form.entries());
    try {
      const data = await api("POST", "/api/users", body);
      showNotes([`已添加“${data.user.name}”（${data.user.role}${data.user.department ? ` · ${data.user.department}` : ""}）。` +
        (data.password ? `临时密码：${data.password}（只显示这一次，请转告本人；首次登录须修改）` : "首次登录须修改密码。")]);
      event.target.reset();
      await loadUsers();
    } catch (e) { showError(e.message); }
  });
  $("import").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    showError("");
    const form = new FormData();
    form.append("accounts", file);
    try {
      const data = await api("POST", "/api/users/import", form);
      showNotes([`已导入 ${data.users.length} 个账号：${data.users.map((u) => u.name).join("、")}。首次登录须修改密码。`]);
      await loadUsers();
    } catch (e) { showError(e.message); }
    event.target.value = "";
  });
  $("user-filter").addEventListener("input", showUsers);
  loadUsers().catch((e) => showError(e.message));
}

// -- 审计日志 ----------------------------------------------------------------------------------------------
const audit = { page: 1, pages: 1 };

function auditQuery(page) {
  const form = new FormData($("audit-filter"));
  const query = new URLSearchParams();
  for (const [k, v] of form.entries()) if (v) query.set(k, v);
  $("audit-export").href = `/api/audit.xlsx?${query}`;
  if (page) query.set("page", page);
  return query;
}

async function loadAudit(page) {
  showError("");
  try {
    const data = await api("GET", `/api/audit?${auditQuery(page)}`);
    audit.page = data.page; audit.pages = data.pages;
    $("audit-count").textContent = `共 ${data.total} 条`;
    $("audit-page").textContent = `第 ${data.page} / ${data.pages} 页`;
    $("audit-prev").disabled = data.page <= 1;
    $("audit-next").disabled = data.page >= data.pages;
    $("audit").tBodies[0].replaceChildren(...data.entries.map((e) => el("tr", {},
      el("td", {}, e.time), el("td", {}, e.username), el("td", {}, e.from_address), el("td", {}, e.action_label),
      el("td", {}, e.month || ""), el("td", {}, e.department || ""), el("td", {}, e.target || ""),
      el("td", {}, e.old_value || ""), el("td", {}, e.new_value || ""))));
  } catch (e) { showError(e.message); }
}

function setUpAudit() {
  $("audit-filter").addEventListener("submit", (event) => { event.preventDefault(); loadAudit(1); });
  $("audit-prev").addEventListener("click", () => loadAudit(audit.page - 1));
  $("audit-next").addEventListener("click", () => loadAudit(audit.page + 1));
  loadAudit(1);
}

if ($("users")) setUpAdmin();
if ($("audit")) setUpAudit();

// 通报工作台: the page's behaviour. Plain JS, no build step, no CDN. Everything shown comes from the JSON
// API (the same shapes as `bulletin … --json`) and is put in with textContent, never as HTML (el and $: dom.js).
"use strict";

const MAY_EDIT = document.querySelector('meta[name="bulletin-may-edit"]').content === "yes";  // 领导: read-only
const MAX_UPLOAD_MB = Number(document.querySelector('meta[name="bulletin-max-upload-mb"]').content);
const OFFLINE = "无法连接工作台，请确认启动窗口没有关闭";
const SEVERITY = { error: "错误", warning: "警告" };
const STATUSES = ["红", "黄", "绿"];
const state = { workbook: null, problems: [], sort: { key: "severity", dir: 1 }, tables: [], annex: 0, mail: null, mailShown: null };

async function api(method, url, body, headers = {}) {
  const options = { method, headers: { ...authHeaders(), ...headers }, credentials: "same-origin" };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (e) {
    throw new Error(OFFLINE);  // the launcher window was closed, or the PC slept: never the browser's English
  }
  let data;
  try { data = await response.json(); } catch (e) { data = { error: `工作台的回答无法识别（状态 ${response.status}），请刷新页面后重试` }; }
  if (!response.ok && response.status !== 202) throw new Error(data.error || `请求未完成（状态 ${response.status}）`);
  return data;
}

// -- messages ---------------------------------------------------------------------------------------------
function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}
function showNotes(lines, next) {
  const list = $("notes");
  list.replaceChildren(...(lines || []).map((line) => el("li", {}, line)),
    ...(next || []).map((n) => el("li", { class: `next${n.action === "set_email" ? " link" : ""}`,
      dataset: { action: n.action, subject: n.subject || "" } }, n.text)));
}

// a question before a step that stores or replaces something: resolves true when the clerk confirms
function ask(title, text, ok) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", function once() {
      dialog.removeEventListener("close", once);
      resolve(dialog.returnValue === "ok");
    });
  });
}
function busy(title, lines) {
  $("busy").hidden = !title;
  $("busy-title").textContent = title || "";
  $("progress").replaceChildren(...(lines || []).map((line) => el("li", {}, line)));
  for (const b of document.querySelectorAll("#steps button, #send")) b.disabled = !!title || (b.id === "send" && !state.mail);
}

// -- workbooks ----------------------------------------------------------------------------------------------
async function loadBooks(select) {
  const data = await api("GET", "/api/workbooks");
  const books = $("books");
  books.replaceChildren(el("option", { value: "" }, data.workbooks.length ? "（请选择）" : "（文件夹中还没有工作簿）"),
    ...data.workbooks.map((b) => el("option", { value: b.name }, `${b.name}（${b.modified}）`)));
  const wanted = select || state.workbook;
  if (wanted && data.workbooks.some((b) => b.name === wanted)) books.value = wanted;
  choose(books.value || null);
}

function choose(name) {
  if (name !== state.workbook) {
    state.mail = null;
    clearResults();
  }
  state.workbook = name;
  $("current").textContent = name ? `当前：${name}` : "（未选择工作簿）";
  const link = $("download-book");
  link.href = name ? `/workbook?name=${encodeURIComponent(name)}` : "#";
  link.classList.toggle("disabled", !name);
}

function clearResults() {
  state.problems = [];
  state.tables = [];
  renderProblems();
  renderTables();
  $("paragraphs").replaceChildren();
  $("text-empty").hidden = false;
  $("mail").tBodies[0].replaceChildren();
  $("mail-empty").hidden = false;
  $("mail-body").hidden = true;
  state.mailShown = null;
  state.departments = null;
  $("departments").tBodies[0].replaceChildren();
  showNotes([]);
  showError("");
}

async function upload(file) {
  if (!file) return;
  if (file.size > MAX_UPLOAD_MB * 1024 * 1024) {  // said before a long upload the server would refuse anyway
    showError(`“${file.name}”有 ${(file.size / 1024 / 1024).toFixed(1)} MB，超过 ${MAX_UPLOAD_MB} MB 的上限，未上传。请确认选择的是本月的通报工作簿。`);
    $("upload").value = "";
    return;
  }
  const form = new FormData();
  form.append("workbook", file, file.name);
  showError("");
  busy(`正在上传 ${file.name}……`);
  try {
    const data = await api("POST", "/api/upload", form);
    busy(null);
    await loadBooks(data.workbook);
    showNotes(data.notes);
  } catch (e) {
    busy(null);
    showError(e.message);
  }
  $("upload").value = "";
}

// -- steps --------------------------------------------------------------------------------------------------
const TITLES = {};
for (const b of document.querySelectorAll("#steps button")) TITLES[b.dataset.step] = b.textContent;
TITLES["mail-send"] = "发送邮件";

async function confirmed(step) {
  // 结转下月 stores the month (or replaces it); 生成下月工作簿 before 结转 takes an older month's units
  if (step !== "close-month" && step !== "next-month") return true;
  const m = await api("GET", `/api/month?workbook=${encodeURIComponent(state.workbook)}`);
  const held = m.months.length ? m.months.join("、") : "无";
  if (step === "close-month") {
    if (!m.month) return true;  // the step itself says the month is missing
    const text = m.stored
      ? `历史库中已有 ${m.month}。确认后将重新存入 ${m.month}：替换先前存入的 ${m.month}，其他月份不变（历史库现有：${held}）。`
      : `将把本工作簿 ${m.month} 的数据（各附件的数据、计算结果和确认的状态）存入历史库，供下月比较和趋势图使用（历史库现有：${held}）。`;
    return ask("确认结转", text, m.stored ? "重新存入" : "存入历史库");
  }
  if (!m.month || m.stored) return true;
  const older = m.months.filter((x) => x < m.month);
  return ask("本月尚未结转", `本月（${m.month}）尚未结转：下月工作簿的单位将取自历史库中${older.length ? `的 ${older[older.length - 1]}` : "较早的月份"}。`
    + "建议先点“结转下月”，再生成下月工作簿。仍要现在生成吗？", "仍然生成");
}

async function runStep(step, extra = {}) {
  if (!state.workbook) { showError("请先选择或上传一个工作簿"); return null; }
  showError("");
  showNotes([]);
  try {
    if (!(await confirmed(step))) return null;
  } catch (e) {
    showError(`${TITLES[step]}未完成：${e.message}`);
    return null;
  }
  const form = new FormData();
  form.append("workbook", state.workbook);
  if ($("overwrite").checked && step === "narrate") form.append("overwrite_text", "1");
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  busy(`正在${TITLES[step]}……`);
  try {
    let job = await api("POST", `/api/${step}`, form, { Prefer: "respond-async" });
    while (job.state === "running" || job.state === "waiting") {
      if (job.state === "waiting") busy(`等待“${job.waiting_for}”完成后开始`);
      else busy(`正在${TITLES[step]}……（${job.seconds} 秒）`, job.progress);
      if (step === "mail-send") $("send-progress").replaceChildren(...job.progress.map((l) => el("li", {}, l)));
      await new Promise((r) => setTimeout(r, 300));
      job = await api("GET", `/api/jobs/${encodeURIComponent(job.job)}`);
    }
    if (step === "mail-send") $("send-progress").replaceChildren(...job.progress.map((l) => el("li", {}, l)));
    if (job.state === "failed") throw new Error(job.error);
    const result = job.result;
    busy(null);
    await show(step, result);
    return result;
  } catch (e) {
    busy(null);
    showError(`${TITLES[step]}未完成：${e.message}`);
    return null;
  }
}

async function show(step, result) {
  // the CLI's printed tables are shown as tables here: only its summary lines join the notes
  const summary = (result.report || []).filter((line) => /^(邮件预览|发送结果|拒绝|跳过|失败|未发送|待核实)/.test(line));
  // 报送 steps: their table (单位 | 附件 | 状态 …) is the report itself
  showNotes([...(result.notes || []), ...(step.startsWith("mail") ? summary : []),
    ...(step.startsWith("collect") ? result.report || [] : [])], result.next);
  if (result.problems) { state.problems = result.problems; renderProblems(); }
  if (["check"].includes(step)) openTab("problems");
  if (["recalc", "compare", "run"].includes(step)) { await loadTables(); openTab("tables"); }
  if (["narrate", "run"].includes(step)) { await loadText(); if (step === "narrate") openTab("text"); }
  if (step === "render") { renderDocument(result); openTab("document"); }
  if (step === "mail-preview" || step === "mail-send") { renderMail(result); openTab("mail"); }
  if (step === "charts") { renderCharts(result); openTab("charts"); }
  if (step === "environment") { renderEnvironment(result); openTab("environment"); }
  if (step === "close-month") openTab("problems");
  if (step === "next-month") await loadBooks();  // the new workbook joins the list (the current one stays chosen)
}

// 导入回传: several returned fill-in workbooks at once, or the office mailbox's, checked and merged into the
// chosen workbook
async function importReturns(files, mailbox = false) {
  if (!mailbox && (!files || !files.length)) return;
  if (!state.workbook) { showError("请先选择或上传本月的总表"); return; }
  const form = new FormData();
  form.append("workbook", state.workbook);
  if (mailbox) form.append("imap", "1");
  for (const f of files || []) form.append("returns", f, f.name);
  showError("");
  busy(mailbox ? "正在从办公邮箱收取并导入回传……" : `正在导入 ${files.length} 个回传文件……`);
  try {
    const result = await api("POST", "/api/collect-import", form);
    busy(null);
    await show("collect-import", result);
  } catch (e) {
    busy(null);
    showError(`导入回传未完成：${e.message}`);
  }
}

// -- problems -----------------------------------------------------------------------------------------------
function where(p) { return p.cell ? `${p.sheet}!${p.cell}` : p.sheet; }

function renderProblems() {
  const severity = $("severity").value;
  const text = $("filter").value.trim();
  const { key, dir } = state.sort;
  const value = (p) => (key === "where" ? where(p) : p[key] || "");
  const rows = state.problems
    .filter((p) => !severity || p.severity === severity)
    .filter((p) => !text || [where(p), p.department, p.message, p.rule].some((v) => (v || "").includes(text)))
    .sort((a, b) => dir * String(value(a)).localeCompare(String(value(b)), "zh-CN", { numeric: true }));
  $("problems").tBodies[0].replaceChildren(...rows.map((p) => el("tr", { class: `sev-${p.severity}` },
    el("td", {}, SEVERITY[p.severity] || p.severity), el("td", {}, where(p)), el("td", {}, p.department || ""),
    el("td", {}, p.message))));
  const errors = state.problems.filter((p) => p.severity === "error").length;
  $("problem-count").textContent = state.problems.length
    ? `共 ${state.problems.length} 条（错误 ${errors} 条、警告 ${state.problems.length - errors} 条），显示 ${rows.length} 条` : "";
  $("problems-empty").hidden = state.problems.length > 0;
  $("problems-empty").textContent = state.workbook ? "未发现问题（或尚未校验）。" : "请先选择工作簿并点“校验数据”。";
  for (const th of $("problems").tHead.rows[0].cells)
    th.className = th.dataset.key === key ? (dir > 0 ? "asc" : "desc") : "";
}

// -- annex tables -------------------------------------------------------------------------------------------
async function loadTables() {
  const data = await api("GET", `/api/tables?workbook=${encodeURIComponent(state.workbook)}`);
  state.tables = data.tables;
  renderTables();
}

function formatted(value, type) {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value !== "number") return String(value);
  if (type === "ratio") return `${(value * 100).toFixed(2)}%`;
  if (type === "points") return `${value > 0 ? "+" : ""}${value.toFixed(2)}`;
  if (type === "count") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
}

// the unit and its 状态 first (both stay in view while the table scrolls sideways), then the rest in sheet order
function displayOrder(table) {
  const cols = table.columns.map((c, i) => ({ ...c, i }));
  const name = cols.find((c) => c.what === "input" && /单位|部门/.test(c.name)) || cols[1] || cols[0];
  const status = cols.find((c) => c.what === "status");
  return [name, ...(status ? [status] : []), ...cols.filter((c) => c !== name && c !== status)];
}

function renderTables() {
  const tabs = $("annex-tabs");
  tabs.replaceChildren(...state.tables.map((t, i) => el("button", {
    type: "button", class: i === state.annex ? "active" : "", onclick: () => { state.annex = i; renderTables(); },
  }, t.sheet)));
  const table = state.tables[state.annex];
  $("tables-empty").hidden = !!table;
  $("reset-annex").hidden = !(table && table.has_status);
  const annex = $("annex");
  if (!table) { annex.tHead.replaceChildren(); annex.tBodies[0].replaceChildren(); return; }
  annex.dataset.sheet = table.sheet;
  const order = displayOrder(table);
  const sticky = (c, k) => (k === 0 ? " sticky-name" : c.what === "status" ? " sticky-status" : "");
  annex.tHead.replaceChildren(el("tr", {}, ...order.map((c, k) => el("th", { class: `col-${c.what}${sticky(c, k)}` }, c.name))));
  annex.tBodies[0].replaceChildren(...table.rows.map((row) => {
    const tr = el("tr", { class: rowClass(row, row.status), dataset: { department: row.department || "" } });
    order.forEach((c, k) => {
      const v = row.values[c.i];
      if (c.what === "status" && (row.kind === "department" || row.kind === "total")) {
        tr.append(el("td", { class: `col-status${sticky(c, k)}` }, ...statusControl(table, row, tr)));
      } else {
        const cls = `col-${c.what}${sticky(c, k)}${c.type === "points" && typeof v === "number" ? (v < 0 ? " down" : v > 0 ? " up" : "") : ""}`;
        tr.append(el("td", { class: cls }, formatted(v, c.type) || (k === 0 ? row.label || row.department || "" : "")));
      }
    });
    return tr;
  }));
  // the 状态 column sticks right after the unit's, whatever width the unit's column took
  const first = annex.tHead.rows[0].cells[0];
  annex.style.setProperty("--name-width", `${first.getBoundingClientRect().width}px`);
}

function rowClass(row, status) { return `kind-${row.kind}${status ? ` status-${status}` : ""}`; }

function statusControl(table, row, tr) {
  const select = el("select", { "aria-label": `${row.label} 状态` },
    el("option", { value: "" }, "—"), ...STATUSES.map((s) => el("option", { value: s }, s)));
  select.value = STATUSES.includes(row.status) ? row.status : "";
  select.disabled = !MAY_EDIT;
  const saving = el("span", { class: "saving", hidden: "" }, "保存中…");
  select.addEventListener("change", () => setStatus(table, row, tr, select, saving));
  const parts = [select];
  if (row.by_staff) {
    parts.push(el("span", { class: "badge manual", title: `人工确认的状态；规则建议：${row.proposed}` }, "人工"),
      el("button", { type: "button", class: "mini reset-one", title: `按规则重置为“${row.proposed}”`,
        "aria-label": `按规则重置${row.label}的状态`, onclick: () => resetStatus(table.sheet, row.department) }, "↺"));
  }
  parts.push(saving);
  return parts;
}

async function setStatus(table, row, tr, select, saving) {
  const before = row.status, status = select.value;
  showError("");
  tr.className = rowClass(row, status);  // recoloured at once; put back if the save fails
  select.disabled = true;
  saving.hidden = false;
  try {
    // expected: the status this page showed; another clerk's save since then is refused (已被他人修改)
    const data = await api("POST", "/api/status", { workbook: state.workbook, sheet: table.sheet, department: row.department,
      status, expected: before || "" });
    showNotes(data.notes, data.next);
  } catch (e) {
    tr.className = rowClass(row, before);
    select.value = before || "";
    showError(`修改状态未完成：${e.message}`);
  }
  select.disabled = false;
  saving.hidden = true;
  try { await loadTables(); } catch (e) { showError(e.message); }
}

async function resetStatus(sheet, department) {
  const who = department ? `“${department}”` : "全部单位";
  const ok = await ask("按规则重置状态", `将把${sheet}中${who}的状态改回规则的建议（人工确认的状态将被替换；工作簿会先备份）。`, "重置");
  if (!ok) return;
  showError("");
  busy("正在按规则重置状态……");
  try {
    const data = await api("POST", "/api/status/reset", { workbook: state.workbook, sheet, department: department || "" });
    busy(null);
    showNotes(data.notes, data.next);
    await loadTables();
  } catch (e) {
    busy(null);
    showError(`按规则重置状态未完成：${e.message}`);
  }
}

// -- text ---------------------------------------------------------------------------------------------------
async function loadText() {
  const data = await api("GET", `/api/text?workbook=${encodeURIComponent(state.workbook)}`);
  $("text-empty").hidden = data.paragraphs.length > 0;
  let section = null;
  const nodes = [];
  for (const p of data.paragraphs) {
    if (p.section !== section) { section = p.section; nodes.push(el("h3", {}, section)); }
    const area = el("textarea", { rows: Math.min(12, Math.max(3, Math.ceil(p.text.length / 60))), "aria-label": p.heading || p.id }, );
    area.value = p.text;
    const saving = el("span", { class: "saving", hidden: "" }, "保存中…");
    const save = el("button", { type: "button", class: "primary", onclick: (e) => saveParagraph(p.id, area.value, p.text, e.target, saving) }, "保存");
    save.disabled = area.readOnly = !MAY_EDIT;
    const restore = p.edited ? el("button", { type: "button", class: "restore", onclick: (e) => restoreParagraph(p.id, e.target, saving) }, "恢复为生成文字") : "";
    const box = el("div", { class: `paragraph${p.edited ? " edited" : ""}`, dataset: { id: p.id } },
      el("div", { class: "head" }, el("strong", {}, p.heading || "（无标题）"), el("code", {}, p.id),
        p.edited ? el("span", { class: "badge" }, "已人工修改") : ""), area,
      el("div", { class: "actions" }, save, restore, saving, p.note ? el("span", { class: "hint" }, p.note) : ""));
    if (p.edited && p.generated_now && p.generated_now !== p.text)
      box.append(el("details", {}, el("summary", {}, "本次生成的文字（供对照）"), el("p", { class: "generated" }, p.generated_now)));
    nodes.push(box);
  }
  $("paragraphs").replaceChildren(...nodes);
}

async function paragraphEdit(url, body, button, saving, failed) {
  showError("");
  button.disabled = true;
  saving.hidden = false;
  try {
    const data = await api("POST", url, { workbook: state.workbook, ...body });
    showNotes(data.notes, data.next);
    await loadText();
  } catch (e) {
    button.disabled = false;
    saving.hidden = true;
    showError(`${failed}未完成：${e.message}`);
  }
}

// expected: the text this page loaded; if another clerk saved since, the save is refused and the message shows
// their text, while this page keeps the clerk's own wording to merge by hand
function saveParagraph(id, text, expected, button, saving) { return paragraphEdit("/api/text", { paragraph: id, text, expected }, button, saving, "保存段落"); }
function restoreParagraph(id, button, saving) { return paragraphEdit("/api/text/restore", { paragraph: id }, button, saving, "恢复为生成文字"); }

// -- document, charts, mail, environment ------------------------------------------------------------------
function link(d) { return el("a", { href: d.url, download: d.name }, d.name); }

function renderDocument(result) {
  const files = result.downloads.filter((d) => !d.path.startsWith("pages/"));
  const pages = result.downloads.filter((d) => d.path.startsWith("pages/"));
  $("document-files").replaceChildren(...files.map((d) => el("li", {}, link(d))));
  $("pages").replaceChildren(...pages.map((d) => el("a", { href: d.url, target: "_blank", rel: "noopener" },
    el("img", { src: d.url, alt: d.name, loading: "lazy" }))));
  $("document-empty").hidden = files.length > 0;
}

function renderCharts(result) {
  const images = result.downloads.filter((d) => d.name.endsWith(".png"));
  $("chart-images").replaceChildren(...images.map((d) => el("figure", {}, el("img", { src: d.url, alt: d.name }), el("figcaption", {}, d.name))));
  $("charts-empty").hidden = images.length > 0;
}

function kb(size) { return `${(size / 1024).toFixed(1)} KB`; }

const RESENDABLE = ["中断待核实", "待核实", "已发送过"];

function renderMail(result) {
  const mail = result.mail;
  if (!mail) return;
  state.mail = mail;
  $("mail-empty").hidden = mail.packages.length > 0;
  const files = Object.fromEntries(result.downloads.map((d) => [d.name, d]));
  $("mail").tBodies[0].replaceChildren(...mail.packages.map((p) => {
    const draft = p.file ? files[p.file.split(/[\\/]/).pop()] : null;
    const actions = el("td", { class: "mail-actions" },
      el("button", { type: "button", class: "mini view", onclick: () => showMail(p) }, "查看正文"),
      RESENDABLE.includes(p.status) ? el("button", { type: "button", class: "mini resend", onclick: () => resend(p) }, "重发") : "",
      p.refused.some((r) => r.includes("未登记邮箱")) ? el("button", { type: "button", class: "mini set-email",
        onclick: () => { openTab("departments"); loadDepartments(p.short).catch((x) => showError(x.message)); } }, "填写邮箱") : "");
    return el("tr", { class: p.refused.length ? "refused" : "", dataset: { department: p.short } },
      el("td", {}, p.short), el("td", {}, [...p.to, ...p.cc.map((a) => `抄送 ${a}`)].join("；") || "（无）"),
      el("td", {}, p.attachments.map((a) => a.name).join("、")), el("td", {}, kb(p.size)),
      el("td", { class: "mail-status" }, draft ? link({ ...draft, name: p.status }) : p.status,
        p.refused.length ? el("div", { class: "hint" }, p.refused.join("；")) : ""), actions);
  }));
  $("send").disabled = false;
  const shown = state.mailShown && mail.packages.find((p) => p.short === state.mailShown);
  if (shown) showMail(shown); else $("mail-body").hidden = true;
}

function showMail(p) {
  state.mailShown = p.short;
  $("mail-subject").textContent = p.subject;
  $("mail-to").textContent = `收件人：${[...p.to, ...p.cc.map((a) => `抄送 ${a}`)].join("；") || "（无）"}；附件：${p.attachments.map((a) => a.name).join("、") || "无"}`;
  $("mail-text").textContent = p.body;
  $("mail-body").hidden = false;
  for (const tr of $("mail").tBodies[0].rows) tr.classList.toggle("shown", tr.dataset.department === p.short);
}

function renderEnvironment(result) {
  const env = result.environment || {};
  $("environment").replaceChildren(...Object.entries(env).map(([k, v]) => el("li", {}, el("strong", {}, `${k}：`), v)),
    el("li", {}, el("strong", {}, "工作文件夹："), $("folder").textContent));
  $("environment-empty").hidden = true;
}

async function send() {
  if (!state.mail) return;
  const n = state.mail.packages.filter((p) => !p.refused.length).length;
  if (await ask("确认发送", `将通过邮件服务器向 ${n} 个单位发送 ${state.mail.month} 的通报数据（已发送过的单位不会重复发送）。确认发送吗？`, "确认发送"))
    await runStep("mail-send");
}

async function resend(p) {
  if (await ask("确认重发", `将再次向“${p.short}”发送 ${state.mail.month} 的通报数据（${p.to.join("；")}）。请先向对方核实确未收到。确认重发吗？`, "确认重发"))
    await runStep("mail-send", { resend: p.short });
}

// -- departments ------------------------------------------------------------------------------------------------
async function loadDepartments(focus) {
  if (!state.workbook) { $("departments").tBodies[0].replaceChildren(); $("departments-empty").hidden = false; return; }
  const data = await api("GET", `/api/departments?workbook=${encodeURIComponent(state.workbook)}`);
  state.departments = data;
  renderDepartments();
  if (focus) {
    $("department-filter").value = focus;
    renderDepartments();
    const input = document.querySelector(`#departments tr[data-department="${CSS.escape(focus)}"] input[name="邮箱"]`);
    if (input) input.focus();
  }
}

function renderDepartments() {
  const data = state.departments;
  if (!data) return;
  const text = $("department-filter").value.trim();
  const units = data.departments.filter((d) => !text || [d["部门"], d["简称"], d["别名"]].some((v) => (v || "").includes(text)));
  $("departments").tBodies[0].replaceChildren(...units.map((d) => departmentRow(d)));
  $("departments-empty").hidden = data.departments.length > 0;
  $("departments-empty").textContent = "请先选择工作簿。";
  const problems = data.problems.filter((p) => p.severity === "error").length;
  $("department-count").textContent = `共 ${data.departments.length} 个单位，显示 ${units.length} 个` +
    (problems ? `；“部门”表有 ${problems} 处错误，见“校验结果”` : "");
}

function departmentRow(d) {
  const tr = el("tr", { dataset: { department: d["部门"] } });
  const inputs = {};
  const saving = el("span", { class: "saving", hidden: "" }, "保存中…");
  const save = el("button", { type: "button", class: "mini save-department", disabled: "" }, "保存");
  const changed = () => {
    const any = Object.entries(inputs).some(([c, input]) => input.value !== d[c]);
    save.disabled = !any;
    for (const [c, input] of Object.entries(inputs)) input.parentElement.classList.toggle("changed", input.value !== d[c]);
  };
  const cell = (c) => {
    let input;
    if (c === "应进驻大厅") {
      input = el("select", { name: c, "aria-label": `${d["部门"]} ${c}` }, el("option", { value: "是" }, "是"), el("option", { value: "否" }, "否"));
    } else {
      input = el("input", { type: "text", name: c, "aria-label": `${d["部门"]} ${c}`,
        placeholder: d.office && d.office[c] ? `名录：${d.office[c]}` : (c === "邮箱" ? "未登记" : "") });
    }
    input.value = d[c];
    input.addEventListener("input", changed);
    input.addEventListener("change", changed);
    inputs[c] = input;
    const title = d.office ? `部门名录：${d.office[c] || "空"}${d.set.includes(c) ? "（本工作簿已改写）" : ""}` : "本工作簿新增的单位";
    return el("td", { title }, input);
  };
  save.addEventListener("click", () => saveDepartment(d, inputs, save, saving));
  const source = d.new ? "本工作簿新增" : d.set.length ? `本工作簿改写：${d.set.join("、")}` : "部门名录";
  tr.append(el("td", {}, d["部门"]), ...["简称", "别名", "邮箱", "应进驻大厅"].map(cell), el("td", { class: "hint" }, source),
    el("td", {}, save, saving));
  return tr;
}

async function saveDepartment(d, inputs, save, saving) {
  showError("");
  save.disabled = true;
  saving.hidden = false;
  const body = { workbook: state.workbook, department: d["部门"] };
  for (const [c, input] of Object.entries(inputs)) body[c] = input.value;
  try {
    const data = await api("POST", "/api/departments", body);
    showNotes(data.notes, data.next);
    state.mail = null;  // the mail preview was made with the old addresses
    await loadDepartments();
  } catch (e) {
    save.disabled = false;
    saving.hidden = true;
    showError(`保存部门信息未完成：${e.message}`);
  }
}

// -- backups ------------------------------------------------------------------------------------------------
async function loadBackups() {
  if (!state.workbook) { $("backups").tBodies[0].replaceChildren(); $("backups-empty").hidden = false; return; }
  const data = await api("GET", `/api/backups?workbook=${encodeURIComponent(state.workbook)}`);
  $("backups").tBodies[0].replaceChildren(...data.backups.map((b) => el("tr", { dataset: { name: b.name } },
    el("td", {}, b.time), el("td", {}, kb(b.size)), el("td", {}, b.name),
    el("td", {}, el("button", { type: "button", class: "mini restore-backup", onclick: () => restoreBackup(b) }, "恢复")))));
  $("backups-empty").hidden = data.backups.length > 0;
  $("backups-empty").textContent = "这个工作簿还没有备份：每次写入工作簿前会自动备份。";
}

async function restoreBackup(b) {
  const ok = await ask("恢复备份", `将把 ${state.workbook} 恢复为 ${b.time} 的备份。当前的文件会先另存为一份备份，恢复后仍可找回。确认恢复吗？`, "恢复");
  if (!ok) return;
  showError("");
  busy("正在恢复备份……");
  try {
    const data = await api("POST", "/api/backups/restore", { workbook: state.workbook, backup: b.name });
    busy(null);
    const name = state.workbook;
    clearResults();
    showNotes(data.notes);
    state.workbook = name;
    await loadBackups();
  } catch (e) {
    busy(null);
    showError(`恢复备份未完成：${e.message}`);
  }
}

// -- tabs and wiring ---------------------------------------------------------------------------------------
function openTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll("section.tab")) s.hidden = s.id !== `tab-${name}`;
}

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("#steps button")) b.addEventListener("click", () => runStep(b.dataset.step));
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", async () => {
    openTab(b.dataset.tab);
    try {
      if (b.dataset.tab === "tables" && state.workbook && !state.tables.length) await loadTables();
      if (b.dataset.tab === "text" && state.workbook) await loadText();
      if (b.dataset.tab === "backups") await loadBackups();
      if (b.dataset.tab === "departments") await loadDepartments();
    } catch (e) { showError(e.message); }
  });
  for (const th of $("problems").tHead.rows[0].cells) th.addEventListener("click", () => {
    state.sort = { key: th.dataset.key, dir: state.sort.key === th.dataset.key ? -state.sort.dir : 1 };
    renderProblems();
  });
  $("severity").addEventListener("change", renderProblems);
  $("department-filter").addEventListener("input", renderDepartments);
  // a next step that names a unit's missing address opens that unit in the 部门 view
  $("notes").addEventListener("click", (e) => {
    const li = e.target.closest("li.next[data-action='set_email']");
    if (li) { openTab("departments"); loadDepartments(li.dataset.subject).catch((x) => showError(x.message)); }
  });
  $("filter").addEventListener("input", renderProblems);
  $("books").addEventListener("change", (e) => choose(e.target.value || null));
  $("refresh").addEventListener("click", () => loadBooks().catch((e) => showError(e.message)));
  $("upload").addEventListener("change", (e) => upload(e.target.files[0]));
  $("returns").addEventListener("change", (e) => { importReturns(e.target.files); e.target.value = ""; });
  $("returns-mailbox").addEventListener("click", () => importReturns([], true));
  $("send").addEventListener("click", send);
  $("reset-annex").addEventListener("click", () => { const t = state.tables[state.annex]; if (t) resetStatus(t.sheet, ""); });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); upload(e.dataTransfer.files[0]); });
  loadBooks().catch((e) => showError(e.message));
  renderProblems();
});

// 通报工作台: the page's behaviour. Plain JS, no build step, no CDN. Everything shown comes from the JSON
// API (the same shapes as `bulletin … --json`) and is put in with textContent, never as HTML.
"use strict";

const TOKEN = document.querySelector('meta[name="bulletin-token"]').content;
const SEVERITY = { error: "错误", warning: "警告" };
const STATUSES = ["红", "黄", "绿"];
const $ = (id) => document.getElementById(id);
const state = { workbook: null, problems: [], sort: { key: "severity", dir: 1 }, tables: [], annex: 0, mail: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return node;
}

async function api(method, url, body, headers = {}) {
  const options = { method, headers: { "X-Bulletin-Token": TOKEN, ...headers }, credentials: "same-origin" };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, options);
  let data;
  try { data = await response.json(); } catch (e) { data = { error: `服务器返回了无法识别的内容（${response.status}）` }; }
  if (!response.ok && response.status !== 202) throw new Error(data.error || `请求失败（${response.status}）`);
  return data;
}

// -- messages ---------------------------------------------------------------------------------------------
function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}
function showNotes(lines) {
  const list = $("notes");
  list.replaceChildren(...(lines || []).map((line) => el("li", {}, line)));
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
  showNotes([]);
  showError("");
}

async function upload(file) {
  if (!file) return;
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
}

// -- steps --------------------------------------------------------------------------------------------------
const TITLES = {};
for (const b of document.querySelectorAll("#steps button")) TITLES[b.dataset.step] = b.textContent;
TITLES["mail-send"] = "发送邮件";

async function runStep(step) {
  if (!state.workbook) { showError("请先选择或上传一个工作簿"); return null; }
  showError("");
  showNotes([]);
  const form = new FormData();
  form.append("workbook", state.workbook);
  if ($("overwrite").checked && step === "narrate") form.append("overwrite_text", "1");
  busy(`正在${TITLES[step]}……`);
  try {
    let result;
    if (step === "check") {
      result = await api("POST", "/api/check", form);
    } else {
      let job = await api("POST", `/api/${step}`, form, { Prefer: "respond-async" });
      while (job.state === "running") {
        busy(`正在${TITLES[step]}……（${job.seconds} 秒）`, job.progress);
        if (step === "mail-send") $("send-progress").replaceChildren(...job.progress.map((l) => el("li", {}, l)));
        await new Promise((r) => setTimeout(r, 300));
        job = await api("GET", `/api/jobs/${encodeURIComponent(job.job)}`);
      }
      if (step === "mail-send") $("send-progress").replaceChildren(...job.progress.map((l) => el("li", {}, l)));
      if (job.state === "failed") throw new Error(job.error);
      result = job.result;
    }
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
  const summary = (result.report || []).filter((line) => /^(邮件预览|发送结果|拒绝|跳过|失败|未发送)/.test(line));
  // 报送 steps: their table (单位 | 附件 | 状态 …) is the report itself
  showNotes([...(result.notes || []), ...(step.startsWith("mail") ? summary : []),
    ...(step.startsWith("collect") ? result.report || [] : [])]);
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

// 导入回传: several returned fill-in workbooks at once, checked and merged into the chosen workbook
async function importReturns(files) {
  if (!files || !files.length) return;
  if (!state.workbook) { showError("请先选择或上传本月的总表"); return; }
  const form = new FormData();
  form.append("workbook", state.workbook);
  for (const f of files) form.append("returns", f, f.name);
  showError("");
  busy(`正在导入 ${files.length} 个回传文件……`);
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

function renderTables() {
  const tabs = $("annex-tabs");
  tabs.replaceChildren(...state.tables.map((t, i) => el("button", {
    type: "button", class: i === state.annex ? "active" : "", onclick: () => { state.annex = i; renderTables(); },
  }, t.sheet)));
  const table = state.tables[state.annex];
  $("tables-empty").hidden = !!table;
  const annex = $("annex");
  if (!table) { annex.tHead.replaceChildren(); annex.tBodies[0].replaceChildren(); return; }
  annex.dataset.sheet = table.sheet;
  annex.tHead.replaceChildren(el("tr", {}, ...table.columns.map((c) => el("th", { class: `col-${c.what}` }, c.name))));
  annex.tBodies[0].replaceChildren(...table.rows.map((row) => {
    const tr = el("tr", { class: `kind-${row.kind}${row.status ? ` status-${row.status}` : ""}`, dataset: { department: row.department || "" } });
    table.columns.forEach((c, i) => {
      const v = row.values[i];
      if (c.what === "status" && (row.kind === "department" || row.kind === "total")) {
        const select = el("select", { "aria-label": `${row.label} 状态`, onchange: (e) => setStatus(table.sheet, row.department, e.target.value) },
          el("option", { value: "" }, "—"), ...STATUSES.map((s) => el("option", { value: s }, s)));
        select.value = STATUSES.includes(v) ? v : "";
        tr.append(el("td", { class: "col-status" }, select));
      } else {
        const cls = `col-${c.what}${c.type === "points" && typeof v === "number" ? (v < 0 ? " down" : v > 0 ? " up" : "") : ""}`;
        tr.append(el("td", { class: cls }, formatted(v, c.type)));
      }
    });
    return tr;
  }));
}

async function setStatus(sheet, department, status) {
  showError("");
  try {
    const data = await api("POST", "/api/status", { workbook: state.workbook, sheet, department, status });
    showNotes(data.notes);
  } catch (e) {
    showError(`修改状态未完成：${e.message}`);
  }
  await loadTables();
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
    const save = el("button", { type: "button", class: "primary", onclick: () => saveParagraph(p.id, area.value) }, "保存");
    const box = el("div", { class: `paragraph${p.edited ? " edited" : ""}`, dataset: { id: p.id } },
      el("div", { class: "head" }, el("strong", {}, p.heading || "（无标题）"), el("code", {}, p.id),
        p.edited ? el("span", { class: "badge" }, "已人工修改") : ""), area,
      el("div", { class: "actions" }, save, p.note ? el("span", { class: "hint" }, p.note) : ""));
    if (p.edited && p.generated_now && p.generated_now !== p.text)
      box.append(el("details", {}, el("summary", {}, "本次生成的文字（供对照）"), el("p", { class: "generated" }, p.generated_now)));
    nodes.push(box);
  }
  $("paragraphs").replaceChildren(...nodes);
}

async function saveParagraph(id, text) {
  showError("");
  try {
    const data = await api("POST", "/api/text", { workbook: state.workbook, paragraph: id, text });
    showNotes(data.notes);
    await loadText();
  } catch (e) {
    showError(`保存段落未完成：${e.message}`);
  }
}

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

function renderMail(result) {
  const mail = result.mail;
  if (!mail) return;
  state.mail = mail;
  $("mail-empty").hidden = mail.packages.length > 0;
  const files = Object.fromEntries(result.downloads.map((d) => [d.name, d]));
  $("mail").tBodies[0].replaceChildren(...mail.packages.map((p) => {
    const draft = p.file ? files[p.file.split(/[\\/]/).pop()] : null;
    return el("tr", { class: p.refused.length ? "refused" : "", dataset: { department: p.short } },
      el("td", {}, p.short), el("td", {}, [...p.to, ...p.cc.map((a) => `抄送 ${a}`)].join("；") || "（无）"),
      el("td", {}, p.attachments.map((a) => a.name).join("、")), el("td", {}, kb(p.size)),
      el("td", { class: "mail-status" }, draft ? link({ ...draft, name: p.status }) : p.status,
        p.refused.length ? el("div", { class: "hint" }, p.refused.join("；")) : ""));
  }));
  $("send").disabled = false;
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
  $("confirm-text").textContent = `将通过邮件服务器向 ${n} 个单位发送 ${state.mail.month} 的通报数据（已发送过的单位不会重复发送）。确认发送吗？`;
  const dialog = $("confirm");
  dialog.returnValue = "";
  dialog.showModal();
  dialog.addEventListener("close", async function once() {
    dialog.removeEventListener("close", once);
    if (dialog.returnValue === "ok") await runStep("mail-send");
  });
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
    } catch (e) { showError(e.message); }
  });
  for (const th of $("problems").tHead.rows[0].cells) th.addEventListener("click", () => {
    state.sort = { key: th.dataset.key, dir: state.sort.key === th.dataset.key ? -state.sort.dir : 1 };
    renderProblems();
  });
  $("severity").addEventListener("change", renderProblems);
  $("filter").addEventListener("input", renderProblems);
  $("books").addEventListener("change", (e) => choose(e.target.value || null));
  $("refresh").addEventListener("click", () => loadBooks().catch((e) => showError(e.message)));
  $("upload").addEventListener("change", (e) => upload(e.target.files[0]));
  $("returns").addEventListener("change", (e) => { importReturns(e.target.files); e.target.value = ""; });
  $("send").addEventListener("click", send);
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); upload(e.dataTransfer.files[0]); });
  loadBooks().catch((e) => showError(e.message));
  renderProblems();
});

// 数据填报: a department fills in its rows of the month. Plain JS, no build step; everything shown comes from
// the JSON API (/api/fill…) and is put in with textContent, never as HTML. The checks here are a convenience
// while typing; the server runs the engine's own checks on every 检查 and 提交 and decides. el and $: dom.js.
"use strict";

const OFFLINE = "无法连接工作台，请稍后重试";
const state = { form: null, inputs: {}, timer: null, serial: 0 };

// -> [HTTP status, body]; a refusal's body carries {error} or the problems of a submission
async function call(method, url, body) {
  const options = { method, headers: authHeaders(), credentials: "same-origin" };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  let response;
  try { response = await fetch(url, options); } catch (e) { return [0, { error: OFFLINE }]; }
  try { return [response.status, await response.json()]; } catch (e) {
    return [response.status, { error: `工作台的回答无法识别（状态 ${response.status}），请刷新页面后重试` }];
  }
}

function showError(message) { $("fill-error").textContent = message || ""; $("fill-error").hidden = !message; }
function showNotes(lines) { $("fill-notes").replaceChildren(...(lines || []).map((l) => el("li", {}, l))); }

// -- numbers as the page reads them (the server reads them again) -------------------------------------------
function parse(text) {
  const t = String(text).replace(/[\s,，]/g, "").replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)%?$/.test(t)) return NaN;
  return Number(t.replace("%", ""));
}
function shown(v) { return v == null || v === "" ? "" : (typeof v === "number" ? String(Math.round(v * 100) / 100) : String(v)); }

function cellProblem(col, raw) {
  const text = String(raw).trim();
  if (!text) return col.required ? "请填写" : "";
  if (text.startsWith("=")) return "不能填写公式，请直接填写数值";
  if (col.type === "text") return text.length > 32767 ? "内容过长" : "";
  const n = parse(text);
  if (Number.isNaN(n)) return "应为数字";
  if (n < 0) return "不能为负数";
  if (col.type === "count" && !Number.isInteger(n)) return "应为整数";
  if (col.type === "ratio" && n > 100) return "应为 0 到 100 之间的百分数";
  if (col.max != null && col.type !== "ratio" && n > col.max) return "数值过大，请核对";
  return "";
}

function rowValues(annex, index) {
  const out = {};
  for (const col of annex.columns) {
    if (col.role !== "input") continue;
    const input = state.inputs[`${annex.sheet}|${index}|${col.name}`];
    const text = input.value.trim();
    if (!text) out[col.name] = null;
    else if (col.type === "text" || Number.isNaN(parse(text)) || text.startsWith("=")) out[col.name] = input.value;
    else out[col.name] = parse(text);
  }
  return out;
}
function values() {
  const out = {};
  for (const a of state.form.annexes) out[a.sheet] = a.rows.map((r) => rowValues(a, r.index));
  return out;
}

function computed(col, row) {
  const side = (terms) => terms.reduce((s, t) => s + (t.startsWith("-") ? -1 : 1) * (Number(row[t.replace(/^-/, "")]) || 0), 0);
  const num = side(col.formula.num);
  if (!col.formula.den.length) return shown(num);
  const den = side(col.formula.den);
  return den ? `${(Math.round((num / den) * 10000) / 100).toFixed(2)}%` : "";
}

// the row's own checks (spec.checks): a part above its whole, parts that do not add up
function rowChecks(annex, row) {
  const out = [];
  for (const ch of annex.checks) {
    const whole = row[ch.whole];
    if (typeof whole !== "number") continue;
    const parts = ch.parts.map((p) => row[p]);
    if (parts.some((p) => typeof p !== "number")) continue;
    if (ch.rule === "part_le_whole" && parts[0] > whole) out.push([ch.parts[0], `“${ch.parts[0]}”大于“${ch.whole}”`]);
    if (ch.rule === "parts_sum_to_whole" && parts.reduce((a, b) => a + b, 0) !== whole)
      out.push([ch.whole, `${ch.parts.join(" + ")} 不等于“${ch.whole}”`]);
  }
  return out;
}

function recheck(annex, index, tr) {
  const row = rowValues(annex, index);
  const problems = {};
  for (const col of annex.columns) {
    if (col.role !== "input") continue;
    const p = cellProblem(col, state.inputs[`${annex.sheet}|${index}|${col.name}`].value);
    if (p) problems[col.name] = [p];
  }
  for (const [column, message] of rowChecks(annex, row)) (problems[column] = problems[column] || []).push(message);
  for (const col of annex.columns) {
    const td = tr.querySelector(`td[data-column="${CSS.escape(col.name)}"]`);
    if (!td) continue;
    if (col.role === "computed") { td.firstChild.textContent = computed(col, row); continue; }
    if (col.role !== "input") continue;
    const msg = td.querySelector(".msg");
    msg.textContent = (problems[col.name] || []).join("；");
    td.querySelector("input").classList.toggle("bad", !!problems[col.name]);
  }
}

// -- the forms -----------------------------------------------------------------------------------------------
function stateBadge(s) { return el("span", { class: `state s-${s}` }, s); }

function annexCard(annex) {
  const cols = annex.columns.filter((c) => c.role !== "index" && c.role !== "name");
  const head = el("tr", {}, el("th", {}, "单位"), ...cols.map((c) => el("th", {}, c.header)));
  const body = el("tbody");
  for (const row of annex.rows) {
    const tr = el("tr", { dataset: { index: row.index } }, el("td", {}, state.form.short));
    for (const col of cols) {
      if (col.role === "key") { tr.append(el("td", {}, shown(row.keys[col.name]))); continue; }
      const prev = row.previous && row.previous[col.name] != null
        ? el("span", { class: "prev" }, `上月 ${shown(row.previous[col.name])}${col.type === "ratio" ? "%" : ""}`) : "";
      if (col.role === "computed") {
        tr.append(el("td", { class: "computed", dataset: { column: col.name } }, el("span", {}, ""), prev));
        continue;
      }
      const input = el("input", { type: "text", class: col.type === "text" ? "text" : "", inputmode: col.type === "text" ? "text" : "decimal",
        "aria-label": `${annex.sheet} ${row.label} ${col.name}`, dataset: { sheet: annex.sheet, index: row.index, column: col.name } });
      input.value = shown(row.values[col.name]);
      input.disabled = !state.form.can_submit;
      input.addEventListener("input", () => { recheck(annex, row.index, tr); scheduleCheck(); });
      state.inputs[`${annex.sheet}|${row.index}|${col.name}`] = input;
      tr.append(el("td", { dataset: { column: col.name } }, input, col.type === "ratio" ? " %" : "", prev, el("span", { class: "msg" })));
    }
    body.append(tr);
  }
  const card = el("section", { class: "card fill-annex", dataset: { sheet: annex.sheet } },
    el("h2", {}, `${annex.sheet}　${annex.title}`, stateBadge(annex.state),
      annex.submitted_at ? el("span", { class: "hint" }, `报送于 ${annex.submitted_at}`) : ""));
  if (annex.state === "退回") card.append(el("p", { class: "returned" }, `退回原因：${annex.reason || "（未写明）"}`));
  else if (annex.reason) card.append(el("p", { class: "hint" }, annex.reason));
  card.append(el("div", { class: "scroll" }, el("table", { class: "grid fill" }, el("thead", {}, head), body)));
  if (state.form.can_return && ["已报", "已确认"].includes(annex.state)) {
    const reason = el("input", { type: "text", placeholder: "退回原因（部门会看到）", "aria-label": `${annex.sheet} 退回原因` });
    const button = el("button", { type: "button", class: "danger", onclick: () => sendBack(annex.sheet, reason, button) }, "退回");
    card.append(el("div", { class: "send-back" }, reason, button));
  }
  for (const tr of body.children) recheck(annex, Number(tr.dataset.index), tr);
  return card;
}

function render(form) {
  state.form = form;
  state.inputs = {};
  $("fill-title").textContent = `${form.month}　${form.short}　截止 ${form.deadline}`;
  $("fill-forms").replaceChildren(...form.annexes.map(annexCard));
  $("fill-submit-card").hidden = !form.can_submit;
  $("fill-extract").hidden = !form.can_extract;
  $("fill-extract").href = `/api/fill/extract?${new URLSearchParams({ workbook: form.workbook, department: form.department })}`;
  $("fill-history-card").hidden = !form.submissions.length;
  $("fill-history").replaceChildren(...form.submissions.slice().reverse().map((s) => el("tr", {},
    el("td", {}, s.at.replace("T", " ").slice(0, 16)), el("td", {}, s.who), el("td", {}, s.outcome),
    el("td", {}, s.reason), el("td", {}, s.explanation))));
  $("fill-problems").replaceChildren();
}

function showProblems(result) {
  const lines = result.problems.map((p) => el("li", { class: p.severity },
    `${p.sheet ? p.sheet + " " : ""}${p.label || ""}${p.column ? "「" + p.column + "」" : ""}：${p.message}`));
  $("fill-problems").replaceChildren(...lines);
  for (const p of result.problems) {
    const input = state.inputs[`${p.sheet}|${p.row}|${p.column}`];
    if (!input) continue;
    const msg = input.parentElement.querySelector(".msg");
    if (!msg.textContent.includes(p.message)) msg.textContent = [msg.textContent, p.message].filter(Boolean).join("；");
    msg.classList.toggle("warn", p.severity !== "error");
    input.classList.add("bad");
  }
}

// the engine's checks on the server, a moment after typing stops (nothing written)
function scheduleCheck() {
  clearTimeout(state.timer);
  state.timer = setTimeout(serverCheck, 700);
}
async function serverCheck() {
  const serial = ++state.serial;
  $("fill-checking").textContent = "正在检查……";
  const [status, result] = await call("POST", "/api/fill/check", body());
  if (serial !== state.serial) return;
  $("fill-checking").textContent = status === 200 ? (result.problems.length ? `检查发现 ${result.problems.length} 处问题` : "检查通过") : "";
  if (status === 200) showProblems(result); else showError(result.error);
}

function body() {
  return { workbook: $("fill-book").value, department: state.form.department, values: values(),
           explanation: $("fill-explanation").value };
}

async function submit() {
  clearTimeout(state.timer);
  state.serial++;
  showError("");
  const button = $("fill-submit");
  button.disabled = true;
  $("fill-checking").textContent = "正在提交……";
  try {
    const [status, result] = await call("POST", "/api/fill/submit", body());
    $("fill-checking").textContent = "";
    if (status === 200) {
      await load();  // the form as the master now holds it: 已报, the values merged
      $("fill-explanation").value = "";
      showNotes([result.message, ...(result.conflicts || []), ...(result.notes || [])]);
    } else if (result.problems) {
      showProblems(result);
      showNotes([result.message]);
      if (result.needs_explanation) $("fill-explanation").focus();
    } else showError(result.error);
  } finally { button.disabled = false; }
}

async function sendBack(sheet, reason, button) {
  showError("");
  if (!reason.value.trim()) { showError("请写明退回原因"); reason.focus(); return; }
  button.disabled = true;
  const [status, result] = await call("POST", "/api/collect/return",
    { workbook: $("fill-book").value, department: state.form.department, annex: sheet, reason: reason.value });
  button.disabled = false;
  if (status !== 200) { showError(result.error); return; }
  render(result.form);
  showNotes(result.notes);
}

async function load() {
  showError("");
  const dept = $("fill-dept").value;
  if (!$("fill-dept-label").hidden && !dept) { $("fill-forms").replaceChildren(); return; }
  const query = new URLSearchParams({ workbook: $("fill-book").value });
  if (dept) query.set("department", dept);
  const [status, form] = await call("GET", `/api/fill?${query}`);
  if (status !== 200) { showError(form.error); $("fill-forms").replaceChildren(); $("fill-submit-card").hidden = true; return; }
  render(form);
}

async function loadDepartments() {
  const [status, result] = await call("GET", `/api/fill/departments?${new URLSearchParams({ workbook: $("fill-book").value })}`);
  if (status !== 200) { showError(result.error); return; }
  const keep = $("fill-dept").value;
  $("fill-dept").replaceChildren(el("option", { value: "" }, "（请选择单位）"), ...result.departments.map((d) =>
    el("option", { value: d.department }, `${d.short}（${Object.values(d.states).join("、")}）`)));
  if (keep) $("fill-dept").value = keep;
}

async function start() {
  const [status, options] = await call("GET", "/api/fill/options");
  if (status !== 200) { showError(options.error); return; }
  if (!options.workbooks.length) { showError("工作文件夹中还没有本月的工作簿，请联系放管服办"); return; }
  $("fill-book").replaceChildren(...options.workbooks.map((n) => el("option", { value: n }, n)));
  $("fill-book").addEventListener("change", async () => { if (options.choose) await loadDepartments(); await load(); });
  $("fill-dept").addEventListener("change", load);
  $("fill-submit").addEventListener("click", submit);
  if (options.choose) await loadDepartments();
  else $("fill-dept").replaceChildren(el("option", { value: options.department }, options.department));  // its own: every call names it
  await load();
}

document.addEventListener("DOMContentLoaded", start);

// 通报工作台: what every page's script builds its elements with (loaded first). Text always goes in as text
// nodes, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

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

// What proves a request is the page's own: on one desk the launch token; with accounts the session cookie goes by
// itself and every change carries the CSRF token
function authHeaders() {
  const token = (document.querySelector('meta[name="bulletin-token"]') || {}).content || "";
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  return token ? { "X-Bulletin-Token": token } : { "X-CSRFToken": csrf };
}

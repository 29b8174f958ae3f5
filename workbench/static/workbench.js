// clause workbench: the page. Plain JavaScript, no build step, no library.
// The server does all the work (checking, evaluating, rendering); this file shows it.
"use strict";

const $ = (id) => document.getElementById(id);
const CHECK_DELAY = 300;
const EVALUATE_DELAY = 350;

const state = {
  workspace: null,
  contract: { path: null, hash: null, saved: "" },
  check: null,
  schema: null,
  schemaKey: null,
  scenario: { path: null, title: "", description: null, facts: {}, mode: "form" },
  evaluation: null,
  tests: { path: null, hash: null },
};

// ------------------------------------------------------------------ helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(method, url, body) {
  const options = { method, headers: { "X-Clause-Workbench": "1" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("application/json") ? await response.json() : await response.blob();
  return { status: response.status, ok: response.ok, data };
}

function debounce(fn, delay) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), delay);
  };
}

function setStatus(id, text, kind) {
  const node = $(id);
  node.textContent = text;
  node.className = "status" + (kind ? " " + kind : "");
}

// Save a file; a file changed on disk since it was opened is overwritten only if the user says so.
async function saveFile(path, text, baseHash) {
  let reply = await api("PUT", "/api/file", { path, text, base_hash: baseHash });
  if (reply.status === 409) {
    const what = reply.data.disk_hash ? "has changed on disk since it was opened" : "already exists";
    if (!window.confirm(`${path} ${what}. Overwrite it?`)) return null;
    reply = await api("PUT", "/api/file", { path, text, base_hash: baseHash, force: true });
  }
  if (!reply.ok) throw new Error(reply.data.error || "could not save");
  return reply.data.hash;
}

// ------------------------------------------------------------------ tabs

function showTab(name) {
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.classList.toggle("active", button.dataset.tab === name);
    button.setAttribute("aria-selected", button.dataset.tab === name);
  }
  for (const view of document.querySelectorAll(".view")) view.classList.toggle("active", view.dataset.view === name);
}

function showSub(name) {
  for (const button of document.querySelectorAll("[data-sub]")) button.classList.toggle("active", button.dataset.sub === name);
  $("results-view").hidden = name !== "results";
  $("memo-view").hidden = name !== "memo";
}

// ------------------------------------------------------------------ the editor

// The grammar's keywords and the engine's types, as /api/workspace reports them (the Pygments lexer's lists).
let KEYWORDS = new Set();
let TYPES = new Set();
const TOKEN = /(#[^\n]*)|("""[\s\S]*?(?:"""|$))|("(?:[^"\\\n]|\\.)*"?)|(\$[0-9][0-9,]*(?:\.[0-9]+)?|[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]+(?:[.,][0-9]+)*%?)|([A-Za-z_][A-Za-z0-9_]*)/g;

function tokens(text) {
  const out = [];
  for (const match of text.matchAll(TOKEN)) {
    let kind = null;
    if (match[1]) kind = "tok-comment";
    else if (match[2]) kind = "tok-text";
    else if (match[3]) kind = "tok-string";
    else if (match[4]) kind = "tok-number";
    else if (match[5]) {
      // `text` is a type, but `text """` opens a section's quoted text
      const opensText = match[5] === "text" && /^\s*"""/.test(text.slice(match.index + 4, match.index + 12));
      kind = TYPES.has(match[5]) && !opensText ? "tok-type" : KEYWORDS.has(match[5]) ? "tok-keyword" : null;
    }
    if (kind) out.push({ start: match.index, end: match.index + match[0].length, kind });
  }
  return out;
}

// Offsets in the editor's text of a 1-based line and column (columns count code points).
function lineStarts(text) {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  return starts;
}

function offsetOf(text, starts, line, column) {
  if (line < 1) return 0;
  if (line > starts.length) return text.length;
  const lineStart = starts[line - 1];
  const lineEnd = line < starts.length ? starts[line] - 1 : text.length;
  let offset = lineStart;
  for (let c = 1; c < column && offset < lineEnd; c++) offset += text.codePointAt(offset) > 0xffff ? 2 : 1;
  return offset;
}

function spanRange(text, starts, item) {
  const start = offsetOf(text, starts, item.line, item.column || 1);
  let end = item.end_line ? offsetOf(text, starts, item.end_line, item.end_column || 1) : start + 1;
  if (end <= start) end = Math.min(start + 1, text.length);
  return [start, end];
}

function renderHighlight() {
  const text = $("contract-text").value;
  const starts = lineStarts(text);
  const marks = [];  // [start, end, class]
  for (const token of tokens(text)) marks.push([token.start, token.end, token.kind]);
  const decorations = [];
  if (state.check && state.check.text === text) {
    const sourceMarks = state.check.source ? state.check.source.marks : [];
    for (const d of state.check.diagnostics) {
      if (!d.main || !d.line) continue;
      // A misquote's diagnostic covers the whole quote; underline the word that parts from the source.
      const misquote = sourceMarks.find((m) => !m.verified && m.line === d.line && m.column === d.column);
      const word = misquote && differingWord(text, spanRange(text, starts, misquote), misquote.differs);
      decorations.push([...(word || spanRange(text, starts, d)), "diag-error"]);
    }
    for (const mark of sourceMarks) {
      const [start, end] = spanRange(text, starts, mark);
      decorations.push([start, end, mark.verified ? "quote-verified" : "quote-misquoted"]);
    }
  }
  const bounds = new Set([0, text.length]);
  for (const [s, e] of marks.concat(decorations)) { bounds.add(s); bounds.add(e); }
  const cuts = [...bounds].sort((a, b) => a - b);
  const pre = $("highlight");
  const fragment = document.createDocumentFragment();
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [s, e] = [cuts[i], cuts[i + 1]];
    const classes = [];
    for (const [ms, me, kind] of marks) if (ms <= s && e <= me) { classes.push(kind); break; }
    for (const [ds, de, kind] of decorations) if (ds <= s && e <= de) classes.push(kind);
    const piece = text.slice(s, e);
    fragment.append(classes.length ? el("span", { class: classes.join(" ") }, piece) : document.createTextNode(piece));
  }
  fragment.append(document.createTextNode("\n"));  // a last empty line keeps its height
  pre.replaceChildren(fragment);
  const lines = starts.length;
  const errorLines = new Set((state.check && state.check.text === text ? state.check.diagnostics : [])
    .filter((d) => d.main && d.line).map((d) => d.line));
  const gutter = $("gutter");
  if (gutter.childElementCount !== lines || errorLines.size || gutter.dataset.errors) {
    const numbers = document.createDocumentFragment();
    for (let n = 1; n <= lines; n++) numbers.append(el("div", { class: errorLines.has(n) ? "error-line" : null }, n));
    gutter.replaceChildren(numbers);
    gutter.dataset.errors = errorLines.size ? "1" : "";
  }
  syncScroll();
}

// Where in a misquote's text (editor offsets) the word it misquotes is: its n-th whitespace-separated occurrence.
function differingWord(text, [start, end], differs) {
  if (!differs) return null;
  const body = text.slice(start, end).replace(/^"""|^"/, (open) => " ".repeat(open.length));
  let seen = 0;
  for (const match of body.matchAll(/\S+/g)) {
    if (match[0] !== differs.quoted && match[0] !== differs.quoted + '"""') continue;
    if (seen++ === differs.occurrence) return [start + match.index, start + match.index + differs.quoted.length];
  }
  return null;
}

function syncScroll() {
  const area = $("contract-text");
  $("highlight").scrollTop = area.scrollTop;
  $("highlight").scrollLeft = area.scrollLeft;
  $("gutter").scrollTop = area.scrollTop;
}

function lineHeight() {
  return parseFloat(getComputedStyle($("contract-text")).lineHeight) || 18;
}

// Put the caret on a span of the clause file and bring it into view.
function jumpTo(item) {
  showTab("contract");
  const area = $("contract-text");
  const text = area.value;
  const [start, end] = spanRange(text, lineStarts(text), item);
  area.focus({ preventScroll: true });
  area.setSelectionRange(start, end);
  area.scrollTop = Math.max(0, (item.line - 4) * lineHeight());
  syncScroll();
}

// ------------------------------------------------------------------ checking

const scheduleCheck = debounce(runCheck, CHECK_DELAY);

async function runCheck() {
  const path = state.contract.path;
  const text = $("contract-text").value;
  if (!path) return;
  const reply = await api("POST", "/api/check", { path, text });
  if (path !== state.contract.path || text !== $("contract-text").value) return;  // typed on: a newer check follows
  if (!reply.ok) { setStatus("contract-status", reply.data.error, "bad"); return; }
  state.check = { ...reply.data, text };
  renderHighlight();
  renderDiagnostics();
  renderSource();
  if ($("contract-pane").dataset.checked !== path) {  // just opened: show where the quotes are
    const first = document.querySelector("#source-doc mark");
    if (first) first.scrollIntoView({ block: "start" });
  }
  $("contract-pane").dataset.checked = path;
  if (reply.data.ok) {
    await refreshSchema();
    scheduleEvaluate();
  }
}

function renderDiagnostics() {
  const list = $("diagnostics");
  const diagnostics = state.check ? state.check.diagnostics : [];
  const summary = state.check && state.check.summary;
  if (!state.check) {
    list.replaceChildren(el("li", { class: "checking" }, "checking…"));
    $("diagnostic-count").textContent = "";
    $("check-summary").textContent = "";
    return;
  }
  $("diagnostic-count").textContent = diagnostics.length ? `${diagnostics.length}` : "";
  $("diagnostic-count").className = "count" + (diagnostics.length ? " bad" : "");
  $("check-summary").textContent = summary
    ? `checks: ${summary.sections} sections, ${summary.quotes} quotes verified, ${summary.facts} facts, ${summary.results} results`
    : diagnostics.length ? "does not check" : "";
  $("check-summary").className = "summary " + (summary ? "good" : "bad");
  list.replaceChildren(...diagnostics.map((d) => el("li", {
    class: "diagnostic " + d.severity, tabindex: "0", dataset: { line: d.line, column: d.column },
    onclick: () => d.main && d.line && jumpTo(d),
    onkeydown: (event) => { if (event.key === "Enter" && d.main && d.line) jumpTo(d); },
  },
  el("span", { class: "where" }, d.line ? `${d.main ? "" : d.file + ":"}${d.line}:${d.column}` : d.file),
  el("span", { class: "severity" }, d.severity),
  el("span", { class: "message" }, d.message),
  d.help ? el("div", { class: "help" }, "help: " + d.help) : null,
  d.extra.length ? el("pre", { class: "extra" }, d.extra.join("\n")) : null)));
  if (!diagnostics.length) list.append(el("li", { class: "clean" }, "No problems: every name, type, citation and quote checks."));
}

// "§ 1.2(a)", but "Exhibit A" and "Schedule I(d)" as the documents write them.
function citeLabel(citation) {
  return /^[0-9]/.test(citation) ? "§ " + citation : citation;
}

function renderSource() {
  const source = state.check && state.check.source;
  const doc = $("source-doc");
  const sectionsList = $("section-list");
  if (!source) {
    $("source-path").textContent = "";
    doc.replaceChildren(state.check ? el("p", { class: "empty" }, "This file names no source document.") : "");
    sectionsList.replaceChildren();
    return;
  }
  $("source-path").textContent = source.path;
  const pieces = source.segments.map((segment) => {
    if (!segment.marks.length) return document.createTextNode(segment.text.replace(/\n(?:[ \t]*\n){3,}/g, "\n\n\n"));
    const marks = segment.marks.map((i) => source.marks[i]);
    const bad = marks.some((m) => !m.verified);
    return el("mark", {
      class: "quote " + (bad ? "bad" : "ok") + (segment.differs ? " differs" : ""), dataset: { marks: segment.marks.join(" ") },
      title: marks.map((m) => `${citeLabel(m.citation)}: ` + (m.verified ? "verified quote" : m.message)).join("\n"),
      onclick: () => jumpTo(marks[0]),
    }, segment.text);
  });
  doc.replaceChildren(...pieces);
  sectionsList.replaceChildren(...source.sections.map((section) => {
    const quotes = section.quotes.map((i) => source.marks[i]);
    const bad = quotes.filter((q) => !q.verified).length;
    const shown = (quotes.find((q) => !q.verified) || quotes[0] || {}).index;  // a misquote is what to look at
    return el("li", { class: bad ? "bad" : "" },
      el("a", { href: "#", onclick: (event) => { event.preventDefault(); jumpTo({ line: section.line, column: 1 }); showQuote(shown); } },
        citeLabel(section.citation)),
      " ", section.title || "",
      el("span", { class: "quote-count" }, quotes.length
        ? (bad ? `${bad} misquoted of ${quotes.length}` : `${quotes.length} verified`) : "no quote"));
  }));
}

function showQuote(index) {
  if (index === undefined) return;
  const marks = [...document.querySelectorAll("#source-doc mark")]
    .filter((m) => m.dataset.marks.split(" ").includes(String(index)));
  for (const m of document.querySelectorAll("#source-doc mark.current")) m.classList.remove("current");
  for (const m of marks) m.classList.add("current");
  if (marks.length) marks[0].scrollIntoView({ block: "center" });
}

// The caret inside a quoted text block shows its passage in the source document.
function followCaret() {
  const source = state.check && state.check.source;
  if (!source || state.check.text !== $("contract-text").value) return;
  const area = $("contract-text");
  const starts = lineStarts(area.value);
  const caret = area.selectionStart;
  for (const mark of source.marks) {
    const [start, end] = spanRange(area.value, starts, mark);
    if (start <= caret && caret <= end) { showQuote(mark.index); return; }
  }
}

// ------------------------------------------------------------------ the contract

async function openContract(path, keepScenario) {
  if (isDirty() && !window.confirm(`${state.contract.path} has unsaved changes. Discard them?`)) {
    $("contract-select").value = state.contract.path;
    return;
  }
  const reply = await api("GET", "/api/file?path=" + encodeURIComponent(path));
  if (!reply.ok) { setStatus("contract-status", reply.data.error, "bad"); return; }
  state.contract = { path, hash: reply.data.hash, saved: reply.data.text };
  state.check = null;
  state.schema = null;
  state.schemaKey = null;
  $("contract-select").value = path;
  $("contract-path").textContent = path;
  $("contract-text").value = reply.data.text;
  $("contract-text").scrollTop = 0;
  delete $("contract-pane").dataset.checked;
  updateDirty();
  renderHighlight();
  renderDiagnostics();
  renderSource();
  renderExamples();
  renderTestChoices();
  if (!keepScenario) newScenario();
  await runCheck();
}

function isDirty() {
  return state.contract.path !== null && $("contract-text").value !== state.contract.saved;
}

function updateDirty() {
  const dirty = isDirty();
  $("save-contract").disabled = !dirty;
  setStatus("contract-status", dirty ? "unsaved changes" : state.contract.path ? "saved" : "", dirty ? "warn" : "");
}

async function saveContract() {
  const text = $("contract-text").value;
  try {
    const hash = await saveFile(state.contract.path, text, state.contract.hash);
    if (hash === null) return;
    state.contract.hash = hash;
    state.contract.saved = text;
    updateDirty();
  } catch (error) {
    setStatus("contract-status", error.message, "bad");
  }
}

// ------------------------------------------------------------------ the scenario form

async function refreshSchema() {
  const key = state.check.text;
  if (state.schemaKey === key) return;
  const reply = await api("POST", "/api/schema", { path: state.contract.path, text: key });
  if (!reply.ok) return;
  const facts = reply.data.properties.facts.properties || {};
  const signature = JSON.stringify(facts);
  state.schemaKey = key;
  if (state.schema && JSON.stringify(state.schema) === signature) return;  // same facts: keep the form as it is
  state.schema = facts;
  renderForm();
}

function kindOf(schema) {
  return (schema && schema["x-clause"]) || { kind: "text" };
}

const PLACEHOLDERS = {
  money: "$1,000.00", decimal: "2.83849", integer: "1,000", percent: "4.2%", date: "2003-06-27",
  datetime: "2003-06-18T20:00:00-04:00", duration: "days", text: "",
};

// An input for one value; `get` and `set` read and write it in the scenario's facts.
function valueInput(kind, value, onChange, label, fallback, required) {
  if (kind.kind === "boolean" || kind.kind === "enum") {
    const options = kind.kind === "boolean" ? ["true", "false"] : kind.members;
    const select = el("select", { "aria-label": label, onchange: () => onChange(select.value === "" ? undefined
      : kind.kind === "boolean" ? select.value === "true" : select.value) },
    el("option", { value: "" }, required ? "— choose —" : fallback === undefined ? "— unknown —" : `— default: ${fallback} —`),
    options.map((o) => el("option", { value: o }, o)));
    select.value = value === undefined || value === null ? "" : String(value);
    return select;
  }
  const input = el("input", {
    type: kind.kind === "date" ? "date" : "text", "aria-label": label,
    placeholder: required ? (PLACEHOLDERS[kind.kind] ? "e.g. " + PLACEHOLDERS[kind.kind] : "")
      : fallback === undefined ? `unknown${PLACEHOLDERS[kind.kind] ? " — e.g. " + PLACEHOLDERS[kind.kind] : ""}` : `default: ${fallback}`,
    class: "kind-" + kind.kind, inputmode: ["money", "decimal", "integer", "percent", "duration"].includes(kind.kind) ? "decimal" : null,
    oninput: () => onChange(input.value.trim() === "" ? undefined : input.value.trim()),
  });
  input.value = value === undefined || value === null ? "" : String(value);
  return input;
}

function recordInputs(kind, record, onChange, label) {
  return kind.fields.map((field) => el("label", { class: "field" }, el("span", {}, field.name),
    valueInput(field, record[field.name], (v) => {
      if (v === undefined) delete record[field.name]; else record[field.name] = v;
      onChange();
    }, `${label} ${field.name}`, undefined, true)));  // a record's fields are all required: no "unknown"
}

function listEditor(name, kind, schema) {
  const items = Array.isArray(state.scenario.facts[name]) ? state.scenario.facts[name] : [];
  const element = kind.items;
  const wrap = el("div", { class: "list-editor" });
  const commit = () => { state.scenario.facts[name] = items; formChanged(); };
  const draw = () => {
    const rows = items.map((item, index) => el("div", { class: "list-row" },
      el("span", { class: "index" }, `${index + 1}.`),
      element.kind === "record"
        ? recordInputs(element, item, commit, `${name} ${index + 1}`)
        : valueInput(element, item, (v) => { items[index] = v === undefined ? "" : v; commit(); }, `${name} ${index + 1}`),
      el("button", { type: "button", class: "remove", title: "remove", "aria-label": `remove ${name} ${index + 1}`,
        onclick: () => { items.splice(index, 1); commit(); draw(); } }, "×")));
    wrap.replaceChildren(...rows, el("button", { type: "button", class: "add",
      onclick: () => { items.push(element.kind === "record" ? {} : ""); commit(); draw(); } },
    `+ add ${element.kind === "record" ? element.record : "item"}`),
    ...(name in state.scenario.facts ? [el("button", { type: "button", class: "clear",
      onclick: () => { delete state.scenario.facts[name]; items.length = 0; formChanged(); draw(); } }, "leave unknown")] : []));
  };
  draw();
  return wrap;
}

// The schema titles enum facts by their type's name (FractionSettlement); the fact's own name reads better.
function factLabel(name, schema) {
  const title = schema.title || "";
  if (title.includes(" ") || !name.includes("_")) return title || name;
  const words = name.replace(/_/g, " ");
  return words[0].toUpperCase() + words.slice(1);
}

function renderForm() {
  const form = $("fact-form");
  const facts = state.schema || {};
  const rows = Object.entries(facts).map(([name, schema]) => {
    const kind = kindOf(schema);
    const given = name in state.scenario.facts;
    const value = state.scenario.facts[name];
    const hasDefault = "default" in schema;
    const shownDefault = !hasDefault ? undefined : schema.default === null ? "none"
      : typeof schema.default === "string" ? schema.default : JSON.stringify(schema.default);
    const stateLabel = el("span", { class: "fact-state", dataset: { fact: name } });
    const setState = () => {
      const isGiven = name in state.scenario.facts;
      const isNone = state.scenario.facts[name] === null;
      stateLabel.textContent = isNone ? "none" : isGiven ? "given" : hasDefault ? `default: ${shownDefault}` : "unknown";
      stateLabel.className = "fact-state " + (isNone ? "none" : isGiven ? "given" : hasDefault ? "default" : "unknown");
      row.classList.toggle("is-unknown", !isGiven && !hasDefault);
    };
    const onChange = (v) => {
      if (v === undefined) delete state.scenario.facts[name]; else state.scenario.facts[name] = v;
      setState();
      formChanged();
    };
    let control;
    if (kind.kind === "list") control = listEditor(name, kind, schema);
    else if (kind.kind === "record") {
      const record = value && typeof value === "object" ? value : {};
      control = el("div", { class: "record-editor" }, recordInputs(kind, record, () => {
        state.scenario.facts[name] = record; setState(); formChanged();
      }, name));
    } else control = valueInput(kind, value === null ? undefined : value, onChange, name, shownDefault);
    const noneBox = kind.nullable ? el("label", { class: "none-box" },
      el("input", { type: "checkbox", "aria-label": `${name} is none`, checked: value === null,
        onchange: (event) => { onChange(event.target.checked ? null : undefined); if (control.value !== undefined) control.value = ""; } }),
      "none") : null;
    const row = el("div", { class: "fact" + (given ? "" : " is-unknown"), dataset: { fact: name } },
      el("div", { class: "fact-label" },
        el("label", { class: "fact-title", for: `fact-${name}` }, factLabel(name, schema)),
        el("code", {}, name), el("span", { class: "kind" }, kind.kind === "list" ? `list of ${kind.items.record || kind.items.kind}` : kind.kind), stateLabel),
      schema.description ? el("div", { class: "fact-description" }, schema.description) : null,
      el("div", { class: "fact-control" }, control, noneBox));
    if (control.tagName) control.id = `fact-${name}`;
    setState();
    return row;
  });
  form.replaceChildren(...rows);
  if (!rows.length) form.append(el("p", { class: "empty" }, "This contract declares no facts."));
}

function formChanged() {
  state.scenario.pristine = false;
  $("scenario-yaml").value = scenarioYaml();
  scheduleEvaluate();
}

// ------------------------------------------------------------------ scenario YAML

const PLAIN = /^-?[0-9]+$|^[0-9]{4}-[0-9]{2}-[0-9]{2}$|^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2})$/;

function yamlScalar(value) {
  if (value === null) return "null";
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  const text = String(value);
  return PLAIN.test(text) ? text : JSON.stringify(text);
}

function yamlLines(value, indent) {
  const pad = " ".repeat(indent);
  const lines = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item && typeof item === "object" && Object.keys(item).length) {
        const inner = yamlLines(item, indent + 2);
        lines.push(pad + "- " + inner[0].trimStart(), ...inner.slice(1));
      } else lines.push(pad + "- " + (item && typeof item === "object" ? "{}" : yamlScalar(item)));
    }
  } else {
    for (const [key, item] of Object.entries(value)) {
      if (item && typeof item === "object" && (Array.isArray(item) ? item.length : Object.keys(item).length)) {
        lines.push(`${pad}${key}:`, ...yamlLines(item, indent + 2));
      } else if (item && typeof item === "object") lines.push(`${pad}${key}: ${Array.isArray(item) ? "[]" : "{}"}`);
      else lines.push(`${pad}${key}: ${yamlScalar(item)}`);
    }
  }
  return lines;
}

function scenarioYaml() {
  const lines = [];
  const title = $("scenario-title").value.trim();
  if (title) lines.push("title: " + JSON.stringify(title));
  if (state.scenario.description) lines.push("description: " + JSON.stringify(state.scenario.description));
  const other = state.scenario.other || {};
  if (Object.keys(other).length) lines.push(...yamlLines(other, 0));
  const facts = state.scenario.facts;
  if (Object.keys(facts).length) lines.push("facts:", ...yamlLines(facts, 2));
  else lines.push("facts: {}");
  return lines.join("\n") + "\n";
}

// The scenario as YAML: the file's own text until the form changes it (comments and spelling kept).
function currentScenarioText() {
  return state.scenario.mode === "yaml" || state.scenario.pristine ? $("scenario-yaml").value : scenarioYaml();
}

async function loadScenarioText(text, path) {
  const reply = await api("POST", "/api/scenario/parse", { text, path });
  if (!reply.ok || !reply.data.ok) {
    state.scenario.mode = "yaml";
    setMode("yaml");
    $("scenario-yaml").value = text;
    renderScenarioProblems(reply.data.diagnostics || [{ message: reply.data.error || "not a scenario", line: 0 }]);
    return false;
  }
  state.scenario.path = path || null;
  state.scenario.hash = null;
  state.scenario.facts = reply.data.facts || {};
  state.scenario.description = reply.data.description || null;
  state.scenario.other = reply.data.other || {};
  $("scenario-title").value = reply.data.title || "";
  $("scenario-path").textContent = path || "(new)";
  $("scenario-yaml").value = text;
  state.scenario.pristine = true;
  renderScenarioProblems([]);
  renderForm();
  scheduleEvaluate();
  return true;
}

async function openScenario(path) {
  const reply = await api("GET", "/api/file?path=" + encodeURIComponent(path));
  if (!reply.ok) { setStatus("scenario-status", reply.data.error, "bad"); return; }
  $("scenario-save-path").value = path;
  await loadScenarioText(reply.data.text, path);
  state.scenario.hash = reply.data.hash;  // saving back over it checks the file did not change meanwhile
  for (const button of document.querySelectorAll("#example-list button")) button.classList.toggle("active", button.dataset.path === path);
}

function newScenario() {
  state.scenario.path = null;
  state.scenario.facts = {};
  state.scenario.description = null;
  state.scenario.other = {};
  state.scenario.pristine = false;
  $("scenario-title").value = "";
  $("scenario-path").textContent = "(new)";
  $("scenario-save-path").value = "";  // never the last file's name: saving a new scenario names its own file
  $("scenario-status").textContent = "";
  $("scenario-yaml").value = scenarioYaml();
  for (const button of document.querySelectorAll("#example-list button")) button.classList.remove("active");
  renderScenarioProblems([]);
  renderForm();
  scheduleEvaluate();
}

function renderExamples() {
  const examples = (state.workspace.scenarios[state.contract.path] || []);
  $("example-list").replaceChildren(...examples.map((path) => el("button", {
    type: "button", class: "example", dataset: { path }, onclick: () => openScenario(path),
  }, path.split("/").pop().replace(/\.(ya?ml|json)$/, ""))));
  if (!examples.length) $("example-list").append(el("span", { class: "empty" }, "none for this contract"));
  const dir = examples.length ? examples[0].replace(/[^/]*$/, "") : "";
  $("scenario-save-path").placeholder = dir + "my_scenario.yaml";
  $("case-file").placeholder = dir + "workbench.test.yaml";
}

function setMode(mode) {
  $("mode-form").classList.toggle("active", mode === "form");
  $("mode-yaml").classList.toggle("active", mode === "yaml");
  $("fact-form").hidden = mode !== "form";
  $("scenario-yaml").hidden = mode !== "yaml";
}

async function switchMode(mode) {
  if (mode === state.scenario.mode) return;
  if (mode === "form") {
    const text = $("scenario-yaml").value;
    state.scenario.mode = "form";
    if (!(await loadScenarioText(text, state.scenario.path))) return;
  } else {
    if (!state.scenario.pristine) $("scenario-yaml").value = scenarioYaml();
    state.scenario.mode = "yaml";
  }
  setMode(mode);
}

function renderScenarioProblems(diagnostics) {
  $("scenario-problems").replaceChildren(...diagnostics.map((d) => el("div", { class: "problem" },
    d.line ? el("span", { class: "where" }, `line ${d.line}:${d.column} `) : null, d.message,
    d.help ? el("span", { class: "help" }, ` — ${d.help}`) : null)));
}

async function saveScenario() {
  const path = $("scenario-save-path").value.trim() || $("scenario-save-path").placeholder;
  const text = currentScenarioText();
  const base = state.scenario.path === path ? state.scenario.hash || null : null;
  try {
    const hash = await saveFile(path, text, base);
    if (hash === null) return;
    state.scenario.path = path;
    state.scenario.hash = hash;
    $("scenario-path").textContent = path;
    $("scenario-save-path").value = path;
    setStatus("scenario-status", `saved ${path}`, "good");
  } catch (error) {
    setStatus("scenario-status", error.message, "bad");
  }
}

// ------------------------------------------------------------------ evaluating

const scheduleEvaluate = debounce(runEvaluate, EVALUATE_DELAY);

async function runEvaluate() {
  if (!state.check || !state.check.ok || !state.contract.path) {
    renderResults(null);
    return;
  }
  const scenario = currentScenarioText();
  const text = state.check.text;
  const reply = await api("POST", "/api/evaluate", {
    path: state.contract.path, text, scenario, scenario_path: state.scenario.path,
  });
  if (scenario !== currentScenarioText()) return;
  if (!reply.ok) { renderResults({ error: reply.data.error }); return; }
  if (!reply.data.ok) {
    renderScenarioProblems(reply.data.diagnostics);
    renderResults({ error: "The scenario has problems: see the scenario pane." });
    $("memo-frame").srcdoc = "";  // never the memo of the scenario as it was before
    setStatus("memo-status", "no memo: the scenario has problems (see the scenario pane)", "bad");
    return;
  }
  renderScenarioProblems([]);
  state.evaluation = reply.data;
  renderResults(reply.data);
  if (!$("memo-view").hidden) previewMemo();  // the memo on show follows the scenario
  else $("memo-frame").srcdoc = "";
}

// Exact quotients can run to 40 digits: shown to 10 decimal places with an ellipsis, whole in the tooltip.
function shorten(text) {
  return String(text).replace(/(\d+\.\d{10})\d{3,}/g, "$1…");
}

function valueText(value) {
  if (value === null || value === undefined) return "none";
  if (typeof value === "object") return shorten(JSON.stringify(value));
  return shorten(value);
}

function renderResults(evaluation) {
  const body = $("results");
  const notes = $("result-notes");
  if (!evaluation || evaluation.error) {
    body.replaceChildren();
    notes.replaceChildren(el("p", { class: "empty" }, evaluation ? evaluation.error : "The contract does not check yet."));
    return;
  }
  const unknown = evaluation.unknown.length ? [el("details", { class: "unknown-facts" },
    el("summary", {}, `${evaluation.unknown.length} fact${evaluation.unknown.length > 1 ? "s" : ""} unknown (not given, no default)`),
    evaluation.unknown.map((f, i) => [i ? ", " : "", el("code", {}, f)]))] : [];
  notes.replaceChildren(...evaluation.notes.map((n) => el("p", { class: "note" }, "note: " + n)), ...unknown);
  const rows = [];
  for (const result of evaluation.results) {
    let value;
    if (result.error) value = el("span", { class: "error" }, "error: " + result.error);
    else if (result.missing.length) {
      value = el("span", { class: "undetermined" }, "undetermined — needs ",
        result.missing.map((m, i) => [i ? ", " : "", el("a", { href: "#", class: "fact-link", title: "give this fact",
          onclick: (event) => { event.preventDefault(); focusFact(m); } }, el("code", {}, m))]));
    } else {
      value = el("span", { class: "value", title: JSON.stringify(result.value) }, shorten(result.display));
    }
    const cites = result.cites.map((c) => el("a", { href: "#", class: "cite",
      onclick: (event) => { event.preventDefault(); citeJump(c); } }, citeLabel(c)));
    const traceRow = el("tr", { class: "trace-row", hidden: true }, el("td", { colspan: "3" }));
    const toggle = el("button", { type: "button", class: "trace-toggle", "aria-expanded": "false",
      title: "show how it was computed", onclick: () => {
        const open = traceRow.hidden;
        traceRow.hidden = !open;
        toggle.setAttribute("aria-expanded", String(open));
        toggle.textContent = open ? "▾" : "▸";
        if (open && !traceRow.firstChild.firstChild) traceRow.firstChild.append(traceTree(result.name, new Set()));
      } }, "▸");
    rows.push(el("tr", { class: "result", dataset: { result: result.name } },
      el("td", {}, toggle, " ", el("code", { class: "name" }, result.name),
        result.description ? el("div", { class: "description" }, result.description) : null),
      el("td", {}, value, result.readings.length ? el("div", { class: "readings" }, "readings: ",
        result.readings.map((r, i) => [i ? ", " : "", el("code", {}, r)])) : null),
      el("td", {}, cites)), traceRow);
  }
  body.replaceChildren(...rows);
}

// A fact a result waits for: its field in the form, ready to type into.
async function focusFact(name) {
  if (state.scenario.mode !== "form") await switchMode("form");
  const row = document.querySelector(`.fact[data-fact="${CSS.escape(name)}"]`);
  if (!row) return;
  row.scrollIntoView({ block: "center" });
  row.classList.add("flash");
  setTimeout(() => row.classList.remove("flash"), 1200);
  const field = row.querySelector("input, select");
  if (field) field.focus({ preventScroll: true });
}

function citeJump(citation) {
  const sections = state.check && state.check.source ? state.check.source.sections : [];
  const section = sections.find((s) => s.citation === citation);
  if (!section) return;
  const marks = section.quotes.map((i) => state.check.source.marks[i]);
  jumpTo({ line: section.line, column: 1 });
  showQuote((marks.find((m) => !m.verified) || marks[0] || {}).index);
}

// The trace of one rule as a tree: its steps, and the rules it read (opened on demand).
function traceTree(name, seen) {
  const trace = state.evaluation && state.evaluation.trace[name];
  if (!trace) return el("div", { class: "trace-empty" }, "no trace");
  const root = el("div", { class: "trace" });
  const reads = Object.entries(trace.reads || {});
  if (reads.length) {
    root.append(el("div", { class: "reads" }, "reads: ", reads.map(([read, value], i) => {
      const isRule = read in state.evaluation.trace && !seen.has(read);
      return [i ? ", " : "", isRule ? el("details", { class: "read" },
        el("summary", {}, el("code", {}, read), " = ", valueText(value)),
        el("div", { class: "lazy", dataset: { rule: read } }))
        : el("span", {}, el("code", {}, read), " = ", valueText(value))];
    })));
    for (const details of root.querySelectorAll("details.read")) {
      details.addEventListener("toggle", () => {
        const holder = details.querySelector(".lazy");
        if (details.open && !holder.firstChild) holder.append(traceTree(holder.dataset.rule, new Set([...seen, name])));
      }, { once: false });
    }
  }
  if (trace.steps) root.append(stepNode(trace.steps, 0));
  return root;
}

function stepNode(step, depth) {
  const label = [
    step.label ? el("span", { class: "label" }, step.label + ": ") : null,
    el("code", { class: "expr", title: step.at }, step.expr),
    " = ",
    el("span", { class: step.missing ? "undetermined" : step.error ? "error" : "value" },
      step.missing ? `undetermined (needs ${step.missing.join(", ")})` : step.error ? step.error : valueText(step.value)),
  ];
  if (!step.steps || !step.steps.length) return el("div", { class: "step leaf" }, label);
  return el("details", { class: "step", open: depth < 2 }, el("summary", {}, label),
    step.steps.map((child) => stepNode(child, depth + 1)));
}

// ------------------------------------------------------------------ the memo

async function previewMemo() {
  setStatus("memo-status", "rendering…", "");
  const scenario = currentScenarioText();
  const reply = await api("POST", "/api/memo", {
    path: state.contract.path, text: $("contract-text").value, scenario,
    scenario_path: state.scenario.path, format: "html", preview: true,
  });
  if (scenario !== currentScenarioText()) return;  // changed meanwhile: the next preview follows
  if (!reply.ok) { setStatus("memo-status", reply.data.error || "no memo", "bad"); return; }
  $("memo-frame").srcdoc = reply.data.html;
  setStatus("memo-status", "", "");
}

async function downloadMemo(format) {
  const reply = await api("POST", "/api/memo", {
    path: state.contract.path, text: $("contract-text").value, scenario: currentScenarioText(),
    scenario_path: state.scenario.path, format,
  });
  if (!reply.ok) { setStatus("memo-status", reply.data.error || "no memo", "bad"); return; }
  const stem = (state.scenario.path || "memo").split("/").pop().replace(/\.[^.]*$/, "");
  const link = el("a", { href: URL.createObjectURL(reply.data), download: `${stem}.${format}` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

// ------------------------------------------------------------------ tests

function renderTestChoices() {
  const tests = state.workspace.tests[state.contract.path] || [];
  const select = $("test-select");
  select.replaceChildren(el("option", { value: "" }, tests.length ? "— choose —" : "none for this contract"),
    ...tests.map((t) => el("option", { value: t }, t)));
  if (tests.length) { select.value = tests[0]; openTests(tests[0]); }
  else { state.tests = { path: null, hash: null }; $("test-text").value = ""; $("test-path").textContent = ""; }
}

async function openTests(path) {
  if (!path) return;
  const reply = await api("GET", "/api/file?path=" + encodeURIComponent(path));
  if (!reply.ok) { setStatus("test-status", reply.data.error, "bad"); return; }
  state.tests = { path, hash: reply.data.hash };
  $("test-text").value = reply.data.text;
  $("test-text").scrollTop = 0;
  $("test-path").textContent = path;
  $("case-file").value = path;
  $("test-results").replaceChildren();
  $("test-summary").textContent = "";
  setStatus("test-status", "", "");
}

async function runTests() {
  if (!state.tests.path) return;
  setStatus("test-status", "running…", "");
  const contracts = {};
  if (state.contract.path) contracts[state.contract.path] = $("contract-text").value;
  const reply = await api("POST", "/api/tests/run", { path: state.tests.path, text: $("test-text").value, contracts });
  if (!reply.ok) { setStatus("test-status", reply.data.error, "bad"); return; }
  const data = reply.data;
  const items = data.diagnostics.map((d) => el("li", { class: "case error" },
    el("span", { class: "verdict" }, "ERROR"), el("pre", {}, d.rendered)));
  for (const c of data.cases) {
    const failing = c.lines.length ? /\.(?:ya?ml|json):(\d+)/.exec(c.lines[0]) : null;  // the expectation that failed
    items.push(el("li", { class: "case " + (c.passed ? "pass" : "fail"),
      title: failing ? "show the failing expectation in the test file" : "show this case in the test file",
      onclick: () => showTestLine(failing ? Number(failing[1]) : c.line) },
      el("span", { class: "verdict" }, c.passed ? "PASS" : "FAIL"), " ", el("span", { class: "title" }, c.title),
      el("span", { class: "line" }, ` line ${c.line}`),
      c.lines.length ? el("pre", { class: "failure" }, c.lines.join("\n")) : null));
  }
  $("test-results").replaceChildren(...items);
  const summary = data.ok ? `${data.passed} passed, ${data.failed} failed` : "could not run";
  $("test-summary").textContent = summary;
  $("test-summary").className = "summary " + (data.ok && !data.failed ? "good" : "bad");
  setStatus("test-status", summary, data.ok && !data.failed ? "good" : "bad");
}

function showTestLine(line) {
  const area = $("test-text");
  const starts = lineStarts(area.value);
  const start = starts[Math.min(line, starts.length) - 1] || 0;
  const end = line < starts.length ? starts[line] - 1 : area.value.length;
  area.focus({ preventScroll: true });
  area.setSelectionRange(start, end);
  area.scrollTop = Math.max(0, (line - 4) * (parseFloat(getComputedStyle(area).lineHeight) || 19));
}

async function saveTests() {
  if (!state.tests.path) return;
  try {
    const hash = await saveFile(state.tests.path, $("test-text").value, state.tests.hash);
    if (hash === null) return;
    state.tests.hash = hash;
    setStatus("test-status", `saved ${state.tests.path}`, "good");
  } catch (error) {
    setStatus("test-status", error.message, "bad");
  }
}

async function addCase() {
  if (!state.evaluation) { setStatus("test-status", "evaluate a scenario first", "bad"); return; }
  const path = $("case-file").value.trim() || $("case-file").placeholder;
  const title = $("case-title").value.trim() || $("scenario-title").value.trim() || "a scenario from the workbench";
  const body = {
    path, contract: state.contract.path, title, scenario: currentScenarioText(), expect: state.evaluation.expect,
    base_hash: path === state.tests.path ? state.tests.hash : null,
  };
  let reply = await api("POST", "/api/tests/add", body);
  if (reply.status === 409) {
    const question = body.base_hash ? `${path} has changed on disk since it was opened. Add the case anyway?`
      : `${path} already exists. Add the case to it?`;
    if (!window.confirm(question)) return;
    reply = await api("POST", "/api/tests/add", { ...body, force: true });
  }
  if (!reply.ok) { setStatus("test-status", reply.data.error, "bad"); return; }
  if (!state.workspace.tests[state.contract.path].includes(path)) {
    state.workspace.tests[state.contract.path].push(path);
    $("test-select").append(el("option", { value: path }, path));
  }
  $("test-select").value = path;
  state.tests = { path, hash: reply.data.hash };
  $("test-text").value = reply.data.text;
  $("test-path").textContent = path;
  setStatus("test-status", `added “${title}” to ${path}`, "good");
  await runTests();
}

// ------------------------------------------------------------------ sharing

function shareLink() {
  const params = new URLSearchParams();
  params.set("contract", state.contract.path);
  params.set("scenario", currentScenarioText());
  if (state.scenario.path) params.set("scenario_path", state.scenario.path);
  const tab = document.querySelector("[data-tab].active");
  if (tab) params.set("tab", tab.dataset.tab);
  if (!$("memo-view").hidden) params.set("view", "memo");
  const url = location.origin + location.pathname + "#" + params.toString();
  history.replaceState(null, "", url);
  const field = $("share-url");
  field.hidden = false;
  field.value = url;
  field.select();
  if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
}

async function restoreFromFragment() {
  if (!location.hash.length) return false;
  const params = new URLSearchParams(location.hash.slice(1));
  const contract = params.get("contract");
  if (!contract || !state.workspace.contracts.includes(contract)) return false;
  await openContract(contract, true);
  const scenario = params.get("scenario");
  if (scenario !== null) {
    await loadScenarioText(scenario, params.get("scenario_path"));
    $("scenario-save-path").value = params.get("scenario_path") || "";
  } else newScenario();
  showTab(params.get("tab") || "scenario");
  if (params.get("view") === "memo") showSub("memo");  // the evaluation that follows previews it
  return true;
}

// ------------------------------------------------------------------ start

async function start() {
  const reply = await api("GET", "/api/workspace");
  state.workspace = reply.data;
  KEYWORDS = new Set(reply.data.syntax.keywords);
  TYPES = new Set(reply.data.syntax.types);
  $("contract-select").replaceChildren(...reply.data.contracts.map((c) => el("option", { value: c }, c)));
  $("memo-downloads").replaceChildren(...reply.data.memo_formats.map((f) => el("button", {
    type: "button", class: "download", dataset: { format: f }, onclick: () => downloadMemo(f),
  }, f.toUpperCase())));

  for (const button of document.querySelectorAll("[data-tab]")) button.addEventListener("click", () => showTab(button.dataset.tab));
  for (const button of document.querySelectorAll("[data-sub]")) button.addEventListener("click", () => showSub(button.dataset.sub));
  $("contract-select").addEventListener("change", (event) => openContract(event.target.value));
  const area = $("contract-text");
  area.addEventListener("input", () => { renderHighlight(); updateDirty(); scheduleCheck(); });
  area.addEventListener("scroll", syncScroll);
  area.addEventListener("click", followCaret);
  area.addEventListener("keyup", (event) => { if (event.key.startsWith("Arrow")) followCaret(); });
  area.addEventListener("keydown", (event) => {
    if (event.key === "Tab" && !event.shiftKey && !event.ctrlKey) {  // two spaces, as the shipped files indent
      event.preventDefault();
      document.execCommand("insertText", false, "  ");
    }
    if ((event.ctrlKey || event.metaKey) && event.key === "s") { event.preventDefault(); if (isDirty()) saveContract(); }
  });
  $("save-contract").addEventListener("click", saveContract);
  $("mode-form").addEventListener("click", () => switchMode("form"));
  $("mode-yaml").addEventListener("click", () => switchMode("yaml"));
  $("scenario-yaml").addEventListener("input", () => { state.scenario.pristine = false; scheduleEvaluate(); });
  $("scenario-title").addEventListener("input", formChanged);
  $("new-scenario").addEventListener("click", newScenario);
  $("save-scenario").addEventListener("click", saveScenario);
  $("memo-preview").addEventListener("click", previewMemo);
  $("sub-memo").addEventListener("click", previewMemo);
  $("test-select").addEventListener("change", (event) => openTests(event.target.value));
  $("run-tests").addEventListener("click", runTests);
  $("save-tests").addEventListener("click", saveTests);
  $("add-case").addEventListener("click", addCase);
  $("share").addEventListener("click", shareLink);
  window.addEventListener("beforeunload", (event) => { if (isDirty()) event.preventDefault(); });

  document.title = `clause workbench — ${reply.data.root}`;
  if (!reply.data.contracts.length) {
    $("diagnostics").replaceChildren(el("li", { class: "checking" },
      `No clause file in ${reply.data.root}: serve the folder that holds your contracts (clause serve PATH).`));
  }
  if (!(await restoreFromFragment()) && reply.data.initial) await openContract(reply.data.initial);
  document.body.dataset.ready = "true";
}

start();

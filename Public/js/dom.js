// DOM building blocks. Every API value reaches the page as a text node or an attribute
// set with setAttribute: nothing is ever parsed as HTML, and nothing sets a style attribute
// (the CSP forbids inline styles; looks come from classes in app.css).

import { formatDateTime, formatInt, formatRelative, parseDate } from "./format.js";

const SVG_NS = "http://www.w3.org/2000/svg";
let nextId = 0;
export const uid = (prefix = "id") => `${prefix}-${++nextId}`;

export const $ = (id) => document.getElementById(id);

/** The Tenantry mark and name (in the sidebar, and on the sign-in and sign-up cards). */
export const brand = () => [h("span", { class: "brand-mark", "aria-hidden": "true" }, "T"), h("span", null, "Tenantry")];

function setProps(el, props) {
  if (!props) return;
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "style") throw new Error("inline styles are not allowed (CSP); use a class");
    if (key === "class") {
      const names = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
      if (names) el.setAttribute("class", names);
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (typeof value === "boolean") {
      if (key in el) el[key] = value;
      else el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === "") continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** h("p", {class: "muted"}, "text", otherNode, [more]) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

/** An SVG element, attributes set one by one (SVG presentation attributes are not CSS). */
export function svg(tag, attributes, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null) continue;
    if (key === "style") throw new Error("inline styles are not allowed (CSP)");
    el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export const text = (value) => document.createTextNode(String(value ?? ""));

export function link(href, label, props = {}) {
  return h("a", { href, ...props }, label);
}

export function code(value, props = {}) {
  return h("code", { ...props, class: ["mono", props.class] }, value);
}

/** A long id shortened for tables (tnt_3if6hm6c…), the whole id in its tooltip and data-id. */
export function shortId(id, props = {}) {
  const value = String(id ?? "");
  const shown = value.length > 16 ? `${value.slice(0, 12)}…` : value;
  return h("code", { ...props, class: ["mono", "id", props.class], title: value, "data-id": value }, shown);
}

/** <time> in local time, with the exact instant in datetime= and a tooltip. */
export function time(value, { relative = false } = {}) {
  const date = parseDate(value);
  if (!date) return h("span", { class: "muted" }, "—");
  const iso = date.toISOString();
  const el = h("time", { datetime: iso, title: `${iso} (UTC)` }, formatDateTime(date));
  if (!relative) return el;
  return h("span", { class: "when" }, el, h("span", { class: "muted small" }, formatRelative(date)));
}

export function int(value, props = {}) {
  return h("span", { ...props, class: ["num", props.class], "data-value": String(value ?? "0") }, formatInt(value));
}

const TONES = {
  TRIALING: "info", ACTIVE: "ok", PAST_DUE: "warn", CANCELED: "muted", EXPIRED: "muted", NO_SUBSCRIPTION: "muted",
  open: "warn", paid: "ok", void: "muted",
  ok: "ok", failed: "danger", never: "muted",
  queued: "info", sent: "ok",
  DISABLED: "danger", UNINITIALIZED: "muted", INVITED: "info",
  owner: "accent", admin: "info", member: "muted",
  plan: "muted", trial: "info", addon: "accent", operator: "warn", rollover: "muted",
};

export function badge(label, tone) {
  return h("span", { class: ["badge", `badge-${tone || TONES[label] || "muted"}`] }, label);
}

export function notice(kind, ...content) {
  const role = kind === "error" ? "alert" : "status";
  return h("div", { class: ["notice", `notice-${kind}`], role }, ...content);
}

/** A slot that shows one notice at a time next to a form or action. */
export function noticeSlot(props = {}) {
  const slot = h("div", { ...props, class: ["notice-slot", props.class] });
  slot.show = (kind, ...content) => { slot.replaceChildren(notice(kind, ...content)); };
  slot.clear = () => slot.replaceChildren();
  slot.error = (error) => slot.show("error", errorText(error));
  return slot;
}

export function errorText(error) {
  if (error && error.name === "ApiError") return error.message;
  return error && error.message ? error.message : String(error);
}

export function button(label, props = {}) {
  const { tone, size, ...rest } = props;
  return h("button", { type: "button", ...rest, class: ["btn", tone && `btn-${tone}`, size && `btn-${size}`, rest.class] }, label);
}

/** Runs an async click handler with the button disabled and marked busy meanwhile. */
export function busy(buttonEl, work) {
  return async (...args) => {
    if (buttonEl.disabled) return;
    buttonEl.disabled = true;
    buttonEl.setAttribute("aria-busy", "true");
    try { await work(...args); } finally {
      buttonEl.disabled = false;
      buttonEl.removeAttribute("aria-busy");
    }
  };
}

export function pageHeader(title, { subtitle, actions, crumbs } = {}) {
  return h("header", { class: "page-header" },
    crumbs ? h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, crumbs.map((c, i) => [i ? h("span", { "aria-hidden": "true" }, " / ") : null, c])) : null,
    h("div", { class: "page-header-row" },
      h("div", { class: "page-title" }, h("h1", { tabindex: "-1" }, title), subtitle ? h("div", { class: "page-subtitle" }, subtitle) : null),
      actions ? h("div", { class: "page-actions" }, actions) : null));
}

export function card(title, { actions, id, class: className, description } = {}, ...body) {
  const headingId = id ? `${id}-title` : uid("card");
  return h("section", { class: ["card", className], id, "aria-labelledby": headingId },
    title ? h("div", { class: "card-header" },
      h("div", null, h("h2", { id: headingId }, title), description ? h("p", { class: "muted small" }, description) : null),
      actions ? h("div", { class: "card-actions" }, actions) : null) : null,
    ...body);
}

/**
 * A table from columns [{label, render(row) → node|string, class, numeric}] and rows.
 * Wrapped so that a wide table scrolls inside its card instead of the page.
 */
export function table(columns, rows, { empty = "Nothing here yet.", caption, rowClass, label } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  const head = h("thead", null, h("tr", null, columns.map((c) =>
    h("th", { scope: "col", class: [c.numeric && "numeric", c.class] }, c.label))));
  const body = h("tbody", null, rows.map((row) => h("tr", { class: rowClass ? rowClass(row) : null },
    columns.map((c) => h("td", { class: [c.numeric && "numeric", c.class], "data-label": c.label }, c.render(row))))));
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": label || caption || "table" },
    h("table", null, caption ? h("caption", { class: "sr-only" }, caption) : null, head, body));
}

/** A definition list from [label, value] pairs. */
export function details(pairs) {
  return h("dl", { class: "details" }, pairs.filter(Boolean).map(([label, value]) =>
    h("div", { class: "details-row" }, h("dt", null, label), h("dd", null, value))));
}

/** Prev / next for a page answered by the API ({has_more, limit, page, total}). */
export function pager(page, go, noun = "items") {
  const current = Number(page.page || 1);
  const limit = Number(page.limit || 20);
  const total = Number(page.total || 0);
  const pages = Math.max(1, Math.ceil(total / limit));
  const first = total === 0 ? 0 : (current - 1) * limit + 1;
  const last = Math.min(total, current * limit);
  return h("nav", { class: "pager", "aria-label": "Pages" },
    h("span", { class: "muted" }, total ? `${first}–${last} of ${formatInt(page.total)} ${noun}` : `No ${noun}`),
    pages <= 1 && current <= 1 ? null : h("span", { class: "pager-buttons" },
      button("← Previous", { size: "sm", disabled: current <= 1, onclick: () => go(current - 1), "aria-label": "Previous page" }),
      h("span", { class: "pager-page" }, `Page ${current} of ${pages}`),
      button("Next →", { size: "sm", disabled: !page.has_more, onclick: () => go(current + 1), "aria-label": "Next page" })));
}

/** A page of an array, in the API's page shape. */
export function slicePage(items, page, limit = 20) {
  const pages = Math.max(1, Math.ceil(items.length / limit));
  const current = Math.min(Math.max(1, Number(page) || 1), pages);
  return {
    items: items.slice((current - 1) * limit, current * limit),
    page: { page: current, limit, total: items.length, has_more: current < pages },
  };
}

/** A labelled form control with its hint and its own error line (aria-describedby). */
export function field(label, control, { hint, wide, id } = {}) {
  control.id = control.id || id || uid("f");
  const error = h("p", { class: "field-error", id: `${control.id}-error` });
  const hintEl = hint ? h("p", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  control.setAttribute("aria-describedby", [hintEl && hintEl.id, error.id].filter(Boolean).join(" "));
  const wrap = h("div", { class: ["field", wide && "field-wide"] }, h("label", { for: control.id }, label), control, hintEl, error);
  wrap.control = control;
  wrap.setError = (message) => {
    error.textContent = message || "";
    if (message) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  };
  return wrap;
}

/** A plain labelled <input> (ATTRIBUTES: its id, type, autocomplete…) with a small hint under it. */
export function inputField(label, attributes, hint) {
  return h("div", { class: "field" }, h("label", { for: attributes.id }, label), h("input", attributes), hint ? h("p", { class: "muted small" }, hint) : null);
}

export function checkbox(label, { checked = false, name, hint } = {}) {
  const input = h("input", { type: "checkbox", name, checked });
  // A <label> wrapping its input: label.control (native) is the checkbox.
  return h("label", { class: "check" }, input, h("span", null, label, hint ? h("span", { class: "hint" }, hint) : null));
}

export function select(options, { value, name, id } = {}) {
  const el = h("select", { name, id }, options.map((o) => {
    const [optionValue, optionLabel] = Array.isArray(o) ? o : [o, o];
    return h("option", { value: optionValue }, optionLabel);
  }));
  if (value !== undefined) el.value = value;
  return el;
}

export function datalist(id, values) {
  return h("datalist", { id }, values.map((v) => h("option", { value: v })));
}

/**
 * Checks [field, message-or-empty] pairs: shows each message under its field, focuses the
 * first invalid one, and answers whether all passed.
 */
export function validate(checks) {
  let firstInvalid = null;
  for (const [fieldEl, message] of checks) {
    fieldEl.setError(message || "");
    if (message && !firstInvalid) firstInvalid = fieldEl.control;
  }
  if (firstInvalid) firstInvalid.focus();
  return !firstInvalid;
}

export function emptyState(message, ...actions) {
  return h("div", { class: "empty-state" }, h("p", null, message), actions.length ? h("div", { class: "row" }, actions) : null);
}

export function chips(values, { empty = "—" } = {}) {
  if (!values || !values.length) return h("span", { class: "muted" }, empty);
  return h("span", { class: "chips" }, values.map((v) => h("span", { class: "chip" }, v)));
}

export function intOrDash(value) {
  return value === undefined || value === null ? h("span", { class: "muted" }, "—") : int(value);
}

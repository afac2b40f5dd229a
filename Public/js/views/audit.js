// #/audit: who changed what (GET /v1/admin/audit), filterable, paged, with each change's
// state before and after side by side.

import { api, enc, query } from "../api.js";
import { card, datalist, field, h, link, pageHeader, pager, select, shortId, time } from "../dom.js";
import { formatDateTime, plural } from "../format.js";

const TARGET_TYPES = ["plan", "variant", "subscription", "invoice", "tenant", "api_key", "user", "webhook"];
// Suggestions only: the filter takes any action or prefix ("plan" matches plan.create, …).
const ACTIONS = [
  "plan", "plan.create", "plan.update", "plan.delete", "variant", "variant.create", "variant.update", "variant.delete",
  "subscription", "subscription.create", "subscription.trial_end", "invoice", "invoice.paid", "credits", "credits.grant",
  "api_key", "api_key.create", "api_key.revoke", "user", "user.status",
  "webhook", "webhook.create", "webhook.update", "webhook.delete", "webhook.rotate_secret", "webhook.redeliver",
];

function targetLink(entry) {
  const id = entry.target_id;
  if (!id) return h("span", { class: "muted" }, "—");
  const hrefs = {
    tenant: `#/tenants/${enc(id)}`, invoice: `#/invoices/${enc(id)}`, plan: `#/plans/${enc(id)}`,
    variant: `#/variants/${enc(id)}`, user: `#/users?q=${enc(id)}`, webhook: `#/webhooks/${enc(id)}`,
  };
  const label = shortId(id, { class: "small" });
  return hrefs[entry.target_type] ? h("a", { href: hrefs[entry.target_type] }, label) : label;
}

/** A snapshot value as text: timestamps in ms become dates, JSON strings stay readable. */
function valueText(key, value) {
  if (value === undefined) return null;
  if (value === null) return "null";
  if (/_at$/.test(key) && typeof value === "number" && value > 1e11) return `${formatDateTime(new Date(value))}`;
  if (typeof value === "string") {
    if (/^[[{]/.test(value)) {
      try { return JSON.stringify(JSON.parse(value), null, 2); } catch (_) { /* plain text */ }
    }
    return value;
  }
  if (typeof value === "object") return JSON.stringify(value, null, 2);
  return String(value);
}

/** The fields of a change, the changed ones first: [key, before, after, changed]. */
function diffRows(entry) {
  const before = entry.before && typeof entry.before === "object" ? entry.before : {};
  const after = entry.after && typeof entry.after === "object" ? entry.after : {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changed = (k) => entry.before === null || entry.after === null || JSON.stringify(before[k]) !== JSON.stringify(after[k]);
  return [...keys.filter(changed), ...keys.filter((k) => !changed(k))].map((k) => ({
    key: k, changed: changed(k), before: entry.before === null || !(k in before) ? null : valueText(k, before[k]),
    after: entry.after === null || !(k in after) ? null : valueText(k, after[k]),
  }));
}

function summary(entry, rows) {
  if (!rows.length) return "no details";
  if (entry.before === null) return "created";
  if (entry.after === null) return "deleted";
  const n = rows.filter((r) => r.changed).length;
  return `${n} field${n === 1 ? "" : "s"} changed`;
}

function diffTable(rows) {
  const value = (text) => (text === null ? h("span", { class: "muted" }, "—") : h("pre", null, text));
  return h("table", { class: "diff-table" },
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Before"), h("th", { scope: "col" }, "After"))),
    h("tbody", null, rows.map((r) => h("tr", { class: r.changed ? "diff-changed" : "diff-same" },
      h("th", { scope: "row" }, r.key), h("td", { class: "diff-value" }, value(r.before)), h("td", { class: "diff-value" }, value(r.after))))));
}

/** The trail as a table whose rows open a full-width row with the change, field by field. */
function trail(entries, emptyText) {
  if (!entries.length) return h("p", { class: "empty" }, emptyText);
  const columns = ["When", "Actor", "Action", "Target", "Tenant", "Changes"];
  const body = h("tbody");
  entries.forEach((e, index) => {
    const rows = diffRows(e);
    const detailId = `audit-change-${index}`;
    const detail = h("tr", { class: "diff-row", id: detailId, hidden: true },
      h("td", { colspan: String(columns.length) }, h("div", { class: "table-wrap diff-wrap" }, diffTable(rows))));
    const toggle = h("button", { type: "button", class: "btn btn-sm btn-ghost diff-toggle", "aria-expanded": "false", "aria-controls": detailId, disabled: !rows.length },
      h("span", { class: "diff-caret", "aria-hidden": "true" }, "▸"), " ", summary(e, rows));
    toggle.addEventListener("click", () => {
      const open = detail.hidden;
      detail.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
    });
    body.append(h("tr", { class: "audit-row" },
      h("td", { "data-label": "When" }, time(e.at)),
      h("td", { "data-label": "Actor" }, h("span", { title: e.actor_id || null }, e.actor_email || e.actor_id || "—")),
      h("td", { "data-label": "Action" }, h("span", { class: "chip chip-action" }, e.action)),
      h("td", { "data-label": "Target" }, h("span", { class: "stack-tight" }, h("span", { class: "muted small" }, e.target_type), targetLink(e))),
      h("td", { "data-label": "Tenant" }, e.tenant_id ? link(`#/tenants/${enc(e.tenant_id)}`, shortId(e.tenant_id, { class: "small" })) : h("span", { class: "muted" }, "—")),
      h("td", { "data-label": "Changes" }, toggle)), detail);
  });
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Audit trail" },
    h("table", { class: "audit-table" }, h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col" }, c)))), body));
}

export async function audit(ctx) {
  const filters = {
    action: ctx.params.get("action") || "",
    actor: ctx.params.get("actor") || "",
    target_type: ctx.params.get("target_type") || "",
    tenant_id: ctx.params.get("tenant_id") || "",
  };
  const page = ctx.params.get("page") || "1";
  const data = await api("GET", `/v1/admin/audit${query({ ...filters, page, limit: 20 })}`);
  const any = Object.values(filters).some(Boolean);

  const action = h("input", { type: "text", name: "action", value: filters.action, list: "audit-actions", placeholder: "plan or plan.update", autocomplete: "off", spellcheck: "false" });
  const actor = h("input", { type: "text", name: "actor", value: filters.actor, placeholder: "Email or user id", autocomplete: "off" });
  const targetType = select([["", "Any target"], ...TARGET_TYPES], { value: filters.target_type, name: "target_type" });
  const tenant = h("input", { type: "text", name: "tenant_id", value: filters.tenant_id, placeholder: "tnt_…", autocomplete: "off", spellcheck: "false", class: "mono" });
  const form = h("form", { class: "filters", role: "search", novalidate: true },
    field("Action", action, { id: "audit-action" }),
    field("Actor", actor, { id: "audit-actor" }),
    field("Target", targetType, { id: "audit-target-type" }),
    field("Tenant id", tenant, { id: "audit-tenant" }),
    datalist("audit-actions", ACTIONS),
    h("div", { class: "filters-actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Filter"),
      any ? link("#/audit", "Clear", { class: "btn btn-ghost" }) : null));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate("/audit", { action: action.value.trim(), actor: actor.value.trim(), target_type: targetType.value, tenant_id: tenant.value.trim() });
  });

  const rows = trail(data.entries, any ? "No entry matches these filters." : "Nothing changed yet.");

  return h("div", { class: "page" },
    pageHeader("Audit trail", { subtitle: `${plural(data.page.total, "entry", "entries")}, newest first: every change to plans, prices, subscriptions, invoices, grants, API keys, users and webhooks.` }),
    card(null, { class: "card-filters" }, form),
    card(null, { id: "audit-results" }, rows, pager(data.page, (p) => ctx.navigate("/audit", { ...filters, page: p }), "entries")));
}

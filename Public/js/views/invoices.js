// #/invoices (filters, pages) and #/invoices/{id} (the page the daemon's redirect_url
// points at when payments are confirmed by hand), with "mark paid".

import { api, enc, query } from "../api.js";
import { confirmDialog } from "../dialog.js";
import {
  badge, button, card, code, details, field, h, int, link, noticeSlot, pageHeader, pager, select, slicePage, table, time,
} from "../dom.js";
import { formatMoney, plural } from "../format.js";

const tenantNames = new Map();

/** Tenant names for ids (one light search each, cached): invoices carry the id only. */
export async function resolveTenantNames(ids) {
  const missing = [...new Set(ids)].filter((id) => id && !tenantNames.has(id));
  await Promise.all(missing.map(async (id) => {
    try {
      const { tenants } = await api("GET", `/v1/admin/tenants${query({ q: id, limit: 1 })}`);
      const found = tenants.find((t) => t.id === id);
      tenantNames.set(id, found ? found.name : "");
    } catch (_) { /* the id is shown instead */ }
  }));
  return tenantNames;
}

function what(invoice) {
  if (invoice.kind === "addon") {
    const lines = invoice.lines || [];
    return lines.length ? lines.map((l) => `${l.category} × ${l.quantity}`).join(", ") : "add-on";
  }
  return `${invoice.plan}${invoice.period && invoice.period !== "NOT_DEFINE" ? ` · ${invoice.period}` : ""}`;
}

function effect(invoice) {
  if (invoice.kind === "addon") return "Its add-on credits are granted at once.";
  if (invoice.kind === "renewal") return `The renewed ${invoice.plan} period is paid for.`;
  return `The tenant's ${invoice.plan} ${invoice.period === "NOT_DEFINE" ? "" : `${invoice.period} `}subscription starts at once.`;
}

export function invoiceColumns({ tenant = true, onPay = null } = {}) {
  const columns = [
    { label: "Invoice", render: (i) => link(`#/invoices/${enc(i.id)}`, `#${i.number}`, { class: "strong", title: i.id }) },
    tenant ? {
      label: "Tenant",
      render: (i) => link(`#/tenants/${enc(i.tenant_id)}`, tenantNames.get(i.tenant_id) || i.tenant_id),
    } : null,
    { label: "For", render: (i) => h("span", { class: "stack-tight" }, h("span", null, what(i)), h("span", { class: "muted small" }, i.kind)) },
    { label: "Total", numeric: true, render: (i) => h("span", { class: "strong" }, formatMoney(i.total, i.currency)) },
    { label: "Status", render: (i) => badge(i.status) },
    { label: "Created", render: (i) => time(i.created_at) },
    {
      label: "Due / paid",
      render: (i) => {
        if (i.status === "paid") return time(i.paid_at);
        const overdue = i.status === "open" && new Date(i.due_at).getTime() < Date.now();
        return h("span", { class: "stack-tight" }, time(i.due_at, { relative: i.status === "open" }), overdue ? badge("overdue", "danger") : null);
      },
    },
  ].filter(Boolean);
  if (onPay) {
    columns.push({
      label: "Action",
      render: (i) => {
        if (i.status !== "open") return h("span", { class: "muted" }, "—");
        const b = button("Mark paid…", { size: "sm", tone: "primary", "data-invoice": i.id });
        b.addEventListener("click", () => onPay(i, b));
        return b;
      },
    });
  }
  return columns;
}

/** Asks for confirmation, marks the invoice paid, shows the result in SLOT, then AFTER(paid). */
export async function markPaidFlow(invoice, tenantName, slot, buttonEl, after) {
  slot.clear();
  const amount = formatMoney(invoice.total, invoice.currency);
  const ok = await confirmDialog({
    title: `Mark invoice #${invoice.number} paid?`,
    body: [
      h("p", null, "Record the payment of ", h("strong", null, amount), " by ", h("strong", null, tenantName || invoice.tenant_id), " (", what(invoice), ")."),
      h("p", { class: "muted" }, effect(invoice), " This cannot be undone from the console."),
    ],
    confirmLabel: "Mark paid",
  });
  if (!ok) return null;
  if (buttonEl) buttonEl.disabled = true;
  try {
    const { invoice: paid } = await api("POST", `/v1/admin/invoices/${enc(invoice.id)}/paid`, {});
    slot.show("ok", `Invoice #${paid.number} is paid (${amount}). ${effect(paid)}`);
    if (after) await after(paid);
    return paid;
  } catch (error) {
    slot.error(error);
    if (buttonEl) buttonEl.disabled = false;
    return null;
  }
}

export async function invoiceList(ctx) {
  const status = ctx.params.get("status") || "";
  const tenantId = ctx.params.get("tenant_id") || "";
  const page = ctx.params.get("page") || "1";
  const { invoices } = await api("GET", `/v1/admin/invoices${query({ status, tenant_id: tenantId })}`);
  const shown = slicePage(invoices, page, 20);
  await resolveTenantNames(shown.items.map((i) => i.tenant_id));

  const statusSelect = select([["", "Any status"], ["open", "open"], ["paid", "paid"], ["void", "void"]], { value: status, name: "status" });
  const tenantInput = h("input", { type: "text", name: "tenant_id", value: tenantId, placeholder: "tnt_…", autocomplete: "off", spellcheck: "false", class: "mono" });
  const form = h("form", { class: "filters", role: "search", novalidate: true },
    field("Status", statusSelect, { id: "invoice-status" }),
    field("Tenant id", tenantInput, { id: "invoice-tenant" }),
    h("div", { class: "filters-actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Filter"),
      status || tenantId ? link("#/invoices", "Clear", { class: "btn btn-ghost" }) : null));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate("/invoices", { status: statusSelect.value, tenant_id: tenantInput.value.trim() });
  });

  const slot = noticeSlot({ id: "invoice-notice" });
  const open = invoices.filter((i) => i.status === "open");
  return h("div", { class: "page" },
    pageHeader("Invoices", {
      subtitle: [plural(invoices.length, "invoice"), open.length ? ` · ${open.length} open` : "", tenantId ? [" for ", link(`#/tenants/${enc(tenantId)}`, tenantNames.get(tenantId) || tenantId)] : ""],
    }),
    card(null, { class: "card-filters" }, form),
    card(null, { id: "invoice-results" }, slot,
      table(invoiceColumns({
        onPay: (invoice, b) => markPaidFlow(invoice, tenantNames.get(invoice.tenant_id), slot, b, () => ctx.refresh()),
      }), shown.items, { empty: status || tenantId ? "No invoice matches these filters." : "No invoice yet.", label: "Invoices" }),
      pager(shown.page, (p) => ctx.navigate("/invoices", { status, tenant_id: tenantId, page: p }), "invoices")));
}

export async function invoicePage(ctx) {
  const id = ctx.args[0];
  const slot = noticeSlot({ id: "invoice-notice" });
  const content = h("div", { class: "stack-lg" });
  const page = h("div", { class: "page", "data-invoice-id": id });

  const load = async () => {
    const invoice = await api("GET", `/v1/admin/invoices/${enc(id)}`).then((d) => d.invoice).catch((error) => {
      if (error.status === 404) return null;
      throw error;
    });
    if (!invoice) return { invoice: null, tenant: null };
    const tenant = await api("GET", `/v1/admin/tenants/${enc(invoice.tenant_id)}`).then((d) => d.tenant).catch(() => null);
    if (tenant) tenantNames.set(tenant.id, tenant.name);
    return { invoice, tenant };
  };

  const fill = ({ invoice, tenant }) => {
    const tenantLink = () => link(`#/tenants/${enc(invoice.tenant_id)}`, (tenant && tenant.name) || invoice.tenant_id);
    const header = pageHeader(`Invoice #${invoice.number}`, {
      crumbs: [link("#/invoices", "Invoices"), h("span", null, `#${invoice.number}`)],
      subtitle: [badge(invoice.status), " · ", formatMoney(invoice.total, invoice.currency), " · ", tenantLink()],
    });
    const summary = card("Invoice", { id: "invoice-details" }, details([
      ["Number", `#${invoice.number}`],
      ["Status", h("span", { id: "invoice-status" }, badge(invoice.status))],
      ["Tenant", tenantLink()],
      ["For", `${what(invoice)} (${invoice.kind})`],
      invoice.period_start ? ["Period", h("span", null, time(invoice.period_start), " → ", time(invoice.period_end))] : null,
      ["Total", h("strong", null, formatMoney(invoice.total, invoice.currency))],
      ["Created", time(invoice.created_at)],
      ["Due", time(invoice.due_at, { relative: invoice.status === "open" })],
      invoice.paid_at ? ["Paid", h("span", null, time(invoice.paid_at), invoice.paid_by ? ` by ${invoice.paid_by}` : "")] : null,
      ["Id", code(invoice.id, { class: "small" })],
    ]), invoice.lines && invoice.lines.length ? table([
      { label: "Category", render: (l) => code(l.category, { class: "small" }) },
      { label: "Quantity", numeric: true, render: (l) => int(l.quantity) },
      { label: "Credits each", numeric: true, render: (l) => int(l.units) },
      { label: "Variant", render: (l) => code(l.variant_id, { class: "small muted" }) },
    ], invoice.lines, { label: "Invoice lines" }) : null);

    let payment;
    if (invoice.status === "open") {
      const pay = button("Mark as paid…", { tone: "primary", id: "mark-paid" });
      pay.addEventListener("click", () => markPaidFlow(invoice, tenant && tenant.name, slot, pay, async () => {
        const next = await load();
        if (ctx.isCurrent() && next.invoice) fill(next);
      }));
      payment = card("Payment", { id: "invoice-payment" },
        h("p", null, "Payments are confirmed by hand: once the money has arrived, mark the invoice paid. ", effect(invoice)),
        h("div", { class: "row" }, pay));
    } else {
      payment = card("Payment", { id: "invoice-payment" }, h("p", null,
        invoice.status === "paid" ? ["Paid ", time(invoice.paid_at), invoice.paid_by ? ` by ${invoice.paid_by}` : "", "."] : "This invoice is void."));
    }
    const s = tenant && tenant.subscription;
    const subscription = card("Tenant subscription now", { id: "tenant-subscription" }, s ? details([
      ["Plan", h("span", { id: "tenant-plan" }, s.plan, s.period !== "NOT_DEFINE" ? ` · ${s.period}` : "")],
      ["Status", h("span", { id: "tenant-status" }, badge(s.status))],
      ["Ends", time(s.end_at, { relative: true })],
    ]) : h("p", { class: "empty" }, "Unknown."));
    content.replaceChildren(header, slot, h("div", { class: "grid grid-2-1" }, summary, h("div", { class: "stack-lg" }, payment, subscription)));
  };

  const first = await load();
  if (!first.invoice) {
    page.append(pageHeader("Invoice not found", { crumbs: [link("#/invoices", "Invoices")] }),
      h("p", { class: "empty" }, "There is no invoice ", code(id), "."));
    return page;
  }
  fill(first);
  page.append(content);
  return page;
}

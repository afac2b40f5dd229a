// #/invoices (paged), #/invoices/{id} (every line — plan, proration credit, coupon discount,
// add-on — with subtotal, tax and total; status, Pay) and
// #/invoices/{id}/receipt (a printable receipt). Stripe returns to #/invoices/{id}?checkout=…

import { api, enc } from "./api.js";
import { badge, busy, button, card, details, h, pageHeader, pager, table, time } from "../dom.js";
import { formatDate, formatInt } from "../format.js";
import { money, slot } from "./ui.js";

const describe = (inv) => (inv.kind === "addon" ? "Credits add-on" : [inv.plan, inv.period].filter(Boolean).join(" ") || inv.kind || "Invoice");
const numberOf = (inv) => inv.invoice_number || `#${inv.number}`;

export async function invoiceList(ctx) {
  const page = Math.max(1, Number(ctx.params.get("page")) || 1);
  const answer = await api("GET", `/v1/subscription/invoices?page=${page}&limit=20`);
  const rows = answer.invoices || [];
  return h("div", { class: "page" },
    pageHeader("Invoices", { subtitle: "Newest first. Open an invoice to pay it or print its receipt." }),
    card(null, { id: "invoices" },
      table([
        { label: "Number", render: (i) => h("a", { href: `#/invoices/${enc(i.id)}`, class: "invoice-link" }, numberOf(i)) },
        { label: "For", render: (i) => describe(i) },
        { label: "Status", render: (i) => badge(i.status) },
        { label: "Total", numeric: true, render: (i) => money(i.total, i.currency) },
        { label: "Issued", render: (i) => time(i.created_at) },
        { label: "Due", render: (i) => time(i.due_at) },
      ], rows, { empty: "No invoices yet.", label: "Invoices" }),
      answer.page ? pager(answer.page, (n) => ctx.navigate("/invoices", { page: n }), "invoices") : null));
}

/** What a negative line is, by its kind: a proration credits unused time, a coupon discounts. */
const CREDIT_KINDS = { proration: "Credit", discount: "Discount" };
const isCredit = (line) => Number(line.amount) < 0;

/** The invoice's lines; one without any (an older invoice) is one line, its total. */
function linesOf(inv) {
  if ((inv.lines || []).length) return inv.lines;
  return [{ kind: inv.kind === "addon" ? "addon" : "plan", description: describe(inv), amount: inv.total }];
}

function lineTable(inv) {
  const lines = linesOf(inv);
  const addons = lines.some((l) => l.kind === "addon");
  const credits = (l) => (String(l.units || "0") === "0" ? null : BigInt(l.units || 0) * BigInt(l.quantity || 1));
  return table([
    { label: "Item", render: (l) => h("span", { class: "line-item" },
      h("span", { class: "line-description" }, l.description || l.category || describe(inv)),
      CREDIT_KINDS[l.kind] || isCredit(l) ? [" ", badge(CREDIT_KINDS[l.kind] || "Credit", "ok")] : null) },
    addons ? { label: "Quantity", numeric: true, render: (l) => (l.kind === "addon" ? formatInt(l.quantity) : "—") } : null,
    addons ? { label: "Credits", numeric: true, render: (l) => (credits(l) === null ? "—" : formatInt(credits(l))) } : null,
    { label: "Amount", numeric: true, render: (l) => (l.amount === undefined || l.amount === null ? "—"
      : h("span", { class: ["line-amount", isCredit(l) && "line-credit"] }, money(l.amount, inv.currency))) },
  ].filter(Boolean), lines, { label: "Invoice lines", rowClass: (l) => ["line", `line-${l.kind || "plan"}`].join(" ") });
}

function totals(inv) {
  const credited = linesOf(inv).filter(isCredit).reduce((sum, l) => sum + Number(l.amount), 0);
  return h("dl", { class: "totals", id: "invoice-totals" },
    h("div", null, h("dt", null, "Subtotal"), h("dd", { id: "invoice-subtotal" }, money(inv.subtotal ?? inv.total, inv.currency))),
    credited < 0 ? h("div", null, h("dt", null, "Credits and discounts"), h("dd", { id: "invoice-credits", class: "line-credit" }, money(credited, inv.currency))) : null,
    h("div", null, h("dt", null, "Tax"), h("dd", { id: "invoice-tax" }, money(inv.tax ?? 0, inv.currency))),
    h("div", { class: "totals-total" }, h("dt", null, "Total"), h("dd", { id: "invoice-total" }, money(inv.total, inv.currency))),
    Number(inv.refunded) > 0 ? h("div", null, h("dt", null, "Refunded"), h("dd", null, money(inv.refunded, inv.currency))) : null);
}

function manualInstructions(inv) {
  return h("div", { class: "notice notice-info manual-payment", id: "manual-payment", role: "status" },
    h("p", null, h("strong", null, "Pay by bank transfer or as agreed with us.")),
    h("p", null, "Quote the invoice number ", h("strong", { class: "mono", id: "manual-number" }, numberOf(inv)),
      " and the amount ", h("strong", { id: "manual-amount" }, money(inv.total, inv.currency)), " with your payment."),
    h("p", { class: "small" }, "We confirm payments by hand: this invoice shows as paid, and your plan starts, once we have received it."));
}

export async function invoicePage(ctx) {
  const id = ctx.args[0];
  const { invoice: inv } = await api("GET", `/v1/subscription/invoices/${enc(id)}`);
  const checkout = ctx.params.get("checkout");
  const payArea = h("div", { class: "stack", id: "pay-area" });
  const paySlot = slot({ id: "pay-notice" });
  if (inv.status === "open") {
    const pay = button(`Pay ${money(inv.total, inv.currency)}`, { tone: "primary", id: "pay-invoice" });
    pay.addEventListener("click", busy(pay, async () => {
      paySlot.clear();
      try {
        const answer = await api("POST", `/v1/subscription/invoices/${enc(inv.id)}/pay`, {});
        if (answer.provider === "stripe" && answer.redirect_url) {
          paySlot.show("info", "Taking you to the payment page…");
          window.location.assign(answer.redirect_url);
        } else {
          payArea.replaceChildren(manualInstructions(inv));
        }
      } catch (error) {
        paySlot.error(error);
      }
    }));
    payArea.append(h("div", { class: "row" }, pay), paySlot);
  } else if (inv.status === "paid") {
    payArea.append(h("p", null, "Paid ", time(inv.paid_at), ". ", h("a", { href: `#/invoices/${enc(inv.id)}/receipt`, id: "receipt-link" }, "View the receipt")));
  } else {
    payArea.append(h("p", { class: "muted" }, "This invoice was voided; nothing is due."));
  }

  let checkoutNotice = null;
  if (checkout === "success") {
    checkoutNotice = h("div", { class: "notice notice-ok", role: "status", id: "checkout-notice" },
      inv.status === "paid" ? "Thank you: your payment went through and the invoice is paid." : "Thank you: your payment is being confirmed. This page shows it as paid once the provider tells us.");
  } else if (checkout === "canceled") {
    checkoutNotice = h("div", { class: "notice notice-warn", role: "status", id: "checkout-notice" }, "The payment was canceled; nothing was charged. You can pay whenever you are ready.");
  }

  return h("div", { class: "page" },
    pageHeader(`Invoice ${numberOf(inv)}`, {
      crumbs: [h("a", { href: "#/invoices" }, "Invoices"), numberOf(inv)],
      subtitle: h("span", { id: "invoice-status" }, badge(inv.status), " ", describe(inv)),
      actions: inv.status === "paid" ? h("a", { class: "btn", href: `#/invoices/${enc(inv.id)}/receipt` }, "Receipt") : null,
    }),
    checkoutNotice,
    h("div", { class: "grid grid-2-1 grid-top" },
      card("Lines", { id: "invoice-lines" }, lineTable(inv), totals(inv)),
      card("Payment", { id: "invoice-payment" },
        details([
          ["Status", badge(inv.status)],
          ["Issued", time(inv.created_at)],
          ["Due", time(inv.due_at)],
          inv.period_start ? ["Service period", h("span", null, time(inv.period_start), " – ", time(inv.period_end))] : null,
        ]),
        payArea)));
}

export async function receiptPage(ctx) {
  const id = ctx.args[0];
  const { invoice: inv } = await api("GET", `/v1/subscription/invoices/${enc(id)}`);
  const print = button("Print", { tone: "primary", id: "print-receipt", onclick: () => window.print() });
  const paid = inv.status === "paid";
  return h("div", { class: "page receipt-page" },
    h("div", { class: "row no-print" }, h("a", { href: `#/invoices/${enc(inv.id)}`, class: "btn" }, "← Back to the invoice"), print),
    h("article", { class: "receipt", id: "receipt", "aria-labelledby": "receipt-title" },
      h("header", { class: "receipt-header" },
        h("div", { class: "brand brand-dark" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "T"), h("span", null, "Tenantry")),
        h("div", { class: "receipt-title" }, h("h1", { id: "receipt-title", tabindex: "-1" }, paid ? "Receipt" : "Invoice"), h("p", { class: "mono" }, numberOf(inv)))),
      details([
        ["Billed to", h("span", { id: "receipt-tenant" }, ctx.tenant.name || ctx.tenant.id)],
        ["Workspace id", h("code", { class: "mono" }, inv.tenant_id)],
        ["Issued", formatDate(inv.created_at)],
        paid ? ["Paid", formatDate(inv.paid_at)] : ["Due", formatDate(inv.due_at)],
        ["For", describe(inv)],
        ["Status", inv.status],
      ]),
      lineTable(inv),
      totals(inv),
      paid ? h("p", { class: "receipt-foot" }, `Received with thanks: ${money(inv.total, inv.currency)}.`) : h("p", { class: "receipt-foot" }, `Amount due: ${money(inv.total, inv.currency)}.`)));
}


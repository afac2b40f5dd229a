// #/tenants (search, filters, pages) and #/tenants/{id} (everything about one tenant, and
// the operator's actions on it: move a trial's end, grant credits, mark an invoice paid;
// its credits, ledger, caps and alerts come from credits.js).

import { api, enc, query } from "../api.js";
import { confirmDialog } from "../dialog.js";
import {
  badge, busy, button, card, chips, code, datalist, shortId, details, field, h, int, link, noticeSlot, pageHeader, pager,
  select, table, time, uid, validate,
} from "../dom.js";
import { DAY, formatInt, formatRelative, formatShift, fromLocalInput, parseDate, plural, toLocalInput } from "../format.js";
import * as check from "../validate.js";
import { creditParams, creditSections, loadCredits } from "./credits.js";
import { STATUSES } from "./dashboard.js";
import { invoiceColumns, markPaidFlow } from "./invoices.js";

export const BUILTIN_PLANS = ["FREE", "NEW_USER_TRIAL", "BYOA_USER_TRIAL", "PRO", "BUSINESS", "CUSTOM"];

function planCell(subscription) {
  if (!subscription || !subscription.plan) return h("span", { class: "muted" }, "—");
  return h("span", { class: "stack-tight" }, h("span", null, subscription.plan),
    subscription.period && subscription.period !== "NOT_DEFINE" ? h("span", { class: "muted small" }, subscription.period) : null);
}

function statusCell(subscription) {
  if (!subscription) return badge("NO_SUBSCRIPTION");
  return h("span", { class: "stack-tight" }, badge(subscription.status),
    subscription.cancel_at_period_end ? h("span", { class: "muted small" }, "cancels at period end") : null);
}

function balancesCell(balances) {
  if (!balances || !balances.length) return h("span", { class: "muted" }, "—");
  return h("span", { class: "stack-tight" }, balances.map((b) =>
    h("span", { class: "balance" }, h("span", { class: "muted small" }, b.category.replace(/^USAGE_/, "")), " ", int(b.remaining))));
}

export async function tenantList(ctx) {
  const q = ctx.params.get("q") || "";
  const status = ctx.params.get("status") || "";
  const plan = ctx.params.get("plan") || "";
  const page = ctx.params.get("page") || "1";
  const data = await api("GET", `/v1/admin/tenants${query({ q, status, plan, page, limit: 20 })}`);

  const search = h("input", { type: "search", name: "q", value: q, placeholder: "Name, member email or tenant id", autocomplete: "off" });
  const statusSelect = select([["", "Any status"], ...STATUSES], { value: status, name: "status" });
  const planSelect = select([["", "Any plan"], ...BUILTIN_PLANS], { value: plan, name: "plan" });
  const form = h("form", { class: "filters", role: "search", novalidate: true },
    field("Search", search, { id: "tenant-search" }),
    field("Status", statusSelect, { id: "tenant-status" }),
    field("Plan", planSelect, { id: "tenant-plan" }),
    h("div", { class: "filters-actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Search"),
      q || status || plan ? link("#/tenants", "Clear", { class: "btn btn-ghost" }) : null));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate("/tenants", { q: search.value.trim(), status: statusSelect.value, plan: planSelect.value });
  });

  const rows = table([
    {
      label: "Tenant",
      render: (t) => h("span", { class: "stack-tight" }, link(`#/tenants/${enc(t.id)}`, t.name || t.id, { class: "strong" }), shortId(t.id, { class: "muted small" })),
    },
    { label: "Plan", render: (t) => planCell(t.subscription) },
    { label: "Status", render: (t) => statusCell(t.subscription) },
    { label: "Trial / period end", render: (t) => time(t.subscription && t.subscription.end_at, { relative: true }) },
    { label: "Members", numeric: true, render: (t) => int(t.members) },
    { label: "Credits left", render: (t) => balancesCell(t.balances) },
    { label: "Created", render: (t) => time(t.created_at) },
  ], data.tenants, { empty: q || status || plan ? "No tenant matches these filters." : "No tenant yet.", label: "Tenants" });

  return h("div", { class: "page" },
    pageHeader("Tenants", { subtitle: `${plural(data.page.total, "tenant")}${q || status || plan ? " match" : ""}` }),
    card(null, { class: "card-filters" }, form),
    card(null, { id: "tenant-results" }, rows,
      pager(data.page, (p) => ctx.navigate("/tenants", { q, status, plan, page: p }), "tenants")));
}

/* ---------------------------------------------------------------- one tenant */

function keyStatus(key) {
  if (key.revoked_at || !key.is_active) return badge("revoked", "muted");
  const expires = parseDate(key.expires_at);
  if (expires && expires.getTime() <= Date.now()) return badge("expired", "muted");
  return badge("active", "ok");
}

function subscriptionCard(detail) {
  const s = detail.tenant.subscription;
  return card("Subscription", { id: "subscription" },
    s && s.id ? details([
      ["Plan", h("span", null, h("strong", null, s.plan), s.period !== "NOT_DEFINE" ? ` · ${s.period}` : "")],
      ["Status", h("span", { class: "row-tight" }, badge(s.status), s.cancel_at_period_end ? badge("cancels at period end", "warn") : null)],
      ["Started", time(s.start_at)],
      [s.status === "TRIALING" ? "Trial ends" : "Period ends", h("span", { id: "subscription-end" }, time(s.end_at, { relative: true }))],
      s.ended_at ? ["Ended", time(s.ended_at)] : null,
      ["Subscription", code(s.id, { class: "small" })],
    ]) : h("p", { class: "empty" }, "This tenant has no subscription."));
}

/** The balances of the tenant's detail answer: shown when the balance route cannot be read. */
function detailBalances(detail) {
  const byCategory = new Map();
  for (const g of detail.grants) {
    const entry = byCategory.get(g.category) || { next: null, nextAmount: "0" };
    const expires = parseDate(g.expires_at);
    if (BigInt(g.remaining) > 0n && expires && (!entry.next || expires < entry.next)) { entry.next = expires; entry.nextAmount = g.remaining; }
    byCategory.set(g.category, entry);
  }
  const balances = detail.tenant.balances || [];
  return balances.length ? h("ul", { class: "balances" }, balances.map((b) => {
    const soon = byCategory.get(b.category);
    return h("li", { "data-category": b.category },
      h("div", { class: "balance-head" }, code(b.category, { class: "small" }), int(b.remaining, { class: "balance-value" })),
      soon && soon.next ? h("div", { class: "muted small" }, `${formatInt(soon.nextAmount)} expire first: `, time(soon.next), ` (${formatRelative(soon.next)})`) : null);
  })) : h("p", { class: "empty" }, "No live credits.");
}

function trialAction(tenantName, reload) {
  const slot = noticeSlot({ id: "trial-notice" });
  const input = h("input", { type: "datetime-local", name: "new_end_at", step: "60", required: true });
  const endField = field("New trial end (your local time)", input, { id: "trial-end" });
  const shift = h("p", { class: "muted small", id: "trial-shift", "aria-live": "polite" });
  let current = null; // the trial's end as stored
  let exact = null; // the chosen instant when set by the buttons (keeps the seconds)

  const chosen = () => exact || fromLocalInput(input.value);
  const describe = () => {
    const date = chosen();
    const delta = date && current ? date.getTime() - current.getTime() : 0;
    shift.textContent = !date || !current ? "" : delta === 0 ? "The current trial end." : `${formatShift(delta)} from the current end`;
  };
  const moveBy = (days) => {
    const base = chosen() || current || new Date();
    exact = new Date(base.getTime() + days * DAY);
    input.value = toLocalInput(exact);
    endField.setError("");
    describe();
  };
  input.addEventListener("input", () => { exact = null; describe(); });

  const quick = h("div", { class: "quick", role: "group", "aria-label": "Move the trial end" },
    [-7, -1, 1, 7, 14, 30].map((days) => button(`${days > 0 ? "+" : "−"}${Math.abs(days)} d`, {
      size: "sm", class: "btn-quick", "aria-label": `${days > 0 ? "Extend" : "Shorten"} by ${Math.abs(days)} day${Math.abs(days) > 1 ? "s" : ""}`,
      "data-days": String(days), onclick: () => moveBy(days),
    })));
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "trial-submit" }, "Change trial end…");
  const form = h("form", { class: "stack", novalidate: true, id: "trial-form" }, endField, quick, shift, h("div", { class: "row" }, submit));
  const body = h("div");
  const section = card("Trial", { id: "trial-action", description: "Extend or shorten a running trial; its trial credits follow." }, body, slot);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    slot.clear();
    const date = chosen();
    let message = check.futureDate(date, "The new trial end");
    if (!message && current && date.getTime() === current.getTime()) message = "That is the current trial end.";
    if (!validate([[endField, message]])) return;
    const run = busy(submit, async () => {
      const ok = await confirmDialog({
        title: "Change the trial end?",
        body: [
          h("p", null, "Move the trial of ", h("strong", null, tenantName), ":"),
          details([["From", time(current)], ["To", time(date)], ["Change", formatShift(date.getTime() - current.getTime())]]),
        ],
        confirmLabel: "Change trial end",
      });
      if (!ok) return;
      try {
        const { subscription } = await api("POST", `/v1/admin/tenants/${enc(section.tenantId)}/subscription`, { new_end_at: date.toISOString() });
        slot.show("ok", "Trial end moved: the trial now ends ", time(subscription.end_at), ".");
        await reload();
      } catch (error) {
        slot.error(error);
      }
    });
    await run();
  });

  section.update = (detail) => {
    section.tenantId = detail.tenant.id;
    const s = detail.tenant.subscription;
    if (s && s.status === "TRIALING" && s.end_at) {
      current = parseDate(s.end_at);
      exact = current;
      input.value = toLocalInput(current);
      describe();
      body.replaceChildren(form);
    } else {
      current = null;
      body.replaceChildren(h("p", { class: "muted" }, `Only a trial's end can be moved; this tenant is ${s ? s.status : "NO_SUBSCRIPTION"}${s && s.plan ? ` on ${s.plan}` : ""}.`));
    }
    // Only a running trial can move: otherwise the grant form takes the whole row.
    section.hidden = !current;
    if (section.partner) section.partner.classList.toggle("span-all", !current);
  };
  return section;
}

function grantAction(tenantName, categories, reload) {
  const slot = noticeSlot({ id: "grant-notice" });
  const listId = uid("categories");
  const category = h("input", { type: "text", name: "category", list: listId, value: categories[0] || "USAGE_AI_CREDIT", autocomplete: "off", spellcheck: "false", class: "mono" });
  const amount = h("input", { type: "text", name: "amount", inputmode: "numeric", autocomplete: "off", placeholder: "e.g. 500" });
  const defaultExpiry = () => { const d = new Date(Date.now() + 30 * DAY); d.setMinutes(0, 0, 0); return d; };
  const expires = h("input", { type: "datetime-local", name: "expires_at", step: "60", value: toLocalInput(defaultExpiry()) });
  const reason = h("input", { type: "text", name: "reason", maxlength: "500", autocomplete: "off", placeholder: "e.g. goodwill after the outage of 3 May" });
  const fields = {
    category: field("Category", category, { id: "grant-category" }),
    amount: field("Credits", amount, { id: "grant-amount" }),
    expires: field("Valid until (your local time)", expires, { id: "grant-expires" }),
    reason: field("Reason (kept in the audit trail)", reason, { id: "grant-reason", wide: true }),
  };
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "grant-submit" }, "Grant credits…");
  const form = h("form", { class: "form-grid", novalidate: true, id: "grant-form" },
    datalist(listId, categories), Object.values(fields), h("div", { class: "row field-wide" }, submit));
  const section = card("Grant credits", { id: "grant-action", description: "Adds an operator grant that burns after plan credits." }, form, slot);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    slot.clear();
    category.value = category.value.trim().toUpperCase();
    amount.value = amount.value.trim().replace(/[\s,_]/g, "");
    const until = fromLocalInput(expires.value);
    const ok = validate([
      [fields.category, check.category(category.value)],
      [fields.amount, check.positiveInt(amount.value, "The number of credits")],
      [fields.expires, check.futureDate(until, "The expiry")],
      [fields.reason, check.required(reason.value, "A reason")],
    ]);
    if (!ok) return;
    const run = busy(submit, async () => {
      const confirmed = await confirmDialog({
        title: "Grant credits?",
        body: [
          h("p", null, "Grant ", h("strong", null, `${formatInt(amount.value)} ${category.value}`), " credits to ", h("strong", null, tenantName), "."),
          details([["Valid until", time(until)], ["Reason", reason.value.trim()]]),
        ],
        confirmLabel: "Grant credits",
      });
      if (!confirmed) return;
      try {
        const { grant } = await api("POST", `/v1/admin/tenants/${enc(section.tenantId)}/credits`, {
          category: category.value, amount: amount.value, expires_at: until.toISOString(), reason: reason.value.trim(),
        });
        slot.show("ok", `Granted ${formatInt(grant.amount)} ${grant.category} credits, valid until `, time(grant.expires_at), ".");
        amount.value = "";
        reason.value = "";
        await reload();
      } catch (error) {
        slot.error(error);
      }
    });
    await run();
  });
  section.update = (detail) => { section.tenantId = detail.tenant.id; };
  return section;
}

export async function tenantPage(ctx) {
  const id = ctx.args[0];
  const [first, plans, firstCredits] = await Promise.all([
    api("GET", `/v1/admin/tenants/${enc(id)}`),
    api("GET", "/v1/usage/plans").then((r) => r.plans).catch(() => []),
    loadCredits(id, creditParams(ctx.params)),
  ]);
  const tenantName = first.tenant.name || id;
  const tenantPlan = plans.find((p) => p.plan_name === id);
  const categories = [...new Set([
    ...first.tenant.balances.map((b) => b.category),
    ...(firstCredits.balance.data ? firstCredits.balance.data.balances.map((b) => b.category) : []),
    ...plans.flatMap((p) => p.config.usage_configs.map((u) => u.category)),
  ])].sort();
  let latest = first;

  const headerSlot = h("div");
  const subscriptionSlot = h("div", { class: "slot" });
  const balancesSlot = h("div", { class: "slot" });
  const restSlot = h("div", { class: "stack-lg" });
  const invoiceNotice = noticeSlot({ id: "invoice-notice" });
  const keyNotice = noticeSlot({ id: "key-notice" });

  const credits = creditSections(ctx, id, firstCredits, { categories, fallbackBalances: () => detailBalances(latest) });
  balancesSlot.replaceChildren(credits.balances);

  const reload = async () => {
    const [detail] = await Promise.all([api("GET", `/v1/admin/tenants/${enc(id)}`), credits.reload()]);
    if (ctx.isCurrent()) fill(detail);
  };
  const trial = trialAction(tenantName, reload);
  const grant = grantAction(tenantName, categories, reload);
  trial.partner = grant;

  function fill(detail) {
    latest = detail;
    const t = detail.tenant;
    headerSlot.replaceChildren(pageHeader(t.name || t.id, {
      crumbs: [link("#/tenants", "Tenants"), h("span", null, t.name || t.id)],
      subtitle: [code(t.id), " · created ", time(t.created_at), " · ", plural(t.members, "member")],
      actions: [
        link(`#/invoices?tenant_id=${enc(t.id)}`, "Invoices", { class: "btn" }),
        link(`#/audit?tenant_id=${enc(t.id)}`, "Audit trail", { class: "btn" }),
        tenantPlan ? link(`#/plans/${enc(t.id)}`, "Tenant plan", { class: "btn" })
          : link(`#/plans/new?name=${enc(t.id)}`, "Create tenant plan", { class: "btn", title: "A plan named by this tenant's id applies to its CUSTOM subscription" }),
      ],
    }));
    subscriptionSlot.replaceChildren(subscriptionCard(detail));
    credits.update(detail);
    trial.update(detail);
    grant.update(detail);

    const members = card("Members", { id: "members" }, table([
      { label: "Name", render: (m) => m.name || h("span", { class: "muted" }, "—") },
      { label: "Email", render: (m) => link(`#/users?q=${enc(m.email)}`, m.email) },
      { label: "Role", render: (m) => badge(m.role) },
      { label: "Status", render: (m) => badge(m.status) },
      { label: "Joined / invited", render: (m) => time(m.joined_at) },
    ], detail.members, { empty: "No members.", label: "Members" }));

    const grants = card("Credit grants", { id: "grants", description: "Live grants, in the order they burn (priority, then soonest expiry)" }, table([
      { label: "Category", render: (g) => code(g.category, { class: "small" }) },
      { label: "Source", render: (g) => badge(g.source) },
      { label: "Amount", numeric: true, render: (g) => int(g.amount) },
      { label: "Used", numeric: true, render: (g) => int(g.used) },
      { label: "Remaining", numeric: true, render: (g) => int(g.remaining, { class: "strong" }) },
      { label: "Valid from", render: (g) => time(g.effective_at) },
      { label: "Expires", render: (g) => time(g.expires_at, { relative: true }) },
      { label: "Reason", render: (g) => g.reason || h("span", { class: "muted" }, "—") },
    ], detail.grants, { empty: "No live grant.", label: "Credit grants" }));

    const agents = card("Usage per agent", { id: "agents" }, table([
      { label: "Agent", render: (a) => (a.agent_id ? code(a.agent_id) : h("span", { class: "muted" }, "(no agent)")) },
      { label: "Credits used", numeric: true, render: (a) => int(a.used) },
    ], detail.agents, { empty: "No credits consumed yet.", label: "Usage per agent" }));

    const keys = card("API keys", { id: "api-keys", description: "The tenant's owners and admins create keys; revoking one stops it at once." }, keyNotice, table([
      { label: "Name", render: (k) => k.name || h("span", { class: "muted" }, "—") },
      { label: "Key", render: (k) => code(`${k.key_prefix}…`, { class: "small" }) },
      { label: "Scopes", render: (k) => chips(k.scopes) },
      { label: "Status", render: keyStatus },
      { label: "Created", render: (k) => time(k.created_at) },
      { label: "Last used", render: (k) => time(k.last_used_at) },
      { label: "Expires", render: (k) => (k.expires_at ? time(k.expires_at) : h("span", { class: "muted" }, "never")) },
      { label: "Action", render: (k) => (k.is_active ? revokeButton(k, tenantName, keyNotice, reload) : h("span", { class: "muted" }, "—")) },
    ], detail.api_keys, { empty: "No API key.", label: "API keys" }));

    const invoices = card("Invoices", { id: "invoices", actions: link(`#/invoices?tenant_id=${enc(t.id)}`, "All invoices") },
      invoiceNotice,
      table(invoiceColumns({
        tenant: false,
        onPay: (invoice, buttonEl) => markPaidFlow(invoice, tenantName, invoiceNotice, buttonEl, reload),
      }), detail.invoices, { empty: "No invoice.", label: "Invoices" }));

    const history = card("Subscription history", { id: "subscription-history" }, table([
      { label: "Plan", render: planCell },
      { label: "Status", render: statusCell },
      { label: "Started", render: (s) => time(s.start_at) },
      { label: "Ends", render: (s) => time(s.end_at) },
      { label: "Ended", render: (s) => time(s.ended_at) },
      { label: "Subscription", render: (s) => shortId(s.id, { class: "small muted" }) },
    ], detail.subscriptions, { empty: "No subscription yet.", label: "Subscription history" }));

    restSlot.replaceChildren(h("div", { class: "grid grid-2-1" }, members, agents), grants, credits.ledger, credits.caps, credits.alerts,
      invoices, keys, history);
  }

  fill(first);
  return h("div", { class: "page", "data-tenant-id": id },
    headerSlot,
    h("div", { class: "grid grid-2" }, subscriptionSlot, balancesSlot, trial, grant),
    restSlot);
}


/** A button that asks for confirmation, then revokes the key and reloads the page. */
function revokeButton(key, tenantName, slot, reload) {
  const b = button("Revoke…", { size: "sm", tone: "danger", "data-key": key.id });
  b.addEventListener("click", async () => {
    slot.clear();
    const ok = await confirmDialog({
      title: `Revoke the key “${key.name}”?`,
      body: [
        h("p", null, "Services of ", h("strong", null, tenantName), " using ", code(`${key.key_prefix}…`), " are refused from their next request."),
        h("p", { class: "muted" }, "A revoked key cannot be restored; the tenant can create another."),
      ],
      confirmLabel: "Revoke key",
      tone: "danger",
    });
    if (!ok) return;
    b.disabled = true;
    try {
      await api("DELETE", `/v1/admin/api-keys/${enc(key.id)}`);
      slot.show("ok", `The key “${key.name}” is revoked.`);
      await reload();
    } catch (error) {
      slot.error(error);
      b.disabled = false;
    }
  });
  return b;
}

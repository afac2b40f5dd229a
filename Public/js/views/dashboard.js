// #/dashboard: GET /v1/admin/overview in one call (tenants_below_threshold included), and
// the revenue beside it: MRR per currency, revenue by plan, 12 months of revenue.

import { api } from "../api.js";
import { barChart, proportionList } from "../chart.js";
import { badge, card, emptyState, errorText, h, int, link, notice, pageHeader, table, time } from "../dom.js";
import { formatDay, formatInt, formatMoney, formatRelative, plural, sumInts, toBigInt } from "../format.js";
import { jobColumns } from "./jobs.js";

export const STATUSES = ["TRIALING", "ACTIVE", "PAST_DUE", "CANCELED", "EXPIRED", "NO_SUBSCRIPTION"];
const STATUS_TONES = { TRIALING: "info", ACTIVE: "ok", PAST_DUE: "warn", CANCELED: "muted", EXPIRED: "muted", NO_SUBSCRIPTION: "muted" };

function stat(label, value, { hint, href, tone, id, valueClass = "stat-value", data } = {}) {
  const body = [h("span", { class: "stat-label" }, label), h("span", { class: [valueClass, tone && `text-${tone}`] }, value), hint ? h("span", { class: "stat-hint" }, hint) : null];
  return href ? h("a", { class: "stat stat-link", href, id, dataset: data }, body) : h("div", { class: "stat", id, dataset: data }, body);
}

/** Tenants whose credits are at or below one of their alert thresholds in this window. */
function belowThreshold(count) {
  if (count === undefined || count === null) {
    return stat("Low on credits", "—", { hint: "not reported by this daemon", id: "stat-below-threshold" });
  }
  const some = (toBigInt(count) ?? 0n) > 0n;
  return stat("Low on credits", formatInt(count), {
    id: "stat-below-threshold", tone: some ? "warn" : null,
    hint: some ? `${count === "1" || count === 1 ? "tenant" : "tenants"} at or below an alert threshold` : "no tenant below an alert threshold",
  });
}

const monthFormat = new Intl.DateTimeFormat(undefined, { month: "short", year: "2-digit", timeZone: "UTC" });
/** "Dec 26" for a UTC month "2026-12". */
const formatMonth = (month) => (/^\d{4}-\d{2}$/.test(month) ? monthFormat.format(new Date(`${month}-01T00:00:00Z`)) : month);

/** One MRR card per currency (never added together); the figures in .mrr-value. */
function mrrCards(rows) {
  return h("div", { class: "stats revenue-stats", id: "mrr" }, rows.map((r) => stat(`MRR · ${r.currency}`, formatMoney(r.total_mrr, r.currency), {
    id: `mrr-${r.currency}`, valueClass: "mrr-value", data: { currency: r.currency },
    hint: `${formatInt(r.active_subscriptions)} active · ${formatInt(r.past_due_subscriptions)} past due · ${formatInt(r.trial_subscriptions)} trialing`,
  })));
}

/** A bar chart of one currency's months, its figures in the aria-label and in a table under it. */
function monthlyChart(currency, months) {
  const total = months.reduce((sum, m) => sum + Number(m.total_revenue), 0);
  const peak = months.reduce((best, m) => (best === null || Number(m.total_revenue) > Number(best.total_revenue) ? m : best), null);
  const label = `Revenue per month in ${currency} over the last ${months.length} months: ${formatMoney(total, currency)} in total` +
    (peak && Number(peak.total_revenue) > 0 ? `, peak ${formatMoney(peak.total_revenue, currency)} in ${formatMonth(peak.month)}.` : ".");
  const invoices = (m) => `${plural(m.invoice_count, "invoice")} issued, ${formatInt(m.paid_count)} paid`;
  return h("div", { class: "revenue-series", "data-currency": currency },
    h("h3", { class: "revenue-series-title" }, currency, h("span", { class: "muted small" }, ` · ${formatMoney(total, currency)} in ${months.length} months`)),
    barChart(months.map((m) => ({
      label: formatMonth(m.month), value: m.total_revenue, title: `${formatMonth(m.month)}: ${formatMoney(m.total_revenue, currency)} · ${invoices(m)}`,
    })), { label }),
    h("details", { class: "chart-figures" }, h("summary", null, `The figures in ${currency}`),
      table([
        { label: "Month", render: (m) => h("span", { "data-month": m.month }, formatMonth(m.month)) },
        { label: "Revenue", numeric: true, render: (m) => formatMoney(m.total_revenue, currency) },
        { label: "Invoices issued", numeric: true, render: (m) => int(m.invoice_count) },
        { label: "Paid", numeric: true, render: (m) => int(m.paid_count) },
      ], months, { label: `Revenue per month in ${currency}` })));
}

/** The revenue figures, or why they are missing; never one total across currencies. */
async function revenue() {
  let mrr;
  let byPlan;
  let monthly;
  try {
    [mrr, byPlan, monthly] = await Promise.all([
      api("GET", "/v1/admin/revenue/mrr"), api("GET", "/v1/admin/revenue/by-plan"), api("GET", "/v1/admin/revenue/monthly?months=12")]);
  } catch (error) {
    if (error && error.status === 401) throw error;
    return h("section", { class: "revenue", id: "revenue" }, notice("error", `Revenue is not available: ${errorText(error)}`));
  }
  const currencies = [...new Set(monthly.months.map((m) => m.currency))];
  const paidSomething = monthly.months.some((m) => Number(m.total_revenue) !== 0);
  const heading = h("h2", { class: "section-title", id: "revenue-title" }, "Revenue");
  if (!mrr.mrr.length && !byPlan.plans.length && !paidSomething) {
    return h("section", { class: "revenue stack", id: "revenue", "aria-labelledby": "revenue-title" }, heading,
      emptyState(`No revenue yet: no paid subscription and no payment in the last 12 months${toBigInt(mrr.trial_subscriptions) ? ` (${plural(mrr.trial_subscriptions, "trial")} under way)` : ""}.`,
        link("#/variants", "Prices & add-ons", { class: "btn" }), link("#/coupons", "Coupons", { class: "btn" })));
  }
  const chart = card("Revenue per month", {
    id: "revenue-chart", class: "span-2", description: "Paid in each UTC month less refunds, one chart per currency",
  }, currencies.length ? currencies.map((cur) => monthlyChart(cur, monthly.months.filter((m) => m.currency === cur)))
    : h("p", { class: "empty" }, "No invoice in the last 12 months."));
  const plans = card("Revenue by plan", { id: "revenue-by-plan", description: "Monthly, at the renewal price" },
    table([
      { label: "Plan", render: (p) => link(`#/tenants?plan=${encodeURIComponent(p.plan_id)}&status=ACTIVE`, p.plan_name || p.plan_id) },
      { label: "Subscribers", numeric: true, render: (p) => int(p.subscriber_count) },
      { label: "Monthly", numeric: true, class: "revenue-amount", render: (p) => formatMoney(p.monthly_revenue, p.currency) },
    ], byPlan.plans, { empty: "No paid subscription.", label: "Revenue by plan", rowClass: () => "revenue-plan-row" }));
  return h("section", { class: "revenue stack", id: "revenue", "aria-labelledby": "revenue-title" }, heading,
    mrr.mrr.length ? mrrCards(mrr.mrr) : h("p", { class: "muted", id: "mrr" }, "No live paid subscription: no recurring revenue."),
    h("div", { class: "grid grid-3 grid-top" }, chart, plans));
}

export async function dashboard() {
  const [o, revenueSection] = await Promise.all([api("GET", "/v1/admin/overview"), revenue()]);
  const byStatus = o.tenants_by_status || {};
  const totalTenants = sumInts(Object.values(byStatus));
  const paidTotal = sumInts(o.paid_by_plan.map((p) => p.count));
  const openCount = sumInts(o.open_invoices.map((i) => i.count));
  const credits30 = sumInts(o.credits_per_day.map((d) => d.amount));
  const today = o.credits_per_day.length ? o.credits_per_day[o.credits_per_day.length - 1] : null;
  const failing = o.jobs.filter((j) => j.last_result === "failed");
  const paidPerPlan = new Map();
  for (const p of o.paid_by_plan) paidPerPlan.set(p.plan, (paidPerPlan.get(p.plan) || 0n) + BigInt(p.count));

  const stats = h("div", { class: "stats" },
    stat("Tenants", formatInt(totalTenants), { href: "#/tenants", hint: `${formatInt(byStatus.TRIALING || 0)} trialing` }),
    stat("Paid subscriptions", formatInt(paidTotal), { href: "#/tenants?status=ACTIVE", hint: paidPerPlan.size ? [...paidPerPlan].map(([plan, n]) => `${plan} ${formatInt(n)}`).join(" · ") : "none yet" }),
    stat("Trials ending ≤ 7 d", formatInt(o.trials_ending.length), { tone: o.trials_ending.length ? "warn" : null, hint: o.trials_ending.length ? `next ${formatRelative(o.trials_ending[0].end_at)}` : "none" }),
    stat("Open invoices", formatInt(openCount), {
      href: "#/invoices?status=open",
      hint: o.open_invoices.length ? o.open_invoices.map((i) => formatMoney(i.total, i.currency)).join(" · ") : "nothing to collect",
    }),
    stat("Credits · 30 days", formatInt(credits30), { hint: today ? `${formatInt(today.amount)} today (UTC)` : "" }),
    belowThreshold(o.tenants_below_threshold));

  const peak = o.credits_per_day.reduce((best, d) => (best === null || BigInt(d.amount) > BigInt(best.amount) ? d : best), null);
  const chartLabel = `Credits consumed per day over the last 30 days: ${formatInt(credits30)} in total` +
    (peak && BigInt(peak.amount) > 0n ? `, peak ${formatInt(peak.amount)} on ${formatDay(peak.day)}.` : ".");
  const chart = card("Credits consumed per day", {
    id: "credits-chart", class: "span-2", description: "Last 30 days, all tenants and categories (UTC days)",
    actions: h("span", { class: "chart-total" }, h("strong", null, formatInt(credits30)), " credits"),
  },
  barChart(o.credits_per_day.map((d) => ({ label: formatDay(d.day), value: d.amount, title: `${formatDay(d.day)}: ${formatInt(d.amount)} credits` })), { label: chartLabel }),
  credits30 === 0n ? h("p", { class: "muted small" }, "No credits consumed in the last 30 days.") : null);

  const statuses = card("Tenants by subscription status", { id: "tenants-by-status" },
    proportionList(STATUSES.map((s) => ({
      label: s, value: byStatus[s] || "0", href: `#/tenants?status=${s}`, tone: STATUS_TONES[s],
    }))));

  const trials = card("Trials ending within 7 days", { id: "trials-ending" },
    table([
      { label: "Tenant", render: (t) => link(`#/tenants/${encodeURIComponent(t.tenant_id)}`, t.name || t.tenant_id) },
      { label: "Trial ends", render: (t) => time(t.end_at, { relative: true }) },
    ], o.trials_ending, { empty: "No trial ends in the next 7 days.", label: "Trials ending" }));

  const paid = card("Active paid subscriptions", { id: "paid-by-plan" },
    table([
      { label: "Plan", render: (p) => link(`#/tenants?plan=${encodeURIComponent(p.plan)}&status=ACTIVE`, p.plan) },
      { label: "Period", render: (p) => p.period },
      { label: "Subscriptions", numeric: true, render: (p) => int(p.count) },
    ], o.paid_by_plan, { empty: "No paid subscription yet.", label: "Paid subscriptions by plan" }));

  const invoices = card("Open invoices", { id: "open-invoices", actions: link("#/invoices?status=open", "All open invoices") },
    table([
      { label: "Currency", render: (i) => i.currency },
      { label: "Invoices", numeric: true, render: (i) => int(i.count) },
      { label: "Total", numeric: true, render: (i) => formatMoney(i.total, i.currency) },
    ], o.open_invoices, { empty: "No open invoice.", label: "Open invoices by currency" }));

  const timers = card("Timers", { id: "timers", class: "span-3", actions: link("#/jobs", "Details") },
    failing.length ? notice("error", `${failing.length} timer${failing.length > 1 ? "s" : ""} failed on the last run: ${failing.map((j) => j.id).join(", ")}.`) : null,
    table(jobColumns({ compact: true }), o.jobs, { empty: "No timer has run yet.", label: "Timers" }));

  return h("div", { class: "page" },
    pageHeader("Dashboard", { subtitle: ["Everything at a glance · ", badge(failing.length ? "timers failing" : "timers ok", failing.length ? "danger" : "ok")] }),
    stats,
    revenueSection,
    h("div", { class: "grid grid-3" }, chart, statuses, trials, paid, invoices, timers));
}

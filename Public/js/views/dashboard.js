// #/dashboard: GET /v1/admin/overview in one call (tenants_below_threshold included).

import { api } from "../api.js";
import { barChart, proportionList } from "../chart.js";
import { badge, card, h, int, link, notice, pageHeader, table, time } from "../dom.js";
import { formatDay, formatInt, formatMoney, formatRelative, sumInts, toBigInt } from "../format.js";
import { jobColumns } from "./jobs.js";

export const STATUSES = ["TRIALING", "ACTIVE", "PAST_DUE", "CANCELED", "EXPIRED", "NO_SUBSCRIPTION"];
const STATUS_TONES = { TRIALING: "info", ACTIVE: "ok", PAST_DUE: "warn", CANCELED: "muted", EXPIRED: "muted", NO_SUBSCRIPTION: "muted" };

function stat(label, value, { hint, href, tone, id } = {}) {
  const body = [h("span", { class: "stat-label" }, label), h("span", { class: ["stat-value", tone && `text-${tone}`] }, value), hint ? h("span", { class: "stat-hint" }, hint) : null];
  return href ? h("a", { class: "stat stat-link", href, id }, body) : h("div", { class: "stat", id }, body);
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

export async function dashboard() {
  const o = await api("GET", "/v1/admin/overview");
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
    h("div", { class: "grid grid-3" }, chart, statuses, trials, paid, invoices, timers));
}

// #/ — the plan (and a change scheduled for the period's end), the credit balances, usage per
// day (30 days) and per agent.

import { api, enc } from "./api.js";
import { confirmDialog } from "../dialog.js";
import { badge, busy, button, card, details, h, int, pageHeader, table, time } from "../dom.js";
import { barChart, proportionList } from "../chart.js";
import { formatDay, formatInt, formatRelative, sumInts } from "../format.js";
import { apiErrorText, money, perPeriod, slot } from "./ui.js";

/** The subscription's facts, shared by the overview and the plans page. */
export function subscriptionDetails(sub) {
  const renewal = sub.cancel_at_period_end
    ? h("span", { id: "sub-renewal", class: "text-warn" }, "Cancels at the end of the period: ", time(sub.end_at))
    : sub.end_at ? h("span", { id: "sub-renewal" }, "Renews ", time(sub.end_at)) : h("span", { id: "sub-renewal", class: "muted" }, "—");
  return details([
    ["Plan", h("strong", { id: "sub-plan" }, sub.plan || "—")],
    ["Status", h("span", { id: "sub-status" }, badge(sub.status || "NO_SUBSCRIPTION"))],
    ["Billing period", h("span", { id: "sub-period" }, sub.period || "—")],
    ["Current period", h("span", null, time(sub.start_at), " – ", time(sub.end_at))],
    ["Renewal", renewal],
  ]);
}

/**
 * A downgrade waiting for the period's end ("Changes BUSINESS → PRO on …") with "Keep my
 * current plan" (resume), or null when none is scheduled. The price it moves to is resolved
 * from VARIANTS (the prices on sale; fetched when not given). After resuming, ROUTE is shown
 * again with a notice.
 */
export async function scheduledChange(sub, ctx, route, variants = null) {
  if (!sub.scheduled_variant_id) return null;
  const list = variants || (await api("GET", "/v1/subscription/variants").catch(() => ({}))).variants || [];
  const target = list.find((v) => v.id === sub.scheduled_variant_id);
  const name = target ? target.plan : "another price";
  const errors = slot({ id: "scheduled-notice" });
  const keep = button("Keep my current plan", { tone: "primary", size: "sm", id: "keep-plan" });
  keep.addEventListener("click", busy(keep, async () => {
    const ok = await confirmDialog({
      title: `Keep ${sub.plan}?`,
      body: [h("p", null, "The change to ", name, " on ", time(sub.scheduled_at), " is dropped; ", sub.plan, " renews as it is.")],
      confirmLabel: "Keep my current plan",
    });
    if (!ok) return;
    errors.clear();
    try {
      await api("POST", "/v1/subscription/resume", {});
      ctx.navigate(route, {}, { kind: "ok", text: `You keep ${sub.plan}: the change to ${name} is dropped.` });
    } catch (error) {
      errors.error(error);
    }
  }));
  return h("div", { class: "notice notice-info scheduled-change", id: "scheduled-change", role: "status" },
    h("p", { id: "sub-scheduled" }, "Changes ", h("strong", null, sub.plan), " → ", h("strong", { id: "scheduled-plan" }, name),
      " on ", time(sub.scheduled_at), "."),
    target ? h("p", { class: "small" }, `${target.plan} ${String(target.period).toLowerCase()}, ${money(target.price, target.currency)} ${perPeriod(target.period)}: nothing to pay until then.`) : null,
    h("div", { class: "row" }, keep),
    errors);
}

function balances(list) {
  if (!list.length) return h("p", { class: "empty" }, "No credits yet.");
  return h("ul", { class: "balances", id: "balances" }, list.map((b) => h("li", { "data-category": b.category },
    h("div", { class: "balance-head" },
      h("code", { class: "mono" }, b.category),
      h("span", { class: "balance-available" }, h("span", { class: "balance-value num", "data-value": b.available }, formatInt(b.available)), h("span", { class: "muted small" }, "available"))),
    h("div", { class: "balance-facts muted small" },
      b.held && String(b.held) !== "0" ? h("span", null, `${formatInt(b.held)} held`) : null,
      b.next_expiry_at
        ? h("span", { class: "next-expiry" }, `${formatInt(b.next_expiry_amount)} expire `, time(b.next_expiry_at), ` (${formatRelative(b.next_expiry_at)})`)
        : h("span", { class: "next-expiry" }, "Nothing expires soon")))));
}

export async function overview(ctx) {
  const base = `/v1/usage/tenants/${enc(ctx.tenant.id)}`;
  const [subscription, balance, daily, agents] = await Promise.all([
    api("GET", "/v1/subscription"),
    api("GET", `${base}/balance`).catch((e) => ({ error: e })),
    api("GET", `${base}/daily?days=30`).catch((e) => ({ error: e })),
    api("GET", `${base}/agents`).catch((e) => ({ error: e })),
  ]);
  const sub = subscription.subscription || {};
  const scheduled = await scheduledChange(sub, ctx, "/");
  const failed = (answer) => (answer.error ? h("div", { class: "notice notice-error", role: "alert" }, apiErrorText(answer.error)) : null);

  const days = daily.days || [];
  const total = sumInts(days.map((d) => d.amount));
  const usageCard = card("Usage per day", { id: "usage-daily", description: "Credits used per UTC day, the last 30 days." },
    failed(daily) || [
      h("p", { class: "chart-total" }, h("strong", { id: "usage-total" }, total.toLocaleString()), " credits in 30 days"),
      barChart(days.map((d) => ({ label: formatDay(d.day), value: d.amount, title: `${d.day}: ${formatInt(d.amount)}` })), { label: "Credits used per day, last 30 days" }),
    ]);

  const agentRows = agents.agents || [];
  const agentsCard = card("Usage per agent", { id: "usage-agents", description: "Credits each agent used in the current allowance window." },
    failed(agents) || (agentRows.length
      ? [proportionList(agentRows.slice(0, 8).map((a) => ({ label: h("span", { class: "agent-name" }, a.agent_id || "(no agent)"), value: a.used }))),
        table([
          { label: "Agent", render: (a) => h("code", { class: "mono agent-id" }, a.agent_id || "(no agent)") },
          { label: "Category", render: (a) => h("code", { class: "mono" }, a.category) },
          { label: "Used", numeric: true, render: (a) => int(a.used) },
        ], agentRows, { label: "Usage per agent" })]
      : h("p", { class: "empty" }, "No agent has used credits in this window.")));

  return h("div", { class: "page" },
    pageHeader("Overview", { subtitle: h("span", { class: "tenant-title" }, ctx.tenant.name || "") }),
    h("div", { class: "grid grid-2 grid-top" },
      card("Subscription", { id: "subscription", actions: h("a", { href: "#/plans", class: "btn btn-sm" }, "Plans") }, subscriptionDetails(sub), scheduled),
      card("Credits", { id: "credits", description: "What you can spend now, per category." }, failed(balance) || balances(balance.balances || []))),
    usageCard,
    agentsCard);
}

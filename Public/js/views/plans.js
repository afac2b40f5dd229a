// #/plans (every plan, delete when unused) and #/plans/new, #/plans/{name} (the editor of
// every field of a plan's config).

import { api, enc } from "../api.js";
import { confirmDialog } from "../dialog.js";
import {
  badge, busy, button, card, checkbox, chips, code, datalist, field, h, int, link, noticeSlot, pageHeader, time, uid, validate,
} from "../dom.js";
import { formatDate, formatDateTime, formatInt } from "../format.js";
import * as check from "../validate.js";
import { BUILTIN_PLANS } from "./tenants.js";

const TRIAL_PLANS = ["NEW_USER_TRIAL", "BYOA_USER_TRIAL"];
export const FEATURES = [
  ["lead_qualification", "Lead qualification"],
  ["ai_web_widget", "AI web widget"],
  ["magic_spotlight", "Magic spotlight"],
  ["multi_lingual", "Multi-lingual"],
  ["conversation_insights", "Conversation insights"],
  ["voice_agent", "Voice agent"],
  ["custom_branding_footer", "Custom branding footer"],
];
// The lists hold enum names of the seed's API, each with its prefix (…_UNKNOWN is the unset value).
const LISTS = [
  ["lead_collections", "Lead collections", "LEADCOLLECTION_", "LEADCOLLECTION_EMAIL, LEADCOLLECTION_PHONE"],
  ["train_material_types", "Training material types", "TRAINMAT_", "TRAINMAT_WEBSITE, TRAINMAT_PDF"],
  ["integration_types", "Integration types", "PLATFORM_", "PLATFORM_SLACK, PLATFORM_HUBSPOT"],
];
const ANALYTICS = ["ANALYTICS_BASIC", "ANALYTICS_ADVANCED"];
const TENANT_ID = /^tnt_[a-z0-9]+$/;

function kindOf(plan) {
  if (TENANT_ID.test(plan.plan_name)) return badge("tenant plan", "accent");
  if (TRIAL_PLANS.includes(plan.plan_name)) return badge("trial", "info");
  return badge("built-in", "muted");
}

async function deletePlan(plan, slot, ctx, buttonEl) {
  slot.clear();
  const ok = await confirmDialog({
    title: `Delete plan ${plan.plan_name}?`,
    body: [h("p", null, "No subscription has used ", h("strong", null, plan.plan_name), ", so it can be deleted. This cannot be undone.")],
    confirmLabel: "Delete plan", tone: "danger",
  });
  if (!ok) return;
  buttonEl.disabled = true;
  try {
    await api("DELETE", `/v1/usage/plans/${enc(plan.plan_name)}`);
    ctx.navigate("/plans", {}, { kind: "ok", text: `Plan ${plan.plan_name} deleted.` });
  } catch (error) {
    slot.error(error);
    buttonEl.disabled = false;
  }
}

function planCard(plan, slot, ctx) {
  const c = plan.config;
  const features = FEATURES.filter(([key]) => c[key]).map(([, label]) => label);
  const del = button("Delete…", { size: "sm", tone: "danger-ghost", disabled: plan.has_used, title: plan.has_used ? "Used by a subscription: it cannot be deleted" : null, "data-plan": plan.plan_name });
  del.addEventListener("click", () => deletePlan(plan, slot, ctx, del));
  return h("article", { class: "plan-card", "data-plan": plan.plan_name },
    h("header", { class: "plan-card-header" },
      h("h2", null, link(`#/plans/${enc(plan.plan_name)}`, plan.plan_name)),
      h("div", { class: "row-tight" }, kindOf(plan), plan.has_used ? badge("in use", "ok") : badge("unused", "muted"))),
    h("p", { class: "muted small plan-description" }, plan.description || "No description"),
    h("ul", { class: "allowances" }, c.usage_configs.length ? c.usage_configs.map((u) =>
      h("li", null, code(u.category, { class: "small" }), int(u.total_amount, { class: "strong" }))) : h("li", { class: "muted" }, "No credit allowance")),
    h("dl", { class: "facts" },
      h("div", null, h("dt", null, "Team members"), h("dd", null, c.team_members === -1 ? "unlimited" : formatInt(c.team_members))),
      h("div", null, h("dt", null, "Credits valid"), h("dd", null, plan.credit_extension ? `+${plan.credit_extension} days` : "period only")),
      h("div", null, h("dt", null, "Trial"), h("dd", null, plan.trial_days ? `${plan.trial_days} days` : "—")),
      h("div", null, h("dt", null, "Analytics"), h("dd", null, (c.analytics || "").replace(/^ANALYTICS_/, "").toLowerCase() || "—"))),
    h("div", { class: "plan-features" }, chips(features, { empty: "No feature flag" })),
    h("footer", { class: "plan-card-footer" },
      h("span", { class: "row-tight" }, link(`#/plans/${enc(plan.plan_name)}`, "Edit", { class: "btn btn-sm" }), plan.has_used ? null : del),
      h("span", { class: "muted small", title: `Updated ${formatDateTime(plan.updated_at)}` }, "Updated ", formatDate(plan.updated_at))));
}

export async function planList(ctx) {
  const { plans } = await api("GET", "/v1/usage/plans");
  const slot = noticeSlot({ id: "plans-notice" });
  if (ctx.flash) slot.show(ctx.flash.kind, ctx.flash.text);
  const builtIn = plans.filter((p) => !TENANT_ID.test(p.plan_name));
  const tenantPlans = plans.filter((p) => TENANT_ID.test(p.plan_name));
  return h("div", { class: "page" },
    pageHeader("Plans", {
      subtitle: "Allowances and features. Editing a plan changes future grants only; credits already granted keep their amounts.",
      actions: link("#/plans/new", "New plan", { class: "btn btn-primary", id: "new-plan" }),
    }),
    slot,
    h("div", { class: "plan-grid" }, builtIn.map((p) => planCard(p, slot, ctx))),
    h("h2", { class: "section-title" }, "Tenant-specific plans"),
    tenantPlans.length ? h("div", { class: "plan-grid" }, tenantPlans.map((p) => planCard(p, slot, ctx)))
      : h("p", { class: "empty" }, "None. A plan named by a tenant's id applies to that tenant's CUSTOM subscription; create one from the tenant's page or with New plan."));
}

/* ---------------------------------------------------------------- the editor */

function allowanceRow(onRemove, entry = { category: "", total_amount: "" }) {
  const categoryInput = h("input", { type: "text", value: entry.category, placeholder: "USAGE_AI_CREDIT", autocomplete: "off", spellcheck: "false", class: "mono", "data-role": "category" });
  const amountInput = h("input", { type: "text", value: String(entry.total_amount ?? ""), inputmode: "numeric", autocomplete: "off", placeholder: "10000", "data-role": "amount" });
  const categoryField = field("Category", categoryInput);
  const amountField = field("Credits per month", amountInput);
  const remove = button("Remove", { size: "sm", tone: "ghost", class: "allowance-remove" });
  const row = h("div", { class: "allowance-row", role: "group", "aria-label": "Credit allowance" }, categoryField, amountField, remove);
  remove.setAttribute("aria-label", "Remove this allowance");
  remove.addEventListener("click", () => onRemove(row));
  row.read = () => ({ category: categoryInput.value.trim().toUpperCase(), total_amount: amountInput.value.trim().replace(/[\s,_]/g, "") });
  row.checks = () => {
    const value = row.read();
    return [[categoryField, check.category(value.category)], [amountField, check.nonNegativeInt(value.total_amount, "The allowance")]];
  };
  return row;
}

export async function planEditor(ctx, name) {
  const creating = name === null;
  const [plans, existing] = await Promise.all([
    api("GET", "/v1/usage/plans").then((r) => r.plans),
    creating ? Promise.resolve(null) : api("GET", `/v1/usage/plans/${enc(name)}`).then((r) => r.plan),
  ]);
  const suggested = ctx.params.get("name") || "";
  const freeNames = BUILTIN_PLANS.filter((n) => !plans.some((p) => p.plan_name === n));
  const plan = existing || {
    plan_name: suggested, description: "", credit_extension: 0, trial_days: 0,
    config: {
      usage_configs: [{ category: "USAGE_AI_CREDIT", total_amount: "" }], lead_collections: [], train_material_types: [], integration_types: [],
      analytics: "ANALYTICS_BASIC", team_members: 1, ...Object.fromEntries(FEATURES.map(([key]) => [key, false])),
    },
  };
  const c = plan.config;
  const slot = noticeSlot({ id: "plan-notice" });
  if (ctx.flash) slot.show(ctx.flash.kind, ctx.flash.text);

  // General
  const nameList = uid("plan-names");
  const nameInput = h("input", { type: "text", name: "plan_name", value: plan.plan_name, list: nameList, autocomplete: "off", spellcheck: "false", class: "mono", required: true });
  const nameField = creating ? field("Plan name", nameInput, {
    id: "plan-name",
    hint: `A built-in name${freeNames.length ? ` not yet defined (${freeNames.join(", ")})` : ""}, or a tenant id (tnt_…) for that tenant's own plan.`,
  }) : null;
  const description = h("input", { type: "text", name: "description", value: plan.description, autocomplete: "off", maxlength: "500" });
  const descriptionField = field("Description", description, { id: "plan-description", wide: true });
  const extension = h("input", { type: "number", name: "credit_extension", min: "0", step: "1", value: String(plan.credit_extension ?? 0), inputmode: "numeric" });
  const extensionField = field("Credits stay valid after the period (days)", extension, { id: "plan-credit-extension" });
  const trialDays = h("input", { type: "number", name: "trial_days", min: "1", step: "1", value: String(plan.trial_days || 14), inputmode: "numeric" });
  const trialField = field("Trial length (days)", trialDays, { id: "plan-trial-days", hint: "Trial plans only." });
  const isTrial = () => TRIAL_PLANS.includes(creating ? nameInput.value.trim() : plan.plan_name);
  const syncTrial = () => { trialField.hidden = !isTrial(); };
  nameInput.addEventListener("input", syncTrial);
  syncTrial();

  // Allowances
  const rows = h("div", { class: "allowances-editor", id: "plan-allowances" });
  const removeRow = (row) => { row.remove(); if (!rows.children.length) emptyAllowances.hidden = false; };
  const emptyAllowances = h("p", { class: "muted small", hidden: c.usage_configs.length > 0 }, "No allowance: tenants on this plan get no credits each period.");
  c.usage_configs.forEach((u) => rows.append(allowanceRow(removeRow, u)));
  const addRow = button("Add a category", { size: "sm", id: "add-allowance" });
  addRow.addEventListener("click", () => {
    const row = allowanceRow(removeRow);
    rows.append(row);
    emptyAllowances.hidden = true;
    row.querySelector("input").focus();
  });

  // Features and limits
  const flags = FEATURES.map(([key, label]) => {
    const box = checkbox(label, { checked: Boolean(c[key]), name: key });
    box.control.id = `flag-${key}`;
    return [key, box];
  });
  // -1 is the API's "no limit" (0 would be a generated client's "not set").
  const team = h("input", { type: "number", name: "team_members", min: "1", step: "1", value: String(c.team_members > 0 ? c.team_members : 1), inputmode: "numeric" });
  const teamField = field("Team members", team, { id: "plan-team-members", hint: "The most members plus pending invitations." });
  const noTeamLimit = checkbox("No limit on team members", { checked: c.team_members === -1, name: "team_members_unlimited" });
  noTeamLimit.control.id = "plan-team-unlimited";
  team.disabled = noTeamLimit.control.checked;
  noTeamLimit.control.addEventListener("change", () => { team.disabled = noTeamLimit.control.checked; });
  const analyticsList = uid("analytics");
  const analytics = h("input", { type: "text", name: "analytics", value: c.analytics || "ANALYTICS_BASIC", list: analyticsList, autocomplete: "off", spellcheck: "false", class: "mono" });
  const analyticsField = field("Analytics", analytics, { id: "plan-analytics", hint: "ANALYTICS_BASIC, ANALYTICS_ADVANCED or another ANALYTICS_NAME." });
  const lists = LISTS.map(([key, label, prefix, example]) => {
    const input = h("input", { type: "text", name: key, value: (c[key] || []).join(", "), autocomplete: "off", spellcheck: "false", class: "mono" });
    const listField = field(label, input, { id: `plan-${key.replace(/_/g, "-")}`, hint: `Comma-separated ${prefix}NAME values, e.g. ${example}.` });
    return [key, listField, prefix];
  });
  const listItems = (f) => check.list(f.control.value).map((item) => item.toUpperCase());
  const listError = (f, prefix) => {
    const bad = listItems(f).find((item) => !new RegExp(`^${prefix}[A-Z0-9_]+$`).test(item) || item === `${prefix}UNKNOWN`);
    return bad ? `“${bad}” is not a ${prefix}NAME value.` : "";
  };

  const save = h("button", { type: "submit", class: "btn btn-primary", id: "plan-save" }, creating ? "Create plan" : "Save changes");
  const form = h("form", { class: "stack-lg", novalidate: true, id: "plan-form" },
    card("General", { id: "plan-general" }, h("div", { class: "form-grid" }, nameField, descriptionField, extensionField, trialField)),
    card("Credit allowances", { id: "plan-usage", description: "Granted each month of a subscription, and once for a whole trial.", actions: addRow }, rows, emptyAllowances),
    h("div", { class: "grid grid-2 grid-top" },
      card("Features", { id: "plan-features" }, h("div", { class: "checks" }, flags.map(([, box]) => box))),
      card("Limits and lists", { id: "plan-limits" }, h("div", { class: "form-grid form-grid-1" }, teamField, noTeamLimit, analyticsField, lists.map(([, f]) => f)))),
    h("div", { class: "form-footer" }, save, link(creating ? "#/plans" : "#/plans", "Cancel", { class: "btn btn-ghost" }), slot),
    datalist(nameList, [...freeNames]), datalist(analyticsList, ANALYTICS));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    slot.clear();
    const allowanceRows = [...rows.children];
    const entries = allowanceRows.map((row) => row.read());
    const checks = allowanceRows.flatMap((row) => row.checks());
    const seen = new Set();
    allowanceRows.forEach((row, i) => {
      const duplicate = seen.has(entries[i].category);
      seen.add(entries[i].category);
      if (duplicate) checks.push([row.querySelector(".field"), `${entries[i].category} is listed twice.`]);
    });
    const planName = creating ? nameInput.value.trim() : plan.plan_name;
    if (creating) {
      let message = check.required(planName, "A plan name");
      if (!message && !BUILTIN_PLANS.includes(planName) && !TENANT_ID.test(planName)) message = "Use a built-in plan name or a tenant id (tnt_…).";
      if (!message && plans.some((p) => p.plan_name === planName)) message = `Plan ${planName} exists already: edit it instead.`;
      checks.unshift([nameField, message]);
    }
    checks.push([extensionField, check.nonNegativeInt(extension.value, "The extension", 3650)]);
    if (isTrial()) checks.push([trialField, check.positiveInt(trialDays.value, "The trial length") || check.nonNegativeInt(trialDays.value, "The trial length", 3650)]);
    if (!noTeamLimit.control.checked) checks.push([teamField, check.nonNegativeInt(team.value, "The team size", 100000) || (Number(team.value) < 1 ? "The team size must be at least 1, or check “No limit”." : "")]);
    const analyticsValue = analytics.value.trim().toUpperCase();
    checks.push([analyticsField, /^ANALYTICS_[A-Z0-9_]+$/.test(analyticsValue) ? "" : "Analytics looks like ANALYTICS_BASIC."]);
    for (const [, f, prefix] of lists) checks.push([f, listError(f, prefix)]);
    if (!validate(checks)) {
      slot.show("error", "Some fields need attention.");
      return;
    }
    const config = {
      usage_configs: entries.map((e) => ({ category: e.category, total_amount: e.total_amount })),
      ...Object.fromEntries(flags.map(([key, box]) => [key, box.control.checked])),
      ...Object.fromEntries(lists.map(([key, f]) => [key, listItems(f)])),
      analytics: analyticsValue,
      team_members: noTeamLimit.control.checked ? -1 : Number(team.value),
    };
    const body = { config, description: description.value.trim(), credit_extension: Number(extension.value) };
    if (isTrial()) body.trial_days = Number(trialDays.value);
    await busy(save, async () => {
      try {
        if (creating) {
          await api("POST", "/v1/usage/plans", { plan_name: planName, ...body });
          ctx.navigate(`/plans/${enc(planName)}`, {}, { kind: "ok", text: `Plan ${planName} created.` });
        } else {
          const { plan: saved } = await api("PUT", `/v1/usage/plans/${enc(planName)}`, body);
          slot.show("ok", `Saved ${saved.plan_name}. Future grants use these allowances; credits already granted keep theirs.`);
        }
      } catch (error) {
        slot.error(error);
      }
    })();
  });

  const tenantLink = TENANT_ID.test(plan.plan_name) ? link(`#/tenants/${enc(plan.plan_name)}`, "its tenant") : null;
  return h("div", { class: "page" },
    pageHeader(creating ? "New plan" : `Plan ${plan.plan_name}`, {
      crumbs: [link("#/plans", "Plans"), h("span", null, creating ? "New" : plan.plan_name)],
      subtitle: creating ? "Define allowances and features." : [
        existing.has_used ? badge("in use", "ok") : badge("unused", "muted"), " · updated ", time(existing.updated_at),
        tenantLink ? [" · tenant-specific plan of ", tenantLink] : "",
      ],
    }),
    form);
}

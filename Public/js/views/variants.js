// #/variants: prices of plans and add-ons (GET/POST/PUT/DELETE /v1/admin/variants), and
// #/variants/new?kind=plan|addon, #/variants/{id}: the editor.

import { api, enc } from "../api.js";
import { confirmDialog } from "../dialog.js";
import {
  badge, busy, button, card, checkbox, code, field, h, int, link, noticeSlot, pageHeader, select, table, time, validate,
} from "../dom.js";
import { formatMoney } from "../format.js";
import * as check from "../validate.js";

const PERIODS = ["MONTHLY", "YEARLY"];

/** The plans one can put a price on (or a coupon): not a tenant's own, a trial or FREE. */
export const sellablePlans = (plans) => plans.filter((p) => !/^tnt_/.test(p.plan_name) && !/_TRIAL$/.test(p.plan_name) && p.plan_name !== "FREE");

async function deleteVariant(variant, slot, ctx, buttonEl) {
  slot.clear();
  const label = variant.kind === "addon" ? `add-on ${variant.category} × ${variant.units}` : `${variant.plan} ${variant.period}`;
  const ok = await confirmDialog({
    title: "Delete this price?",
    body: [h("p", null, "Delete the ", h("strong", null, label), " price of ", h("strong", null, formatMoney(variant.price, variant.currency)), "?"),
      h("p", { class: "muted" }, "A price never sold is deleted; one already sold is deactivated instead (the daemon says so).")],
    confirmLabel: "Delete", tone: "danger",
  });
  if (!ok) return;
  buttonEl.disabled = true;
  try {
    await api("DELETE", `/v1/admin/variants/${enc(variant.id)}`);
    ctx.navigate("/variants", {}, { kind: "ok", text: `Deleted the ${label} price.` });
  } catch (error) {
    slot.error(error);
    buttonEl.disabled = false;
  }
}

function actions(variant, slot, ctx) {
  const del = button("Delete…", { size: "sm", tone: "danger-ghost", "data-variant": variant.id });
  del.addEventListener("click", () => deleteVariant(variant, slot, ctx, del));
  return h("span", { class: "row-tight" }, link(`#/variants/${enc(variant.id)}`, "Edit", { class: "btn btn-sm" }), del);
}

export async function variantList(ctx) {
  const { variants } = await api("GET", "/v1/admin/variants");
  const slot = noticeSlot({ id: "variants-notice" });
  if (ctx.flash) slot.show(ctx.flash.kind, ctx.flash.text);
  const prices = variants.filter((v) => v.kind === "plan");
  const addons = variants.filter((v) => v.kind === "addon");
  const common = [
    { label: "Price", numeric: true, render: (v) => h("span", { class: "strong" }, formatMoney(v.price, v.currency)) },
    { label: "Description", render: (v) => v.description || h("span", { class: "muted" }, "—") },
    { label: "State", render: (v) => (v.active ? badge("active", "ok") : badge("inactive", "muted")) },
    { label: "Updated", render: (v) => time(v.updated_at) },
    { label: "", class: "actions", render: (v) => actions(v, slot, ctx) },
  ];
  return h("div", { class: "page" },
    pageHeader("Prices & add-ons", {
      subtitle: "What owners can buy: a price per plan and period, and credit add-ons per category.",
      actions: [link("#/variants/new?kind=plan", "New price", { class: "btn btn-primary", id: "new-price" }),
        link("#/variants/new?kind=addon", "New add-on", { class: "btn", id: "new-addon" })],
    }),
    slot,
    card("Plan prices", { id: "plan-prices" }, table([
      { label: "Plan", render: (v) => h("strong", null, v.plan) },
      { label: "Period", render: (v) => v.period },
      ...common,
    ], prices, { empty: "No price yet: owners cannot subscribe to a paid plan until one exists.", label: "Plan prices" })),
    card("Add-ons", { id: "addons" }, table([
      { label: "Category", render: (v) => code(v.category, { class: "small" }) },
      { label: "Credits per unit", numeric: true, render: (v) => int(v.units) },
      ...common,
    ], addons, { empty: "No add-on yet.", label: "Add-ons" })));
}

export async function variantEditor(ctx, id) {
  const creating = id === null;
  const [variant, plans] = await Promise.all([
    creating ? Promise.resolve(null) : api("GET", `/v1/admin/variants/${enc(id)}`).then((r) => r.variant),
    api("GET", "/v1/usage/plans").then((r) => r.plans).catch(() => []),
  ]);
  const kind = variant ? variant.kind : (ctx.params.get("kind") === "addon" ? "addon" : "plan");
  const v = variant || { plan: "PRO", period: "MONTHLY", category: "USAGE_AI_CREDIT", units: "", price: "", currency: "USD", description: "", active: true };
  const slot = noticeSlot({ id: "variant-notice" });

  const planNames = sellablePlans(plans).map((p) => p.plan_name);
  const planSelect = select(planNames.length ? planNames : ["PRO", "BUSINESS", "CUSTOM"], { value: v.plan, name: "plan" });
  const periodSelect = select(PERIODS, { value: v.period === "YEARLY" ? "YEARLY" : "MONTHLY", name: "period" });
  const categories = [...new Set(plans.flatMap((p) => p.config.usage_configs.map((u) => u.category)))];
  const category = h("input", { type: "text", name: "category", value: v.category, list: "variant-categories", autocomplete: "off", spellcheck: "false", class: "mono" });
  const units = h("input", { type: "text", name: "units", value: String(v.units && v.units !== "0" ? v.units : ""), inputmode: "numeric", autocomplete: "off", placeholder: "1000" });
  const price = h("input", { type: "text", name: "price", value: v.price === "" ? "" : Number(v.price).toFixed(2), inputmode: "decimal", autocomplete: "off", placeholder: "29.00" });
  const currency = h("input", { type: "text", name: "currency", value: v.currency, maxlength: "3", autocomplete: "off", spellcheck: "false", class: "mono upper" });
  const description = h("input", { type: "text", name: "description", value: v.description, autocomplete: "off", maxlength: "200" });
  const active = checkbox("Active: offered to owners", { checked: v.active, name: "active" });
  active.control.id = "variant-active";

  const fields = {
    plan: field("Plan", planSelect, { id: "variant-plan" }),
    period: field("Period", periodSelect, { id: "variant-period" }),
    category: field("Category", category, { id: "variant-category" }),
    units: field("Credits per unit", units, { id: "variant-units" }),
    price: field("Price", price, { id: "variant-price", hint: kind === "addon" ? "Per unit." : "Per period." }),
    currency: field("Currency", currency, { id: "variant-currency", hint: "ISO code, e.g. USD, EUR." }),
    description: field("Description", description, { id: "variant-description", wide: true }),
  };
  const save = h("button", { type: "submit", class: "btn btn-primary", id: "variant-save" }, creating ? (kind === "addon" ? "Create add-on" : "Create price") : "Save changes");
  const form = h("form", { class: "form-grid", novalidate: true, id: "variant-form" },
    h("datalist", { id: "variant-categories" }, categories.map((c) => h("option", { value: c }))),
    kind === "plan" ? [fields.plan, fields.period] : [fields.category, fields.units],
    fields.price, fields.currency, fields.description,
    h("div", { class: "field-wide" }, active),
    h("div", { class: "form-footer field-wide" }, save, link("#/variants", "Cancel", { class: "btn btn-ghost" }), slot));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    slot.clear();
    currency.value = currency.value.trim().toUpperCase();
    category.value = category.value.trim().toUpperCase();
    const checks = [[fields.price, check.price(price.value)], [fields.currency, check.currency(currency.value)]];
    if (kind === "addon") {
      checks.unshift([fields.category, check.category(category.value)], [fields.units, check.positiveInt(units.value.replace(/[\s,_]/g, ""), "The credits per unit")]);
    }
    if (!validate(checks)) return;
    const body = {
      kind, price: price.value.trim(), currency: currency.value, description: description.value.trim(), active: active.control.checked,
      ...(kind === "plan" ? { plan: planSelect.value, period: periodSelect.value } : { category: category.value, units: units.value.replace(/[\s,_]/g, "") }),
    };
    await busy(save, async () => {
      try {
        const { variant: saved } = creating
          ? await api("POST", "/v1/admin/variants", body)
          : await api("PUT", `/v1/admin/variants/${enc(id)}`, body);
        const label = saved.kind === "addon" ? `${saved.category} add-on` : `${saved.plan} ${saved.period}`;
        ctx.navigate("/variants", {}, { kind: "ok", text: `${creating ? "Created" : "Saved"} the ${label} price: ${formatMoney(saved.price, saved.currency)}.` });
      } catch (error) {
        slot.error(error);
      }
    })();
  });

  return h("div", { class: "page" },
    pageHeader(creating ? (kind === "addon" ? "New add-on" : "New price") : (kind === "addon" ? "Edit add-on" : "Edit price"), {
      crumbs: [link("#/variants", "Prices & add-ons"), h("span", null, creating ? "New" : code(id))],
      subtitle: kind === "addon" ? "Owners buy add-ons in units; each unit adds credits of one category." : "A price for a plan and a billing period.",
    }),
    card(null, { class: "card-narrow" }, form));
}

// #/coupons: every coupon (GET /v1/admin/coupons), turned on or off and deleted in place;
// #/coupons/new and #/coupons/{id}: the editor (POST, PUT /v1/admin/coupons/{id}).

import { api, enc } from "../api.js";
import { confirmDialog } from "../dialog.js";
import {
  badge, busy, button, card, checkbox, chips, code, field, h, link, noticeSlot, pageHeader, select, table, time, validate,
} from "../dom.js";
import { formatInt, fromLocalInput, toBigInt, toLocalInput } from "../format.js";
import * as check from "../validate.js";
import { sellablePlans } from "./variants.js";

const TYPES = [["percent", "Percent off"], ["fixed", "Fixed amount off"]];

/** "25%", "12.5%", or a fixed amount with its currency's decimals: "10.00 USD". */
export function discountText(coupon) {
  const value = Number(coupon.discount_value);
  if (coupon.discount_type === "percent") return `${value.toLocaleString(undefined, { maximumFractionDigits: 4 })}%`;
  let digits = 2;
  try { digits = new Intl.NumberFormat("en", { style: "currency", currency: coupon.currency }).resolvedOptions().maximumFractionDigits; } catch (_) { /* an unknown code: 2 */ }
  return `${value.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${coupon.currency}`;
}

/** "3 / 10", or "3 / ∞" when max_uses is "0" (no limit). */
export function usesText(coupon) {
  const max = toBigInt(coupon.max_uses) ?? 0n;
  return `${formatInt(coupon.current_uses)} / ${max > 0n ? formatInt(coupon.max_uses) : "∞"}`;
}

const isUsed = (coupon) => (toBigInt(coupon.current_uses) ?? 0n) > 0n;

/** The PUT body of COUPON as it stands, with CHANGES over it (PUT replaces every field). */
function bodyOf(coupon, changes = {}) {
  const { code: couponCode, discount_type, discount_value, currency, max_uses, valid_from, valid_until, applicable_plans, is_active } = coupon;
  return { code: couponCode, discount_type, discount_value, currency, max_uses, valid_from, valid_until, applicable_plans, is_active, ...changes };
}

async function setActive(coupon, slot, ctx, buttonEl) {
  slot.clear();
  await busy(buttonEl, async () => {
    try {
      const { coupon: saved } = await api("PUT", `/v1/admin/coupons/${enc(coupon.id)}`, bodyOf(coupon, { is_active: !coupon.is_active }));
      ctx.navigate("/coupons", {}, { kind: "ok", text: `Coupon ${saved.code} is now ${saved.is_active ? "active" : "inactive"}.` });
    } catch (error) {
      slot.error(error);
    }
  })();
}

async function remove(coupon, slot, ctx, buttonEl) {
  slot.clear();
  const confirmed = await confirmDialog({
    title: `Delete coupon ${coupon.code}?`,
    body: [h("p", null, "Delete ", h("strong", null, coupon.code), ` (${discountText(coupon)} off)? This cannot be undone.`),
      h("p", { class: "muted" }, "A coupon already on an invoice cannot be deleted: deactivate it instead.")],
    confirmLabel: "Delete coupon", tone: "danger",
  });
  if (!confirmed) return;
  await busy(buttonEl, async () => {
    try {
      await api("DELETE", `/v1/admin/coupons/${enc(coupon.id)}`);
      ctx.navigate("/coupons", {}, { kind: "ok", text: `Coupon ${coupon.code} deleted.` });
    } catch (error) {
      slot.error(error);
    }
  })();
}

function rowActions(coupon, slot, ctx) {
  const toggle = button(coupon.is_active ? "Deactivate" : "Activate", { size: "sm", "data-toggle": coupon.id });
  toggle.addEventListener("click", () => setActive(coupon, slot, ctx, toggle));
  const del = button("Delete…", { size: "sm", tone: "danger-ghost", "data-delete": coupon.id });
  del.addEventListener("click", () => remove(coupon, slot, ctx, del));
  return h("span", { class: "row-tight" }, link(`#/coupons/${enc(coupon.id)}`, "Edit", { class: "btn btn-sm", "data-edit": coupon.id }), toggle, del);
}

export async function couponList(ctx) {
  const { coupons } = await api("GET", "/v1/admin/coupons");
  const slot = noticeSlot({ id: "coupons-notice" });
  if (ctx.flash) slot.show(ctx.flash.kind, ctx.flash.text);
  return h("div", { class: "page" },
    pageHeader("Coupons", {
      subtitle: "Codes owners enter when they subscribe or change plan: a percent or a fixed amount off that one invoice.",
      actions: link("#/coupons/new", "New coupon", { class: "btn btn-primary", id: "new-coupon" }),
    }),
    slot,
    card(null, { id: "coupons" }, table([
      { label: "Code", render: (c) => code(c.code, { class: "strong" }) },
      { label: "Discount", numeric: true, class: "coupon-discount", render: (c) => discountText(c) },
      { label: "Uses", numeric: true, class: "coupon-uses", render: (c) => h("span", { class: "num" }, usesText(c)) },
      { label: "Valid from", render: (c) => time(c.valid_from) },
      { label: "Valid until", render: (c) => (c.valid_until ? time(c.valid_until) : h("span", { class: "muted" }, "no end")) },
      { label: "Plans", render: (c) => chips(c.applicable_plans, { empty: "any plan" }) },
      { label: "State", class: "coupon-state", render: (c) => (c.is_active ? badge("active", "ok") : badge("inactive", "muted")) },
      { label: "", class: "actions", render: (c) => rowActions(c, slot, ctx) },
    ], coupons, {
      empty: "No coupon yet.", label: "Coupons", rowClass: () => "coupon-row",
    })));
}

/* ---------------------------------------------------------------- the editor */

export async function couponEditor(ctx, id) {
  const creating = id === null;
  const [existing, plans] = await Promise.all([
    creating ? Promise.resolve(null) : api("GET", `/v1/admin/coupons/${enc(id)}`).then((r) => r.coupon),
    api("GET", "/v1/usage/plans").then((r) => r.plans).catch(() => []),
  ]);
  const c = existing || {
    code: "", discount_type: "percent", discount_value: "", currency: "", max_uses: "0",
    valid_from: null, valid_until: null, applicable_plans: [], is_active: true,
  };
  const used = !creating && isUsed(c);
  const slot = noticeSlot({ id: "coupon-notice" });

  const codeInput = h("input", { type: "text", name: "code", value: c.code, autocomplete: "off", spellcheck: "false", class: "mono", maxlength: "100", disabled: used });
  const typeSelect = select(TYPES, { value: c.discount_type, name: "discount_type" });
  typeSelect.disabled = used;
  const value = h("input", { type: "text", name: "discount_value", value: c.discount_value === "" ? "" : String(c.discount_value), inputmode: "decimal", autocomplete: "off", placeholder: "25", disabled: used });
  const currency = h("input", { type: "text", name: "currency", value: c.currency || "USD", maxlength: "3", autocomplete: "off", spellcheck: "false", class: "mono upper", disabled: used });
  const maxUses = h("input", { type: "text", name: "max_uses", value: c.max_uses && c.max_uses !== "0" ? c.max_uses : "", inputmode: "numeric", autocomplete: "off", placeholder: "no limit" });
  const from = h("input", { type: "datetime-local", name: "valid_from", value: toLocalInput(c.valid_from) });
  const until = h("input", { type: "datetime-local", name: "valid_until", value: toLocalInput(c.valid_until) });
  const active = checkbox("Active: owners can use it", { checked: c.is_active, name: "is_active" });
  active.control.id = "coupon-active";
  // The plans one can sell, and any plan the coupon names already (kept when unchecked only).
  const offered = sellablePlans(plans);
  for (const name of c.applicable_plans) {
    if (!offered.some((p) => p.plan_name === name)) offered.push({ plan_name: name, description: "" });
  }
  const planBoxes = offered.map((p) => {
    const box = checkbox(p.plan_name, { checked: c.applicable_plans.includes(p.plan_name), name: "applicable_plans", hint: p.description || null });
    box.control.value = p.plan_name;
    box.control.dataset.plan = p.plan_name;
    return box;
  });

  const usedHint = used ? `Used ${usesText(c).split(" / ")[0]} times: the code and the discount stay as they are.` : null;
  const fields = {
    code: field("Code", codeInput, { id: "coupon-code", hint: usedHint || "Letters, digits, - or _; owners may type it in any case." }),
    type: field("Discount type", typeSelect, { id: "coupon-type" }),
    value: field("Discount", value, { id: "coupon-value", hint: "A percent above 0 and at most 100 (12.5 allowed), or an amount such as 10.00." }),
    currency: field("Currency", currency, { id: "coupon-currency", hint: "Of a fixed amount: an ISO code such as USD." }),
    maxUses: field("Maximum uses", maxUses, { id: "coupon-max-uses", hint: used ? `Empty for no limit; at least ${formatInt(c.current_uses)} (the uses made).` : "Empty for no limit." }),
    from: field("Valid from", from, { id: "coupon-valid-from", hint: "Empty: from now." }),
    until: field("Valid until", until, { id: "coupon-valid-until", hint: "Empty: no end." }),
  };
  const syncType = () => { fields.currency.hidden = typeSelect.value !== "fixed"; };
  typeSelect.addEventListener("change", syncType);
  syncType();

  const save = h("button", { type: "submit", class: "btn btn-primary", id: "coupon-save" }, creating ? "Create coupon" : "Save changes");
  const form = h("form", { class: "form-grid", novalidate: true, id: "coupon-form" },
    fields.code, fields.type, fields.value, fields.currency, fields.maxUses, fields.from, fields.until,
    h("fieldset", { class: "field field-wide events-field", id: "coupon-plans" },
      h("legend", null, "Plans"),
      h("p", { class: "hint" }, "None checked: the coupon applies to any plan."),
      planBoxes.length ? h("div", { class: "checks event-checks" }, planBoxes) : h("p", { class: "muted" }, "No plan is defined yet.")),
    h("div", { class: "field-wide" }, active),
    h("div", { class: "form-footer field-wide" }, save, link("#/coupons", "Cancel", { class: "btn btn-ghost" }), slot));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    slot.clear();
    const fixed = typeSelect.value === "fixed";
    currency.value = currency.value.trim().toUpperCase();
    const uses = maxUses.value.trim().replace(/[\s,_]/g, "");
    const validFrom = from.value ? fromLocalInput(from.value) : null;
    const validUntil = until.value ? fromLocalInput(until.value) : null;
    const checks = [
      [fields.code, check.required(codeInput.value, "A code")],
      [fields.value, check.required(value.value, "A discount") || (/^\d+(\.\d+)?$/.test(value.value.trim()) ? "" : "A discount is a number such as 25 or 12.5.")],
      [fields.currency, fixed ? check.currency(currency.value) : ""],
      [fields.maxUses, uses ? check.nonNegativeInt(uses, "The maximum") : ""],
      [fields.from, from.value && !validFrom ? "Enter a date and a time." : ""],
      [fields.until, until.value && !validUntil ? "Enter a date and a time." : ""],
    ];
    if (!validate(checks)) return;
    const body = {
      code: codeInput.value.trim(),
      discount_type: typeSelect.value,
      discount_value: Number(value.value.trim()),
      currency: fixed ? currency.value : "",
      max_uses: uses || "0",
      valid_from: validFrom ? validFrom.toISOString() : (existing ? existing.valid_from : null),
      valid_until: validUntil ? validUntil.toISOString() : null,
      applicable_plans: planBoxes.filter((box) => box.control.checked).map((box) => box.control.value),
      is_active: active.control.checked,
    };
    await busy(save, async () => {
      try {
        const { coupon: saved } = creating
          ? await api("POST", "/v1/admin/coupons", body)
          : await api("PUT", `/v1/admin/coupons/${enc(id)}`, body);
        ctx.navigate("/coupons", {}, { kind: "ok", text: `${creating ? "Created" : "Saved"} coupon ${saved.code}: ${discountText(saved)} off.` });
      } catch (error) {
        slot.error(error);
      }
    })();
  });

  return h("div", { class: "page" },
    pageHeader(creating ? "New coupon" : `Coupon ${c.code}`, {
      crumbs: [link("#/coupons", "Coupons"), h("span", null, creating ? "New" : c.code)],
      subtitle: creating ? "A discount on one invoice of a subscription or a plan change." : [
        c.is_active ? badge("active", "ok") : badge("inactive", "muted"), ` · used ${usesText(c)} · updated `, time(c.updated_at),
      ],
    }),
    card(null, { class: "card-narrow" }, form));
}

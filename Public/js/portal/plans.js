// #/plans — the plans on sale with their prices; subscribe, or switch to another price (an
// upgrade opens an invoice, → its redirect_url; a downgrade is scheduled for the period's end),
// with an optional coupon code; cancel at the period's end and undo it, each confirmed.

import { api } from "./api.js";
import { confirmDialog } from "../dialog.js";
import { badge, busy, button, card, field, h, pageHeader, time } from "../dom.js";
import { scheduledChange, subscriptionDetails } from "./overview.js";
import { apiErrorText, money, perPeriod, slot } from "./ui.js";

const PAID = new Set(["ACTIVE", "PAST_DUE"]);
const INVALID_ARGUMENT = 3;

/** Whether ERROR is the API refusing the coupon code (code 3, saying so). */
const couponRefused = (error) => error && error.name === "ApiError" && error.code === INVALID_ARGUMENT && /coupon/i.test(error.message);

export async function plans(ctx) {
  const [subscription, variants] = await Promise.all([api("GET", "/v1/subscription"), api("GET", "/v1/subscription/variants")]);
  const sub = subscription.subscription || {};
  const list = variants.variants || [];
  const hasPaid = PAID.has(sub.status) && sub.plan && sub.plan !== "FREE";
  const actionSlot = slot({ id: "plans-notice" });

  const coupon = h("input", { type: "text", name: "coupon", id: "coupon-code", maxlength: "64", autocomplete: "off", spellcheck: "false", class: "mono" });
  const couponField = field("Coupon code", coupon, { hint: "Optional. It is taken off the invoice of a subscription or an upgrade (not renewals; a downgrade has no invoice)." });

  const choose = async (variant, el) => {
    const change = hasPaid;
    const code = coupon.value.trim();
    couponField.setError("");
    const ok = await confirmDialog({
      title: change ? `Switch to ${variant.plan} ${variant.period}?` : `Subscribe to ${variant.plan} ${variant.period}?`,
      body: [
        `${money(variant.price, variant.currency)} ${perPeriod(variant.period)}.`,
        change
          ? h("p", null, "A price at least as high per month is an upgrade: an invoice opens now, crediting the unused time of your current period, and the change takes effect once it is paid. A lower price takes effect at the end of the period (",
            time(sub.end_at), "), with nothing to pay now.")
          : "An invoice is opened; the plan starts once it is paid.",
        code ? h("p", null, "Coupon ", h("strong", { class: "mono" }, code), " is applied to the invoice.") : null,
      ],
      confirmLabel: change ? "Switch plan" : "Subscribe",
    });
    if (!ok) return;
    actionSlot.clear();
    el.clear();
    const extra = code ? { coupon: code } : {};
    try {
      const answer = change
        ? await api("POST", "/v1/subscription/update", { new_id: variant.id, ...extra })
        : await api("POST", "/v1/subscription/create", { id: variant.id, ...extra });
      if (answer.effective_at) {
        ctx.navigate("/plans", {}, { kind: "ok", text: h("span", { id: "change-notice" },
          `Your plan changes to ${variant.plan} on `, time(answer.effective_at), `. Nothing to pay now: the ${variant.period.toLowerCase()} price of ${money(variant.price, variant.currency)} is invoiced then.`) });
        return;
      }
      actionSlot.show("info", "Opening the invoice…");
      ctx.followRedirect(answer.redirect_url);
    } catch (error) {
      if (code && couponRefused(error)) {
        couponField.setError(apiErrorText(error));
        coupon.focus();
      } else {
        el.error(error);
      }
    }
  };

  const byPlan = new Map();
  for (const v of list) {
    if (!byPlan.has(v.plan)) byPlan.set(v.plan, []);
    byPlan.get(v.plan).push(v);
  }
  const grid = byPlan.size
    ? h("div", { class: "plan-grid", id: "plan-grid" }, [...byPlan.entries()].map(([plan, prices]) => {
      const current = sub.plan === plan && sub.status !== "NO_SUBSCRIPTION";
      return h("section", { class: ["plan-card", current && "plan-current"], "data-plan": plan, "aria-label": `${plan} plan` },
        h("div", { class: "plan-card-header" }, h("h2", null, plan), current ? badge("Current plan", "ok") : null),
        h("ul", { class: "price-list" }, prices.map((v) => {
          const here = current && sub.period === v.period;
          const errors = slot({ class: "variant-notice" });
          const btn = button(here ? "Current" : hasPaid ? "Switch" : "Subscribe", {
            tone: here ? null : "primary", size: "sm", disabled: here, class: "choose-variant", "data-variant": v.id,
          });
          btn.addEventListener("click", busy(btn, () => choose(v, errors)));
          return h("li", { class: "price-row", "data-variant": v.id },
            h("div", { class: "price-main" },
              h("span", { class: "price" }, money(v.price, v.currency), " ", h("span", { class: "muted small" }, perPeriod(v.period))),
              h("span", { class: "muted small" }, v.period),
              v.description ? h("span", { class: "small price-description" }, v.description) : null),
            btn, errors);
        })));
    }))
    : h("p", { class: "empty" }, "No plans are on sale yet.");

  let cancelCard = null;
  if (hasPaid) {
    const cancelSlot = slot({ id: "cancel-notice" });
    const btn = sub.cancel_at_period_end
      ? button("Keep my subscription", { tone: "primary", id: "resume-subscription" })
      : button("Cancel subscription", { tone: "danger", id: "cancel-subscription" });
    btn.addEventListener("click", busy(btn, async () => {
      const resume = sub.cancel_at_period_end;
      const ok = await confirmDialog(resume
        ? { title: "Keep the subscription?", body: [`${sub.plan} renews again at the end of the period.`], confirmLabel: "Keep it" }
        : { title: `Cancel ${sub.plan}?`, body: [h("p", null, "The plan stays until the end of the period (", time(sub.end_at), "); then the workspace falls to FREE."),
          sub.scheduled_variant_id ? "The plan change scheduled for then is dropped." : null, "You can undo this until then."], confirmLabel: "Cancel at period end", tone: "danger" });
      if (!ok) return;
      try {
        await api("POST", resume ? "/v1/subscription/resume" : "/v1/subscription/cancel", {});
        ctx.navigate("/plans", {}, { kind: "ok", text: resume ? "Your subscription renews again." : "Your subscription ends at the end of the period." });
      } catch (error) {
        cancelSlot.error(error);
      }
    }));
    cancelCard = card(sub.cancel_at_period_end ? "Cancellation scheduled" : "Cancel", { id: "cancel-card" },
      h("p", { class: "muted" }, sub.cancel_at_period_end
        ? "Your subscription ends at the end of the current period. Changed your mind?"
        : "Cancel at the end of the current period; you keep the plan until then."),
      h("div", { class: "row" }, btn), cancelSlot);
  }

  const couponCard = list.length
    ? card("Coupon", { id: "coupon-card", class: "coupon-card" }, h("div", { class: "form-grid form-grid-1" }, couponField))
    : null;

  return h("div", { class: "page" },
    pageHeader("Plans", { subtitle: "Compare the plans and their prices. An upgrade takes effect once its invoice is paid, a downgrade at the end of the period." }),
    actionSlot,
    card("Your subscription", { id: "subscription" }, subscriptionDetails(sub), await scheduledChange(sub, ctx, "/plans", list)),
    couponCard,
    grid,
    cancelCard);
}

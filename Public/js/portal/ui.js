// Small pieces the portal's pages share.

import { h } from "../dom.js";
import { formatMoney } from "../format.js";

/** The API's error as shown next to what caused it: its message and its code. */
export function apiErrorText(error) {
  if (error && error.name === "ApiError") return error.code ? `${error.message} (code ${error.code})` : error.message;
  return error && error.message ? error.message : String(error);
}

/** A notice slot whose error() shows the API's {code, message}. */
export function slot(props = {}) {
  const el = h("div", { ...props, class: ["notice-slot", props.class], "aria-live": "polite" });
  el.show = (kind, ...content) => el.replaceChildren(h("div", { class: ["notice", `notice-${kind}`], role: kind === "error" ? "alert" : "status" }, ...content));
  el.error = (error) => el.show("error", apiErrorText(error));
  el.clear = () => el.replaceChildren();
  return el;
}

export const money = (amount, currency) => formatMoney(amount, currency);

export const PERIODS = { MONTHLY: "month", YEARLY: "year", ANNUAL: "year", WEEKLY: "week", QUARTERLY: "quarter" };
export const perPeriod = (period) => (PERIODS[period] ? `/ ${PERIODS[period]}` : period ? `/ ${String(period).toLowerCase()}` : "");

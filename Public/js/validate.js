// Checks run before anything is sent; each answers an error message or "".

import { toBigInt } from "./format.js";

const INT64_MAX = 9223372036854775807n;
export const CATEGORY = /^USAGE_[A-Z0-9_]+$/;

export function required(value, what = "This field") {
  return String(value ?? "").trim() ? "" : `${what} is required.`;
}

export function category(value) {
  const text = String(value ?? "").trim();
  if (!text) return "A usage category is required.";
  if (!CATEGORY.test(text)) return "A category looks like USAGE_AI_CREDIT (USAGE_ then capitals, digits or _).";
  if (text === "USAGE_UNKNOWN") return "USAGE_UNKNOWN is the unset value, not a category.";
  return "";
}

function integerText(value) {
  const text = String(value ?? "").trim();
  return /^\d+$/.test(text) ? toBigInt(text) : null;
}

export function positiveInt(value, what = "The amount") {
  const big = integerText(value);
  if (big === null || big <= 0n) return `${what} must be a whole number above 0.`;
  if (big > INT64_MAX) return `${what} is too large.`;
  return "";
}

export function nonNegativeInt(value, what = "The value", max = INT64_MAX) {
  const big = integerText(value);
  if (big === null) return `${what} must be a whole number (0 or more).`;
  if (big > BigInt(max)) return `${what} must be at most ${max}.`;
  return "";
}

export function futureDate(date, what = "The date", now = Date.now()) {
  if (!date) return `${what} is required (date and time).`;
  if (date.getTime() <= now) return `${what} must be in the future.`;
  return "";
}

export function price(value) {
  const text = String(value ?? "").trim();
  return /^\d+(\.\d{1,4})?$/.test(text) ? "" : "A price is a decimal amount such as 19.99.";
}

export function currency(value) {
  return /^[A-Z]{3}$/.test(String(value ?? "").trim().toUpperCase()) ? "" : "A currency is a 3-letter ISO code such as USD.";
}

/** "a, b,c" → ["a", "b", "c"] (blank items dropped). */
export function list(value) {
  return String(value ?? "").split(/[,\n]/).map((item) => item.trim()).filter(Boolean);
}

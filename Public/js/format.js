// Formatting: RFC 3339 instants in the operator's local time, int64 decimal strings with
// BigInt (never through a double), money in the invoice's currency.

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export const MINUTE = 60 * 1000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export function parseDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(value) {
  const date = parseDate(value);
  return date ? dateTimeFormat.format(date) : "—";
}

export function formatDate(value) {
  const date = parseDate(value);
  return date ? dateFormat.format(date) : "—";
}

/** "Nov 3" for a UTC calendar day "2026-11-03". */
export function formatDay(day) {
  const date = parseDate(`${day}T00:00:00Z`);
  return date ? dayFormat.format(date) : day;
}

/** "in 3 days", "2 hours ago", "yesterday". */
export function formatRelative(value, now = Date.now()) {
  const date = parseDate(value);
  if (!date) return "";
  const diff = date.getTime() - now;
  const abs = Math.abs(diff);
  if (abs < MINUTE) return relativeFormat.format(Math.round(diff / 1000), "second");
  if (abs < HOUR) return relativeFormat.format(Math.round(diff / MINUTE), "minute");
  if (abs < DAY) return relativeFormat.format(Math.round(diff / HOUR), "hour");
  if (abs < 60 * DAY) return relativeFormat.format(Math.round(diff / DAY), "day");
  if (abs < 730 * DAY) return relativeFormat.format(Math.round(diff / (30 * DAY)), "month");
  return relativeFormat.format(Math.round(diff / (365 * DAY)), "year");
}

/** A signed duration in words: "+7 days", "−2 hours". */
export function formatShift(milliseconds) {
  const sign = milliseconds < 0 ? "−" : "+";
  const abs = Math.abs(milliseconds);
  if (abs >= DAY && abs % DAY === 0) return `${sign}${abs / DAY} day${abs === DAY ? "" : "s"}`;
  if (abs >= DAY) return `${sign}${(abs / DAY).toFixed(1)} days`;
  if (abs >= HOUR) return `${sign}${Math.round(abs / HOUR)} h`;
  return `${sign}${Math.round(abs / MINUTE)} min`;
}

export function toBigInt(value) {
  try { return BigInt(value); } catch (_) { return null; }
}

/** An int64 (decimal string or number) with digit grouping, exact. */
export function formatInt(value) {
  const big = toBigInt(value ?? 0);
  return big === null ? String(value) : big.toLocaleString();
}

export function sumInts(values) {
  return values.reduce((total, value) => total + (toBigInt(value) ?? 0n), 0n);
}

export function formatMoney(amount, currency) {
  const number = typeof amount === "number" ? amount : Number(amount);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(number);
  } catch (_) {
    return `${number.toFixed(2)} ${currency || ""}`.trim();
  }
}

/** A value for <input type="datetime-local"> in local time, to the minute. */
export function toLocalInput(value) {
  const date = parseDate(value);
  if (!date) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The instant of a datetime-local value (read as local time), or null. */
export function fromLocalInput(value) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value || "")) return null;
  return parseDate(value);
}

export function formatInterval(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s) || s <= 0) return "—";
  if (s % 86400 === 0) return `${s / 86400} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

export function plural(count, one, many = `${one}s`) {
  return `${formatInt(count)} ${String(count) === "1" ? one : many}`;
}

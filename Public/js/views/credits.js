// The credit sections of #/tenants/{id}: Credits (GET …/balance: available, held, next
// expiry per category), Ledger (GET …/ledger: filters, pages, CSV download), Caps
// (GET …/limits) and Alerts (GET …/alerts: the settings and the history).
// The ledger's filters and both pages live in the URL (ledger_category, ledger_agent,
// ledger_from, ledger_to, ledger_order, ledger_page, alerts_page) so a link opens the same
// view; changing them reloads the section in place (history.replaceState), not the page.

import { api, enc, fetchText, query, saveBlob } from "../api.js";
import {
  badge, busy, button, card, code, details, field, h, int, noticeSlot, pager, select, shortId, svg, table, time, validate,
} from "../dom.js";
import { formatInt, formatRelative, fromLocalInput, parseDate, plural, toBigInt, toLocalInput } from "../format.js";

const LEDGER_PER_PAGE = 20;
const CSV_PER_PAGE = 100; // the API's largest page: format=csv answers one page, like JSON
const ALERTS_PER_PAGE = 10;
const KIND_TONES = {
  opening: "muted", grant: "ok", rollover: "ok", debit: "accent", hold: "info", settle: "accent",
  release: "muted", hold_expiry: "warn", expiry: "warn",
};
const EVENT_TONES = { "credits.low": "warn", "credits.depleted": "danger" };
const ORDERS = [["desc", "Newest first"], ["asc", "Oldest first"]];
const DEFAULT_ORDER = "desc";

const dash = () => h("span", { class: "muted" }, "—");
/** RFC 3339 in UTC, to the second (the filters are to the minute). */
const rfc3339 = (date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");
const shortCategory = (category) => String(category || "").replace(/^USAGE_/, "");

/** The ledger's filters and the two pages, read from the URL's parameters. */
export function creditParams(params) {
  const iso = (name) => {
    const date = parseDate(params.get(name));
    return date ? rfc3339(date) : "";
  };
  return {
    category: params.get("ledger_category") || "",
    agent_id: params.get("ledger_agent") || "",
    from: iso("ledger_from"),
    to: iso("ledger_to"),
    order: params.get("ledger_order") === "asc" ? "asc" : DEFAULT_ORDER,
    page: Math.max(1, Number(params.get("ledger_page")) || 1),
    alertsPage: Math.max(1, Number(params.get("alerts_page")) || 1),
  };
}

function ledgerQuery(state, extra = {}) {
  return query({
    category: state.category, agent_id: state.agent_id, from: state.from, to: state.to, order: state.order, ...extra,
  });
}

/** Every answer the sections need; a failed one is kept as its error, for its own section. */
export async function loadCredits(tenantId, state) {
  const base = `/v1/usage/tenants/${enc(tenantId)}`;
  const settle = (promise) => promise.then((data) => ({ data }), (error) => ({ error }));
  const [balance, ledger, alerts, limits] = await Promise.all([
    settle(api("GET", `${base}/balance`)),
    settle(api("GET", `${base}/ledger${ledgerQuery(state, { page: state.page, limit: LEDGER_PER_PAGE })}`)),
    settle(api("GET", `${base}/alerts${query({ page: state.alertsPage, limit: ALERTS_PER_PAGE })}`)),
    settle(api("GET", `${base}/limits`)),
  ]);
  return { balance, ledger, alerts, limits };
}

function errorNotice(slot, error, what) {
  slot.show("error", `${what} could not be read: `, error && error.message ? error.message : String(error));
}

/** The records of a CSV text (a quoted field may hold a line break), each without its line end. */
function csvRecords(text) {
  const records = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === "\n" && !quoted) {
      records.push(text.slice(start, i > start && text[i - 1] === "\r" ? i - 1 : i));
      start = i + 1;
    }
  }
  if (start < text.length) records.push(text.slice(start));
  return records;
}

/**
 * Every entry of the ledger's filters as one CSV: the API answers one page of CSV, so this
 * asks for each page (100 entries) and keeps one header. An entry is kept once, by its seq:
 * newest first, an entry arriving meanwhile pushes the rest down a page.
 */
async function ledgerCSV(path, state, progress) {
  const { page: first } = await api("GET", `${path}${ledgerQuery(state, { page: 1, limit: 1 })}`);
  const total = Number(first.total || 0);
  let header = null;
  const rows = [];
  const seen = new Set();
  for (let page = 1; ; page += 1) {
    progress(Math.min(rows.length, total), total);
    const records = csvRecords(await fetchText(`${path}${ledgerQuery(state, { page, limit: CSV_PER_PAGE, format: "csv" })}`, { accept: "text/csv" }));
    if (!records.length) break;
    header = header || records[0];
    const body = records.slice(1);
    for (const record of body) {
      const seq = record.slice(0, record.indexOf(","));
      if (!seen.has(seq)) { seen.add(seq); rows.push(record); }
    }
    if (body.length < CSV_PER_PAGE) break;
  }
  return [header || "", ...rows].map((line) => `${line}\r\n`).join("");
}

/* ---------------------------------------------------------------- Credits */

function balanceItem(b) {
  const nextAt = parseDate(b.next_expiry_at);
  const held = toBigInt(b.held) ?? 0n;
  return h("li", { "data-category": b.category },
    h("div", { class: "balance-head" }, code(b.category, { class: "small" }),
      h("span", { class: "balance-available" }, h("span", { class: "muted small" }, "available "), int(b.available, { class: "balance-value" }))),
    h("div", { class: "balance-facts small" },
      h("span", { class: ["balance-held", held > 0n && "text-warn"] }, "held ", int(b.held)),
      h("span", { class: "balance-granted muted" }, "granted left ", int(b.granted_left))),
    h("div", { class: "balance-expiry muted small" }, nextAt
      ? [`${formatInt(b.next_expiry_amount)} expire first: `, time(nextAt), ` (${formatRelative(nextAt)})`]
      : "Nothing set to expire."));
}

function balancesBody(answer, slot, fallback) {
  if (answer.error) {
    errorNotice(slot, answer.error, "The balance");
    return fallback();
  }
  const balances = answer.data.balances || [];
  return balances.length ? h("ul", { class: "balances" }, balances.map(balanceItem)) : h("p", { class: "empty" }, "No live credits.");
}

/* ---------------------------------------------------------------- Ledger */

function drawnFrom(parts) {
  if (!parts || !parts.length) return dash();
  return h("ul", { class: "drawn-from" }, parts.map((p) =>
    h("li", null, shortId(p.grant_id, { class: "small" }), " ", int(p.amount, { class: "small" }))));
}

function subjectCell(e) {
  if (!e.agent_id && !e.dataset_id) return dash();
  return h("span", { class: "stack-tight" },
    e.agent_id ? code(e.agent_id, { class: "small agent-id" }) : null,
    e.dataset_id ? h("span", { class: "muted small" }, "dataset ", code(e.dataset_id, { class: "dataset-id" })) : null);
}

/** The entry's kind, and the grant, hold or debit it is about (named when there are two). */
function kindCell(e) {
  const refs = [["grant", e.grant_id], ["hold", e.hold_id], ["debit", e.debit_id]].filter(([, id]) => id);
  return h("span", { class: "stack-tight" },
    h("span", { class: "row-tight" }, badge(e.kind, KIND_TONES[e.kind]), e.grant_id && e.source ? badge(e.source) : null),
    refs.map(([label, id]) => h("span", { class: "entry-ref", "data-ref": label },
      refs.length > 1 ? h("span", { class: "muted small" }, `${label} `) : null, shortId(id, { class: "small muted" }))));
}

const ledgerColumns = [
  { label: "When", render: (e) => h("span", { class: "stack-tight" }, time(e.created_at), h("span", { class: "muted small" }, `#${e.seq}`)) },
  { label: "Kind", render: kindCell },
  { label: "Category", render: (e) => code(shortCategory(e.category), { class: "small", title: e.category }) },
  { label: "Amount", numeric: true, render: (e) => int(e.amount, { class: "entry-amount strong" }) },
  { label: "Balance after", numeric: true, render: (e) => int(e.balance_after, { class: "entry-balance" }) },
  { label: "Held after", numeric: true, render: (e) => int(e.held_after, { class: "entry-held" }) },
  { label: "Drawn from", render: (e) => drawnFrom(e.drawn_from) },
  { label: "Agent / dataset", render: subjectCell },
];

function ledgerTable(entries, filtered) {
  const node = table(ledgerColumns, entries, {
    empty: filtered ? "No ledger entry matches these filters." : "No ledger entry yet.", label: "Ledger", rowClass: () => "ledger-row",
  });
  node.querySelectorAll("tbody tr").forEach((tr, i) => {
    tr.dataset.seq = String(entries[i].seq);
    tr.dataset.kind = entries[i].kind;
  });
  return node;
}

/* ---------------------------------------------------------------- Caps */

function usageBar(used, limit) {
  const u = Number(used);
  const l = Number(limit);
  const share = l > 0 ? Math.min(1, u / l) : (u > 0 ? 1 : 0);
  const tone = share >= 1 ? "danger" : share >= 0.8 ? "warn" : "info";
  return svg("svg", { class: "cap-bar", viewBox: "0 0 100 6", preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" },
    svg("rect", { x: 0, y: 0, width: 100, height: 6, rx: 3, class: "proportion-track" }),
    svg("rect", { x: 0, y: 0, width: Math.max(share > 0 ? 2 : 0, share * 100), height: 6, rx: 3, class: `proportion-fill fill-${tone}` }));
}

function usedCell(limit) {
  const used = toBigInt(limit.used) ?? 0n;
  const cap = toBigInt(limit.limit) ?? 0n;
  const percent = cap > 0n ? Number((used * 100n) / cap) : (used > 0n ? 100 : 0);
  return h("span", { class: "cap-used" },
    h("span", { class: "cap-used-figures" }, int(limit.used, { class: ["strong", used >= cap && cap >= 0n && used > 0n && "text-danger"] }),
      h("span", { class: "muted small" }, ` of ${formatInt(limit.limit)} · ${percent}%`)),
    usageBar(limit.used, limit.limit));
}

function capsTable(limits, keyNames) {
  const columns = [
    { label: "Scope", render: (l) => badge(l.scope === "api_key" ? "API key" : "agent", l.scope === "api_key" ? "accent" : "info") },
    {
      label: "Subject",
      render: (l) => h("span", { class: "stack-tight" }, code(l.subject, { class: "small cap-subject" }),
        l.scope === "api_key" && keyNames.get(l.subject) ? h("span", { class: "muted small" }, keyNames.get(l.subject)) : null),
    },
    { label: "Category", render: (l) => code(l.category, { class: "small" }) },
    {
      label: "Window",
      render: (l) => h("span", { class: "stack-tight" }, h("span", { class: "cap-window" }, l.window),
        l.window_start || l.window_end ? h("span", { class: "muted small" }, time(l.window_start), " – ", time(l.window_end)) : null),
    },
    { label: "Limit", numeric: true, render: (l) => int(l.limit, { class: "cap-limit" }) },
    { label: "Used this window", render: usedCell },
  ];
  const node = table(columns, limits, { empty: "No cap: agents and API keys may spend up to the balance.", label: "Caps", rowClass: () => "cap-row" });
  node.querySelectorAll("tbody tr").forEach((tr, i) => {
    tr.dataset.scope = limits[i].scope;
    tr.dataset.subject = limits[i].subject;
  });
  return node;
}

/* ---------------------------------------------------------------- Alerts */

function thresholdText(t) {
  if (!t) return "—";
  const percent = Number(t.percent || 0);
  if (percent > 0) return `${percent}% used`;
  return `${formatInt(t.remaining ?? 0)} left`;
}

function alertSettings(settings) {
  const thresholds = settings.thresholds || [];
  return details([
    ["Thresholds", thresholds.length
      ? h("span", { class: "chips", id: "alert-thresholds" }, thresholds.map((t) => h("span", { class: "chip threshold-chip" }, thresholdText(t))))
      : h("span", { class: "muted", id: "alert-thresholds" }, "None: no alert fires")],
    ["Set by", h("span", { id: "alert-inherited" }, settings.inherited ? badge("the plan", "muted") : badge("this tenant", "info"))],
    ["Email to owners", h("span", { id: "alert-email" }, settings.email ? badge("on", "ok") : badge("off", "muted"))],
  ]);
}

function alertTable(alerts) {
  const columns = [
    { label: "Fired", render: (a) => time(a.fired_at, { relative: true }) },
    { label: "Event", render: (a) => badge(a.event, EVENT_TONES[a.event]) },
    { label: "Category", render: (a) => code(a.category, { class: "small" }) },
    { label: "Threshold", render: (a) => h("span", { class: "alert-threshold" }, thresholdText(a.threshold)) },
    { label: "Level", numeric: true, render: (a) => int(a.level) },
    { label: "Available", numeric: true, render: (a) => int(a.available, { class: "strong" }) },
    { label: "Allowance", numeric: true, render: (a) => int(a.allowance) },
    { label: "Window from", render: (a) => time(a.window_start) },
  ];
  const node = table(columns, alerts, { empty: "No alert has fired.", label: "Alert history", rowClass: () => "alert-row" });
  node.querySelectorAll("tbody tr").forEach((tr, i) => { tr.dataset.event = alerts[i].event; });
  return node;
}

/* ---------------------------------------------------------------- the sections */

/**
 * Builds the four cards from a first loadCredits answer. `categories` fill the ledger's
 * category filter; `fallbackBalances()` is shown when the balance route fails.
 * Answers {balances, ledger, caps, alerts, update(detail), reload()}.
 */
export function creditSections(ctx, tenantId, first, { categories, fallbackBalances }) {
  const state = creditParams(ctx.params);
  const base = `/v1/usage/tenants/${enc(tenantId)}`;
  let keyNames = new Map();
  let ledgerSerial = 0;
  let alertsSerial = 0;

  /* Credits */
  const balancesNotice = noticeSlot({ id: "balances-notice" });
  const balancesBodySlot = h("div");
  const balances = card("Credits", {
    id: "balances", description: "Available = live grants left − open holds. Held credits are reserved by running jobs.",
  }, balancesNotice, balancesBodySlot);
  const fillBalances = (answer) => {
    balancesNotice.clear();
    balancesBodySlot.replaceChildren(balancesBody(answer, balancesNotice, fallbackBalances));
  };

  /* Ledger */
  const ledgerNotice = noticeSlot({ id: "ledger-notice" });
  const ledgerBody = h("div", { class: "ledger-body" });
  const ledgerSummary = h("span", { class: "muted small", id: "ledger-summary", role: "status" });
  const knownCategories = [...new Set([...categories, state.category].filter(Boolean))].sort();
  const categorySelect = select([["", "Any category"], ...knownCategories], { value: state.category, name: "category" });
  const agentInput = h("input", {
    type: "text", name: "agent_id", value: state.agent_id, placeholder: "Any agent", autocomplete: "off", spellcheck: "false", class: "mono",
  });
  const fromInput = h("input", { type: "datetime-local", name: "from", step: "60", value: toLocalInput(state.from) });
  const toInput = h("input", { type: "datetime-local", name: "to", step: "60", value: toLocalInput(state.to) });
  const orderSelect = select(ORDERS, { value: state.order, name: "order" });
  const fields = {
    category: field("Category", categorySelect, { id: "ledger-category" }),
    agent: field("Agent id", agentInput, { id: "ledger-agent" }),
    from: field("From (your local time)", fromInput, { id: "ledger-from" }),
    to: field("Until, not included", toInput, { id: "ledger-to" }),
    order: field("Order", orderSelect, { id: "ledger-order" }),
  };
  const filterSubmit = h("button", { type: "submit", class: "btn btn-primary", id: "ledger-filter" }, "Filter");
  const clear = button("Clear", { tone: "ghost", id: "ledger-clear" });
  const form = h("form", { class: "filters ledger-filters", role: "search", novalidate: true, id: "ledger-form", "aria-label": "Ledger filters" },
    Object.values(fields), h("div", { class: "filters-actions" }, filterSubmit, clear));
  const csv = button("Download CSV", { size: "sm", id: "ledger-csv", title: "Every entry of these filters (all pages), as CSV" });
  const ledger = card("Ledger", {
    id: "ledger",
    description: "Every change of a balance: grants, debits, holds and what became of them, expiries. Balance after is what was available then (open holds taken off).",
    actions: [ledgerSummary, csv],
  }, form, ledgerNotice, ledgerBody);
  ledger.dataset.loads = "0";

  const filtered = () => Boolean(state.category || state.agent_id || state.from || state.to);

  function fillLedger(answer) {
    ledgerNotice.clear();
    if (answer.error) {
      errorNotice(ledgerNotice, answer.error, "The ledger");
      ledgerBody.replaceChildren();
      ledgerSummary.textContent = "";
    } else {
      const { entries, page } = answer.data;
      ledgerBody.replaceChildren(ledgerTable(entries, filtered()),
        entries.length || Number(page.page) > 1 ? pager(page, (p) => goLedger({ page: p }, { scroll: true }), "entries") : null);
      ledgerSummary.textContent = `${plural(page.total, "entry", "entries")}${filtered() ? " match" : ""}`;
    }
    ledger.dataset.loads = String(Number(ledger.dataset.loads) + 1);
  }

  /** Writes the sections' state into the URL without a navigation (the page stays as it is). */
  function remember() {
    const search = query({
      ledger_category: state.category, ledger_agent: state.agent_id, ledger_from: state.from, ledger_to: state.to,
      ledger_order: state.order === DEFAULT_ORDER ? "" : state.order,
      ledger_page: state.page > 1 ? state.page : "", alerts_page: state.alertsPage > 1 ? state.alertsPage : "",
    });
    if (ctx.isCurrent()) history.replaceState(history.state, "", `#/tenants/${enc(tenantId)}${search}`);
  }

  async function reloadLedger() {
    const serial = ++ledgerSerial;
    ledger.setAttribute("aria-busy", "true");
    let answer;
    try {
      answer = { data: await api("GET", `${base}/ledger${ledgerQuery(state, { page: state.page, limit: LEDGER_PER_PAGE })}`) };
    } catch (error) {
      answer = { error };
    }
    if (serial !== ledgerSerial || !ctx.isCurrent()) return;
    fillLedger(answer);
    ledger.setAttribute("aria-busy", "false");
  }

  async function goLedger(changes, { scroll = false } = {}) {
    Object.assign(state, changes);
    remember();
    await reloadLedger();
    // Another page of a long ledger starts at its top, as a new page would.
    if (scroll && ctx.isCurrent() && ledger.getBoundingClientRect().top < 0) ledger.scrollIntoView({ block: "start" });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fromDate = fromInput.value ? fromLocalInput(fromInput.value) : null;
    const toDate = toInput.value ? fromLocalInput(toInput.value) : null;
    const ok = validate([
      [fields.category, ""],
      [fields.agent, agentInput.value.trim().length > 200 ? "An agent id is at most 200 characters." : ""],
      [fields.from, fromInput.value && !fromDate ? "Enter a date and a time." : ""],
      [fields.to, toInput.value && !toDate ? "Enter a date and a time."
        : fromDate && toDate && toDate.getTime() <= fromDate.getTime() ? "The end must come after the start." : ""],
    ]);
    if (!ok) return;
    await busy(filterSubmit, () => goLedger({
      category: categorySelect.value, agent_id: agentInput.value.trim(), from: fromDate ? rfc3339(fromDate) : "",
      to: toDate ? rfc3339(toDate) : "", order: orderSelect.value, page: 1,
    }))();
  });
  clear.addEventListener("click", busy(clear, async () => {
    categorySelect.value = "";
    agentInput.value = "";
    fromInput.value = "";
    toInput.value = "";
    orderSelect.value = DEFAULT_ORDER;
    for (const f of Object.values(fields)) f.setError("");
    await goLedger({ category: "", agent_id: "", from: "", to: "", order: DEFAULT_ORDER, page: 1 });
  }));

  csv.addEventListener("click", busy(csv, async () => {
    ledgerNotice.clear();
    const stamp = new Date().toISOString().slice(0, 10);
    const filename = `ledger-${tenantId}-${stamp}.csv`;
    try {
      const text = await ledgerCSV(`${base}/ledger`, { ...state }, (done, total) => {
        ledgerNotice.show("info", `Downloading the ledger: ${formatInt(done)} of ${formatInt(total)} entries…`);
      });
      saveBlob(new Blob([text], { type: "text/csv;charset=utf-8" }), filename);
      ledgerNotice.show("ok", `The ledger${filtered() ? " of these filters" : ""} is downloaded as ${filename}.`);
    } catch (error) {
      ledgerNotice.show("error", "The CSV could not be downloaded: ", error && error.message ? error.message : String(error));
    }
  }));

  /* Caps */
  const capsNotice = noticeSlot({ id: "caps-notice" });
  const capsBody = h("div");
  const caps = card("Caps", {
    id: "caps",
    description: "What one agent or one API key may spend of a category per window (day and month in UTC, period = the allowance window). Used counts debits; open holds also count against a cap when it is checked.",
  }, capsNotice, capsBody);
  let lastLimits = first.limits;
  const fillCaps = (answer) => {
    lastLimits = answer;
    capsNotice.clear();
    if (answer.error) {
      errorNotice(capsNotice, answer.error, "The caps");
      capsBody.replaceChildren();
    } else {
      capsBody.replaceChildren(capsTable(answer.data.limits || [], keyNames));
    }
  };

  /* Alerts */
  const alertsNotice = noticeSlot({ id: "alerts-notice" });
  const alertsSettings = h("div", { class: "alert-settings" });
  const alertsBody = h("div");
  const alerts = card("Alerts", {
    id: "alerts",
    description: "Low-credit alerts (webhooks credits.low and credits.depleted, and email to the owners): each threshold fires once per window and category.",
  }, alertsNotice, alertsSettings, h("h3", { class: "subheading" }, "History"), alertsBody);

  function fillAlerts(answer) {
    alertsNotice.clear();
    if (answer.error) {
      errorNotice(alertsNotice, answer.error, "The alerts");
      alertsSettings.replaceChildren();
      alertsBody.replaceChildren();
      return;
    }
    const { settings, alerts: history, page } = answer.data;
    alertsSettings.replaceChildren(alertSettings(settings || {}));
    alertsBody.replaceChildren(alertTable(history || []),
      page && (history.length || Number(page.page) > 1) ? pager(page, (p) => goAlerts(p), "alerts") : null);
  }

  async function goAlerts(p) {
    state.alertsPage = p;
    remember();
    const serial = ++alertsSerial;
    let answer;
    try {
      answer = { data: await api("GET", `${base}/alerts${query({ page: p, limit: ALERTS_PER_PAGE })}`) };
    } catch (error) {
      answer = { error };
    }
    if (serial !== alertsSerial || !ctx.isCurrent()) return;
    fillAlerts(answer);
  }

  function fillAll(answers) {
    fillBalances(answers.balance);
    fillLedger(answers.ledger);
    fillCaps(answers.limits);
    fillAlerts(answers.alerts);
  }

  fillAll(first);
  ledger.setAttribute("aria-busy", "false");

  return {
    balances,
    ledger,
    caps,
    alerts,
    /** The tenant's detail answer: API key names for the caps of scope api_key. */
    update(detail) {
      keyNames = new Map((detail.api_keys || []).map((k) => [k.id, k.name]));
      if (lastLimits) fillCaps(lastLimits);
    },
    /** Reads every section again (after a grant, say), keeping the filters and pages. */
    async reload() {
      ledgerSerial += 1;
      alertsSerial += 1;
      const serial = ledgerSerial;
      const answers = await loadCredits(tenantId, state);
      if (!ctx.isCurrent() || serial !== ledgerSerial) return;
      fillAll(answers);
    },
  };
}

// #/webhooks (every endpoint, the event catalogue), #/webhooks/new and #/webhooks/{id}/edit
// (the editor), #/webhooks/{id} (one endpoint: test, enable or disable, rotate its secret,
// delete it, and its deliveries with their attempts, payloads and Redeliver).
// A signing secret is answered once (create, rotate): it travels to the next page in the
// in-memory flash, never in the URL, and is gone on reload.

import { api, enc, parseJSON, query } from "../api.js";
import { confirmDialog } from "../dialog.js";
import {
  badge, busy, button, card, checkbox, code, details, emptyState, field, h, int, link, noticeSlot, pageHeader, pager, shortId, table,
  time, uid, validate,
} from "../dom.js";
import { formatInt, parseDate, plural } from "../format.js";
import * as check from "../validate.js";

export const ALL_EVENTS = "*";
const STATUS_TONES = { pending: "info", delivered: "ok", failed: "danger" };
const DELIVERIES_PER_PAGE = 20;

const isAll = (webhook) => webhook.events.includes(ALL_EVENTS);
const failures = (webhook) => Number(webhook.consecutive_failures || 0);
const dash = () => h("span", { class: "muted" }, "—");

function stateBadges(webhook) {
  return h("span", { class: "row-tight webhook-state" },
    webhook.is_active ? badge("active", "ok") : badge("disabled", "muted"),
    failures(webhook) > 0 ? badge("failing", "warn") : null);
}

function eventsCell(webhook, { max = 4 } = {}) {
  if (isAll(webhook)) return badge("all events", "accent");
  const shown = webhook.events.slice(0, max);
  const rest = webhook.events.length - shown.length;
  return h("span", { class: "chips" }, shown.map((e) => h("span", { class: "chip mono event-chip" }, e)),
    rest > 0 ? h("span", { class: "chip", title: webhook.events.join(", ") }, `+${rest} more`) : null);
}

function urlText(url, props = {}) {
  return h("code", { ...props, class: ["mono", "url", props.class] }, url);
}

/** The JSON a delivery sent, indented; int64 values keep their digits. */
function prettyJSON(text) {
  try { return JSON.stringify(parseJSON(text), null, 2); } catch (_) { return String(text ?? ""); }
}

function bodyOf(webhook, changes = {}) {
  return { name: webhook.name, url: webhook.url, events: webhook.events, is_active: webhook.is_active, ...changes };
}

/** Asks, then turns the endpoint on or off (PUT with its other fields unchanged); AFTER(saved, message). */
async function setActive(webhook, slot, buttonEl, after) {
  slot.clear();
  const enabling = !webhook.is_active;
  const ok = await confirmDialog({
    title: enabling ? `Enable the endpoint “${webhook.name}”?` : `Disable the endpoint “${webhook.name}”?`,
    body: enabling
      ? [h("p", null, "Events are queued for ", urlText(webhook.url), " again from now on."),
        failures(webhook) > 0 ? h("p", { class: "muted" }, `Its failure count (${formatInt(webhook.consecutive_failures)} in a row) starts again from 0.`) : null]
      : [h("p", null, "No new event is queued for ", urlText(webhook.url), " while it is off."),
        h("p", { class: "muted" }, "Deliveries already queued are still tried, and a test can still be sent. It can be enabled again at any time.")],
    confirmLabel: enabling ? "Enable endpoint" : "Disable endpoint",
    tone: enabling ? "primary" : "danger",
  });
  if (!ok) return;
  buttonEl.disabled = true;
  try {
    const { webhook: saved } = await api("PUT", `/v1/admin/webhooks/${enc(webhook.id)}`, bodyOf(webhook, { is_active: enabling }));
    const message = `The endpoint “${saved.name}” is ${saved.is_active ? "enabled" : "disabled"}.`;
    slot.show("ok", message);
    await after(saved, message);
  } catch (error) {
    slot.error(error);
  } finally {
    buttonEl.disabled = false;
  }
}

function toggleButton(webhook, props = {}) {
  return button(webhook.is_active ? "Disable…" : "Enable…", { tone: webhook.is_active ? "danger-ghost" : "primary", ...props });
}

/* ---------------------------------------------------------------- the list */

function catalogueCard(events) {
  return card("Event catalogue", {
    id: "webhook-events",
    description: "Each delivery is a POST of {type, timestamp, version, data}, signed with the endpoint's secret (Standard Webhooks headers webhook-id, webhook-timestamp, webhook-signature).",
  }, table([
    { label: "Event", render: (e) => code(e.name, { class: "small" }) },
    { label: "When", class: "cell-wide", render: (e) => e.description },
    {
      label: "Example",
      render: (e) => h("details", { class: "payload-details" }, h("summary", null, "Example payload"),
        h("pre", { class: "payload" }, JSON.stringify(e.example, null, 2))),
    },
  ], events, { empty: "The daemon lists no event type.", label: "Event catalogue" }));
}

export async function webhookList(ctx) {
  const [{ webhooks }, { events }] = await Promise.all([
    api("GET", "/v1/admin/webhooks"),
    api("GET", "/v1/admin/webhook-events"),
  ]);
  const slot = noticeSlot({ id: "webhooks-notice" });
  if (ctx.flash) slot.show(ctx.flash.kind, ctx.flash.text);
  const active = webhooks.filter((w) => w.is_active).length;

  const rows = webhooks.length ? table([
    {
      label: "Endpoint",
      class: "cell-wide",
      render: (w) => h("span", { class: "stack-tight" },
        link(`#/webhooks/${enc(w.id)}`, w.name, { class: "strong webhook-name" }), urlText(w.url, { class: "small muted" })),
    },
    { label: "Events", render: (w) => eventsCell(w) },
    { label: "State", render: stateBadges },
    {
      label: "Failures",
      numeric: true,
      render: (w) => h("span", { class: "stack-tight" }, int(w.consecutive_failures, { class: failures(w) ? "text-warn strong" : null }),
        w.failing_since ? h("span", { class: "muted small" }, "since ", time(w.failing_since)) : null),
    },
    { label: "Last success", render: (w) => (w.last_success_at ? time(w.last_success_at, { relative: true }) : h("span", { class: "muted" }, "never")) },
    {
      label: "",
      class: "actions",
      render: (w) => {
        const toggle = toggleButton(w, { size: "sm", "data-toggle": w.id });
        toggle.addEventListener("click", () => setActive(w, slot, toggle, (saved, message) => ctx.navigate("/webhooks", {}, { kind: "ok", text: message })));
        return h("span", { class: "row-tight" },
          link(`#/webhooks/${enc(w.id)}`, "Deliveries", { class: "btn btn-sm" }),
          link(`#/webhooks/${enc(w.id)}/edit`, "Edit", { class: "btn btn-sm" }), toggle);
      },
    },
  ], webhooks, { label: "Webhook endpoints", rowClass: () => "webhook-row" })
    : emptyState("No endpoint yet. Add one to send Tenantry's events (sign-ups, subscriptions, invoices, credits, API keys) to another system.",
      link("#/webhooks/new", "New endpoint", { class: "btn btn-primary" }));
  // Rows carry the endpoint's id, for links from elsewhere and for tests.
  if (webhooks.length) rows.querySelectorAll("tbody tr").forEach((tr, i) => { tr.dataset.webhook = webhooks[i].id; });

  return h("div", { class: "page" },
    pageHeader("Webhooks", {
      subtitle: `${plural(webhooks.length, "endpoint")}${webhooks.length ? `, ${formatInt(active)} active` : ""}. Failed deliveries are retried for 3 days; an endpoint failing for 5 days is turned off and the operators are emailed.`,
      actions: link("#/webhooks/new", "New endpoint", { class: "btn btn-primary", id: "new-webhook" }),
    }),
    slot,
    card(webhooks.length ? "Endpoints" : null, { id: "webhook-results" }, rows),
    catalogueCard(events));
}

/* ---------------------------------------------------------------- the editor */

function urlError(value) {
  const text = value.trim();
  if (!text) return "A URL is required.";
  if (text.length > 2000) return "The URL must be at most 2000 characters.";
  let parsed;
  try { parsed = new URL(text); } catch (_) { return "Enter a full URL such as https://example.com/hooks/tenantry."; }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return "The URL must start with http:// or https://.";
  if (!parsed.hostname) return "The URL needs a host.";
  return "";
}

/** The event checkboxes: "all events" (sent as "*") or a choice from the catalogue. */
function eventsPicker(catalogue, selected) {
  const all = checkbox("All events", { checked: selected.includes(ALL_EVENTS), name: "all_events", hint: "Every event type, including ones added to Tenantry later." });
  all.control.id = "webhook-all-events";
  // An event the endpoint takes that the catalogue no longer lists stays selectable.
  const names = [...catalogue.map((e) => [e.name, e.description]), ...selected.filter((n) => n !== ALL_EVENTS && !catalogue.some((e) => e.name === n)).map((n) => [n, "Not in the catalogue."])];
  const boxes = names.map(([name, description]) => {
    const box = checkbox(code(name, { class: "small" }), { checked: selected.includes(name), name: "event", hint: description });
    box.control.value = name;
    box.control.id = `webhook-event-${name.replace(/[^a-z0-9]+/gi, "-")}`;
    return box;
  });
  const chosen = new Map(boxes.map((b) => [b.control.value, b.control.checked]));
  const list = h("div", { class: "checks event-checks", role: "group", "aria-label": "Event types" }, boxes);
  const sync = () => {
    const everything = all.control.checked;
    list.classList.toggle("is-all", everything);
    for (const b of boxes) {
      if (everything) b.control.checked = true;
      else b.control.checked = chosen.get(b.control.value);
      b.control.disabled = everything;
    }
  };
  for (const b of boxes) b.control.addEventListener("change", () => chosen.set(b.control.value, b.control.checked));
  all.control.addEventListener("change", sync);
  sync();

  const errorId = uid("events-error");
  const error = h("p", { class: "field-error", id: errorId });
  const wrap = h("fieldset", { class: "field field-wide events-field", id: "webhook-events-field", "aria-describedby": errorId },
    h("legend", null, "Events"), all, list, error);
  wrap.control = all.control;
  wrap.setError = (message) => { error.textContent = message || ""; };
  wrap.read = () => (all.control.checked ? [ALL_EVENTS] : boxes.filter((b) => b.control.checked).map((b) => b.control.value));
  return wrap;
}

export async function webhookEditor(ctx, id) {
  const creating = id === null;
  const [{ events: catalogue }, existing] = await Promise.all([
    api("GET", "/v1/admin/webhook-events"),
    creating ? Promise.resolve(null) : api("GET", `/v1/admin/webhooks/${enc(id)}`).then((r) => r.webhook),
  ]);
  const w = existing || { name: "", url: "", events: [ALL_EVENTS], is_active: true };
  const slot = noticeSlot({ id: "webhook-form-notice" });

  const name = h("input", { type: "text", name: "name", value: w.name, maxlength: "200", autocomplete: "off", required: true });
  const url = h("input", {
    type: "url", name: "url", value: w.url, maxlength: "2000", autocomplete: "off", spellcheck: "false", class: "mono",
    placeholder: "https://example.com/hooks/tenantry", inputmode: "url", required: true,
  });
  const fields = {
    name: field("Name", name, { id: "webhook-name", hint: "For people: which system this is, e.g. “CRM sync”." }),
    url: field("URL", url, {
      id: "webhook-url", wide: true,
      hint: "http:// or https://. Loopback, private and link-local addresses are refused unless the daemon runs with --webhooks-allow-private; redirects are not followed.",
    }),
  };
  const events = eventsPicker(catalogue, w.events);
  const active = checkbox(creating ? "Active: send events to it from now on" : "Active: send events to it", {
    checked: w.is_active, name: "is_active", hint: !creating && !w.is_active && failures(w) > 0 ? "Turning it back on clears its failure count." : null,
  });
  active.control.id = "webhook-active";

  const save = h("button", { type: "submit", class: "btn btn-primary", id: "webhook-save" }, creating ? "Create endpoint" : "Save changes");
  const back = creating ? "#/webhooks" : `#/webhooks/${enc(id)}`;
  const form = h("form", { class: "form-grid", novalidate: true, id: "webhook-form" },
    fields.name, fields.url, events,
    h("div", { class: "field-wide" }, active),
    h("div", { class: "form-footer field-wide" }, save, link(back, "Cancel", { class: "btn btn-ghost" }), slot));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    slot.clear();
    const chosen = events.read();
    const ok = validate([
      [fields.name, check.required(name.value, "A name")],
      [fields.url, urlError(url.value)],
      [events, chosen.length ? "" : "Choose at least one event, or All events."],
    ]);
    if (!ok) return;
    const body = { name: name.value.trim(), url: url.value.trim(), events: chosen, is_active: active.control.checked };
    await busy(save, async () => {
      try {
        if (creating) {
          const { webhook: saved, secret } = await api("POST", "/v1/admin/webhooks", body);
          ctx.navigate(`/webhooks/${enc(saved.id)}`, {}, { kind: "ok", text: `Created the endpoint “${saved.name}”.`, secret });
        } else {
          const { webhook: saved } = await api("PUT", `/v1/admin/webhooks/${enc(id)}`, body);
          ctx.navigate(`/webhooks/${enc(saved.id)}`, {}, { kind: "ok", text: `Saved the endpoint “${saved.name}”.` });
        }
      } catch (error) {
        slot.error(error);
      }
    })();
  });

  return h("div", { class: "page" },
    pageHeader(creating ? "New webhook endpoint" : "Edit webhook endpoint", {
      crumbs: [link("#/webhooks", "Webhooks"), creating ? h("span", null, "New") : link(back, w.name)],
      subtitle: creating ? "Its signing secret is shown once, right after it is created." : [urlText(w.url), " · ", shortId(w.id, { class: "small" })],
    }),
    card(null, { class: "card-narrow" }, form));
}

/* ---------------------------------------------------------------- one endpoint */

/** The secret just answered by the API, shown this once with a copy button. */
function secretCard(secret, { rotated = false, previousUntil = null } = {}) {
  // A textarea, so that a phone shows the whole secret (it wraps) rather than its start.
  const input = h("textarea", {
    readonly: true, rows: "2", id: "webhook-secret-value", class: "mono secret-value",
    autocomplete: "off", spellcheck: "false", "aria-describedby": "webhook-secret-warning",
  }, secret);
  input.addEventListener("focus", () => input.select());
  const status = h("span", { class: "muted small secret-status", role: "status", id: "webhook-secret-status" });
  const copy = button("Copy", { id: "webhook-secret-copy", size: "sm" });
  copy.addEventListener("click", async () => {
    input.focus();
    input.select();
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch (_) {
      try { copied = document.execCommand("copy"); } catch (__) { copied = false; }
    }
    status.textContent = copied ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C on a Mac) to copy it.";
  });
  const done = button("I have stored it", { id: "webhook-secret-done", size: "sm" });
  const section = card(rotated ? "New signing secret" : "Signing secret", { id: "webhook-secret", class: "secret-card" },
    h("p", { class: "secret-warning", id: "webhook-secret-warning" },
      h("strong", null, "Copy it now: you will not see it again. "),
      "Tenantry shows a secret only once. The receiver checks the webhook-signature header with it; if it is lost, rotate the secret."),
    h("div", { class: "secret-row" }, h("label", { class: "sr-only", for: input.id }, "Signing secret"), input, copy, status),
    rotated && previousUntil ? h("p", { class: "muted small" }, "The previous secret also signs deliveries until ", time(previousUntil), ", so the receiver can switch over.") : null,
    h("div", { class: "row" }, done));
  done.addEventListener("click", () => {
    section.remove();
    const heading = document.querySelector("main h1");
    if (heading) heading.focus();
  });
  return section;
}

function attemptsTable(delivery) {
  if (!delivery.attempts.length) return h("p", { class: "muted small" }, delivery.status === "pending" ? "Not tried yet: the first attempt is due now." : "No attempt recorded.");
  return table([
    { label: "#", numeric: true, render: (a) => int(a.attempt) },
    { label: "When", render: (a) => time(a.attempted_at) },
    { label: "HTTP", render: (a) => (a.http_status && a.http_status !== "0" ? code(a.http_status) : h("span", { class: "muted" }, "no answer")) },
    { label: "Response", class: "cell-wide", render: (a) => (a.response_body ? h("pre", { class: "response-body" }, a.response_body) : dash()) },
    { label: "Error", class: "cell-wide", render: (a) => (a.error_message ? h("span", { class: "text-danger small" }, a.error_message) : dash()) },
    { label: "Retry at", render: (a) => (a.next_retry_at ? time(a.next_retry_at) : dash()) },
  ], delivery.attempts, { label: "Attempts" });
}

function nextCell(d) {
  if (d.status === "pending") return d.next_retry_at ? time(d.next_retry_at, { relative: true }) : h("span", { class: "muted" }, "now");
  if (d.completed_at) return h("span", { class: "stack-tight" }, h("span", { class: "muted small" }, d.status === "delivered" ? "delivered" : "gave up"), time(d.completed_at));
  return dash();
}

/** The deliveries as a table whose rows open a full-width row: ids, payload, every attempt. */
function deliveryTable(deliveries, { open, onRedeliver, serial }) {
  if (!deliveries.length) return h("p", { class: "empty" }, "No delivery yet. Send a test, or wait for an event this endpoint takes.");
  const columns = ["Event", "Status", "HTTP", "Attempts", "Error", "Next retry / finished", ""];
  const body = h("tbody");
  deliveries.forEach((d, index) => {
    const detailId = `delivery-${serial}-${index}`;
    const expanded = open.has(d.id);
    const detail = h("tr", { class: "delivery-detail-row", id: detailId, hidden: !expanded, "data-delivery": d.id },
      h("td", { colspan: String(columns.length) }, h("div", { class: "delivery-detail" },
        details([
          ["Delivery", code(d.id, { class: "small" })],
          ["webhook-id", code(d.message_id, { class: "small" })],
          ["Queued", time(d.created_at)],
          ["Finished", d.completed_at ? time(d.completed_at) : dash()],
        ]),
        h("div", { class: "stack" }, h("h3", null, "Payload"), h("pre", { class: "payload", "data-role": "payload" }, prettyJSON(d.payload))),
        h("div", { class: "stack delivery-attempts" }, h("h3", null, "Attempts"), attemptsTable(d)))));
    const toggle = h("button", {
      type: "button", class: "btn btn-sm btn-ghost delivery-toggle", "aria-expanded": String(expanded), "aria-controls": detailId,
      "data-delivery": d.id, "data-focus": `toggle:${d.id}`,
    }, h("span", { class: "diff-caret", "aria-hidden": "true" }, "▸"), " Details");
    toggle.setAttribute("aria-label", `Details of the ${d.event_type} delivery`);
    toggle.addEventListener("click", () => {
      const opening = detail.hidden;
      detail.hidden = !opening;
      toggle.setAttribute("aria-expanded", String(opening));
      if (opening) open.add(d.id); else open.delete(d.id);
    });
    let redeliver = null;
    if (d.status !== "pending") {
      redeliver = button("Redeliver", { size: "sm", "data-redeliver": d.id, "data-focus": `redeliver:${d.id}` });
      redeliver.setAttribute("aria-label", `Redeliver the ${d.event_type} delivery`);
      redeliver.addEventListener("click", busy(redeliver, () => onRedeliver(d)));
    }
    body.append(h("tr", { class: ["delivery-row", `delivery-${d.status}`], "data-delivery": d.id, "data-status": d.status },
      h("td", { "data-label": "Event" }, h("span", { class: "stack-tight" }, code(d.event_type, { class: "small" }), time(d.created_at))),
      h("td", { "data-label": "Status", class: "delivery-status" }, badge(d.status, STATUS_TONES[d.status])),
      h("td", { "data-label": "HTTP", class: "delivery-http" }, d.http_status && d.http_status !== "0" ? code(d.http_status) : dash()),
      h("td", { "data-label": "Attempts", class: "numeric delivery-attempt-count" }, int(d.attempt)),
      h("td", { "data-label": "Error", class: "cell-wide" }, d.error_message ? h("span", { class: "text-danger small" }, d.error_message) : dash()),
      h("td", { "data-label": "Next retry / finished" }, nextCell(d)),
      h("td", { class: "actions" }, h("span", { class: "row-tight" }, toggle, redeliver))), detail);
  });
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Deliveries" },
    h("table", { class: "delivery-table" }, h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col" }, c || h("span", { class: "sr-only" }, "Actions"))))), body));
}

export async function webhookPage(ctx) {
  const id = ctx.args[0];
  const page = Math.max(1, Number(ctx.params.get("page")) || 1);
  const loadWebhook = () => api("GET", `/v1/admin/webhooks/${enc(id)}`).then((r) => r.webhook);
  const loadDeliveries = () => api("GET", `/v1/admin/webhooks/${enc(id)}/deliveries${query({ page, limit: DELIVERIES_PER_PAGE })}`);
  const first = await loadWebhook().catch((error) => {
    if (error.status === 404) return null;
    throw error;
  });
  if (!first) {
    return h("div", { class: "page" }, pageHeader("Endpoint not found", { crumbs: [link("#/webhooks", "Webhooks")] }),
      h("p", { class: "empty" }, "There is no webhook endpoint ", code(id), ". It may have been deleted."));
  }
  const firstDeliveries = await loadDeliveries();

  let webhook = first;
  const slot = noticeSlot({ id: "webhook-notice" });
  if (ctx.flash) slot.show(ctx.flash.kind, ctx.flash.text);
  const secretSlot = h("div", { class: "secret-slot" });
  if (ctx.flash && ctx.flash.secret) secretSlot.replaceChildren(secretCard(ctx.flash.secret));
  const headerSlot = h("div");
  const detailsSlot = h("div", { class: "slot" });
  const deliveriesNotice = noticeSlot({ id: "deliveries-notice" });
  const deliveriesBody = h("div", { class: "deliveries-body" });
  const live = h("span", { class: "muted small", id: "deliveries-live" });
  const open = new Set();
  let shown = null; // the deliveries answer on screen, as JSON (re-render only on change)
  let current = firstDeliveries;
  let serial = 0;
  let timer = null;
  let lastFocus = null; // data-focus of the deliveries' button the operator was on
  deliveriesBody.addEventListener("focusin", (event) => { lastFocus = (event.target.dataset && event.target.dataset.focus) || null; });
  deliveriesBody.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !deliveriesBody.contains(event.relatedTarget)) lastFocus = null;
  });

  const refreshButton = button("Refresh", { size: "sm", id: "deliveries-refresh" });

  /** Re-renders CONTAINER with RENDER, keeping the focus on the control of the same id. */
  function keepFocus(container, render) {
    const active = document.activeElement;
    const focusedId = active && active !== document.body && container.contains(active) ? active.id : null;
    render();
    if (focusedId && !container.contains(active)) {
      const again = document.getElementById(focusedId);
      if (again) again.focus({ preventScroll: true });
    }
  }

  function fillWebhook(w) {
    keepFocus(headerSlot, () => renderWebhook(w));
  }

  function renderWebhook(w) {
    webhook = w;
    const test = button("Send test", { tone: "primary", id: "webhook-test" });
    test.addEventListener("click", busy(test, sendTest));
    const toggle = toggleButton(w, { id: "webhook-toggle" });
    toggle.addEventListener("click", () => setActive(webhook, slot, toggle, async (saved) => {
      if (!ctx.isCurrent()) return;
      fillWebhook(saved);
      document.getElementById("webhook-toggle").focus();
    }));
    const rotate = button("Rotate secret…", { id: "webhook-rotate" });
    rotate.addEventListener("click", () => rotateSecret(rotate));
    const del = button("Delete…", { tone: "danger-ghost", id: "webhook-delete" });
    del.addEventListener("click", () => deleteWebhook(del));
    headerSlot.replaceChildren(pageHeader(w.name, {
      crumbs: [link("#/webhooks", "Webhooks"), h("span", null, w.name)],
      subtitle: [stateBadges(w), " ", urlText(w.url, { class: "small" })],
      actions: [test, link(`#/webhooks/${enc(w.id)}/edit`, "Edit", { class: "btn", id: "webhook-edit" }), toggle, rotate, del],
    }));
    const previous = parseDate(w.previous_secret_expires_at);
    detailsSlot.replaceChildren(card("Endpoint", { id: "webhook-details" }, details([
      ["URL", urlText(w.url)],
      ["Events", eventsCell(w, { max: 100 })],
      ["State", h("span", { id: "webhook-state" }, stateBadges(w))],
      ["Failures in a row", h("span", { class: "row-tight" }, int(w.consecutive_failures, { id: "webhook-failures" }),
        w.failing_since ? h("span", { class: "muted small" }, "failing since ", time(w.failing_since)) : null)],
      ["Last event queued", w.last_triggered_at ? time(w.last_triggered_at, { relative: true }) : h("span", { class: "muted" }, "never")],
      ["Last success", h("span", { id: "webhook-last-success" }, w.last_success_at ? time(w.last_success_at, { relative: true }) : h("span", { class: "muted" }, "never"))],
      previous && previous.getTime() > Date.now() ? ["Previous secret", h("span", { id: "webhook-previous-secret" }, "also signs until ", time(previous))] : null,
      ["Created", h("span", null, time(w.created_at), w.created_by ? h("span", { class: "muted" }, ` by ${w.created_by}`) : null)],
      ["Updated", time(w.updated_at)],
      ["Id", code(w.id, { class: "small" })],
    ])));
  }

  function fillDeliveries(data) {
    current = data;
    const json = JSON.stringify(data);
    if (json !== shown) {
      shown = json;
      // Keep what the operator was doing: the open rows, and the focused button (a
      // Redeliver button that is gone hands the focus to its row's Details).
      const active = document.activeElement;
      const lost = !active || active === document.body || deliveriesBody.contains(active);
      const focused = lost ? lastFocus : null;
      const focusedRow = focused ? focused.slice(focused.indexOf(":") + 1) : null;
      serial += 1;
      deliveriesBody.replaceChildren(
        deliveryTable(data.deliveries, { open, onRedeliver: redeliver, serial }),
        data.deliveries.length || Number(data.page.page) > 1 ? pager(data.page, (p) => ctx.navigate(`/webhooks/${enc(id)}`, { page: p }), "deliveries") : null);
      if (focused) {
        const target = deliveriesBody.querySelector(`[data-focus="${CSS.escape(focused)}"]`)
          || deliveriesBody.querySelector(`[data-focus="${CSS.escape(`toggle:${focusedRow}`)}"]`);
        if (target) target.focus({ preventScroll: true });
      }
    }
    schedule(data.deliveries);
  }

  /** While a delivery is pending, refresh by itself: soon while it is due, else at its retry time. */
  function schedule(deliveries) {
    clearTimeout(timer);
    timer = null;
    const pending = deliveries.filter((d) => d.status === "pending");
    if (!pending.length || !ctx.isCurrent()) {
      live.textContent = "";
      return;
    }
    const soonest = Math.min(...pending.map((d) => (parseDate(d.next_retry_at) || new Date()).getTime()));
    const delay = Math.min(60000, Math.max(1500, soonest - Date.now() + 1000));
    live.textContent = `${plural(pending.length, "delivery", "deliveries")} pending: this list refreshes by itself.`;
    timer = setTimeout(tick, delay);
  }

  async function tick() {
    timer = null;
    if (!ctx.isCurrent()) return;
    try {
      const [w, data] = await Promise.all([loadWebhook(), loadDeliveries()]);
      if (!ctx.isCurrent()) return;
      if (JSON.stringify(w) !== JSON.stringify(webhook)) fillWebhook(w);
      fillDeliveries(data);
    } catch (error) {
      // Stop on any error (the session may have ended, the endpoint been deleted elsewhere).
      if (ctx.isCurrent()) {
        live.textContent = "";
        deliveriesNotice.error(error);
      }
    }
  }

  async function reloadAll() {
    const [w, data] = await Promise.all([loadWebhook(), loadDeliveries()]);
    if (!ctx.isCurrent()) return;
    fillWebhook(w);
    fillDeliveries(data);
  }

  async function sendTest() {
    slot.clear();
    deliveriesNotice.clear();
    try {
      const { delivery } = await api("POST", `/v1/admin/webhooks/${enc(id)}/test`, {});
      const text = `A ${delivery.event_type} event is queued for “${webhook.name}”; its delivery is listed below.`;
      if (page > 1) {
        ctx.navigate(`/webhooks/${enc(id)}`, {}, { kind: "ok", text });
        return;
      }
      slot.show("ok", text);
      await reloadAll();
      if (document.activeElement === document.body) document.getElementById("webhook-test").focus({ preventScroll: true });
    } catch (error) {
      slot.error(error);
    }
  }

  async function redeliver(delivery) {
    deliveriesNotice.clear();
    try {
      await api("POST", `/v1/admin/webhooks/${enc(id)}/deliveries/${enc(delivery.id)}/redeliver`, {});
      deliveriesNotice.show("ok", `The ${delivery.event_type} delivery is queued again, with the same webhook-id and payload.`);
      await reloadAll();
    } catch (error) {
      deliveriesNotice.error(error);
    }
  }

  async function rotateSecret(buttonEl) {
    slot.clear();
    const ok = await confirmDialog({
      title: `Rotate the signing secret of “${webhook.name}”?`,
      body: [
        h("p", null, "A new secret signs every delivery from now on. The current one also signs for 24 hours, so the receiver can switch over."),
        h("p", { class: "muted" }, "The new secret is shown once, on this page."),
      ],
      confirmLabel: "Rotate secret",
    });
    if (!ok) return;
    buttonEl.disabled = true;
    try {
      const { webhook: saved, secret } = await api("POST", `/v1/admin/webhooks/${enc(id)}/rotate-secret`, {});
      if (!ctx.isCurrent()) return;
      fillWebhook(saved);
      slot.show("ok", `The secret of “${saved.name}” is rotated.`);
      secretSlot.replaceChildren(secretCard(secret, { rotated: true, previousUntil: saved.previous_secret_expires_at }));
      document.getElementById("webhook-secret-value").focus();
    } catch (error) {
      slot.error(error);
      buttonEl.disabled = false;
    }
  }

  async function deleteWebhook(buttonEl) {
    slot.clear();
    const total = Number(current.page.total || 0);
    const ok = await confirmDialog({
      title: `Delete the endpoint “${webhook.name}”?`,
      body: [
        h("p", null, "No more events go to ", urlText(webhook.url), ", and its ", plural(total, "delivery", "deliveries"), " are deleted with it."),
        h("p", { class: "muted" }, "This cannot be undone; to pause it instead, disable it."),
      ],
      confirmLabel: "Delete endpoint",
      tone: "danger",
    });
    if (!ok) return;
    buttonEl.disabled = true;
    try {
      await api("DELETE", `/v1/admin/webhooks/${enc(id)}`);
      ctx.navigate("/webhooks", {}, { kind: "ok", text: `Deleted the endpoint “${webhook.name}”.` });
    } catch (error) {
      slot.error(error);
      buttonEl.disabled = false;
    }
  }

  refreshButton.addEventListener("click", busy(refreshButton, async () => {
    deliveriesNotice.clear();
    try { await reloadAll(); } catch (error) { deliveriesNotice.error(error); }
  }));

  fillWebhook(first);
  fillDeliveries(firstDeliveries);
  return h("div", { class: "page", "data-webhook-id": id },
    headerSlot,
    secretSlot,
    slot,
    h("div", { class: "grid grid-2-1 grid-top" }, detailsSlot, card("Verifying deliveries", { id: "webhook-verify" },
      h("p", { class: "small" }, "Each delivery carries ", code("webhook-id"), " (the same on every attempt: use it to drop duplicates), ",
        code("webhook-timestamp"), " and ", code("webhook-signature"), ": ", code("v1,"), " and the base64 HMAC-SHA256 of ",
        code("id.timestamp.body"), " keyed by the secret."),
      h("p", { class: "small muted" }, "Any 2xx answer is a success; anything else, or no answer within 10 s, is retried from 30 s, doubling up to 6 hours, for 3 days."))),
    card("Deliveries", {
      id: "webhook-deliveries",
      description: "Newest first; finished deliveries are kept 30 days.",
      actions: [live, refreshButton],
    }, deliveriesNotice, deliveriesBody));
}

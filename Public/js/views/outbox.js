// #/outbox: emails and their delivery (GET /v1/admin/outbox), newest first.

import { api, query } from "../api.js";
import { badge, card, field, h, link, pageHeader, pager, slicePage, table, time } from "../dom.js";
import { plural } from "../format.js";

// The API answers at most 500 emails and has no pages: the console pages what it gets.
const FETCH_LIMIT = 500;

export async function outbox(ctx) {
  const to = ctx.params.get("to") || "";
  const page = ctx.params.get("page") || "1";
  const { emails } = await api("GET", `/v1/admin/outbox${query({ to, limit: FETCH_LIMIT })}`);
  const shown = slicePage(emails, page, 25);

  const toInput = h("input", { type: "search", name: "to", value: to, placeholder: "someone@example.com", autocomplete: "off" });
  const form = h("form", { class: "filters", role: "search", novalidate: true },
    field("Recipient", toInput, { id: "outbox-to" }),
    h("div", { class: "filters-actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Filter"),
      to ? link("#/outbox", "Clear", { class: "btn btn-ghost" }) : null));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate("/outbox", { to: toInput.value.trim() });
  });

  const rows = table([
    { label: "When", render: (e) => time(e.created_at) },
    { label: "To", render: (e) => e.to },
    {
      label: "Subject",
      render: (e) => h("details", { class: "mail" }, h("summary", null, e.subject || "(no subject)"), h("pre", { class: "mail-body" }, e.body)),
    },
    { label: "Status", render: (e) => badge(e.status) },
    {
      label: "Delivery",
      render: (e) => h("div", { class: "mail-delivery" },
        h("div", null, plural(Number(e.attempts || 0), "attempt")),
        e.status === "queued" && e.next_attempt_at ? h("div", { class: "muted" }, "next ", time(e.next_attempt_at)) : null,
        e.status === "sent" && e.sent_at ? h("div", { class: "muted" }, "sent ", time(e.sent_at)) : null,
        e.last_error ? h("div", { class: "mail-error" }, e.last_error) : null),
    },
  ], shown.items, { empty: to ? `No email to ${to}.` : "The outbox is empty.", label: "Outbox" });

  return h("div", { class: "page" },
    pageHeader("Outbox", {
      subtitle: `${plural(emails.length, "email")}${emails.length >= FETCH_LIMIT ? ` (the newest ${FETCH_LIMIT})` : ""}. Queued emails are retried until sent or failed; with the log transport nothing leaves the machine, and codes and invitations are read here.`,
    }),
    card(null, { class: "card-filters" }, form),
    card(null, { id: "outbox-results" }, rows, pager(shown.page, (p) => ctx.navigate("/outbox", { to, page: p }), "emails")));
}

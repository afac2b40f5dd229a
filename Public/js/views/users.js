// #/users: search users, disable or enable them (POST /v1/admin/users/{id}/status), reset an
// operator's second factor (DELETE /v1/admin/users/{id}/2fa).

import { api, enc, query } from "../api.js";
import { confirmDialog } from "../dialog.js";
import { badge, button, card, field, shortId, h, link, noticeSlot, pageHeader, pager, table, time } from "../dom.js";
import { plural } from "../format.js";

async function setStatus(user, next, slot, ctx, buttonEl) {
  slot.clear();
  const disabling = next === "DISABLED";
  const ok = await confirmDialog({
    title: disabling ? `Disable ${user.email}?` : `Enable ${user.email}?`,
    body: disabling
      ? [h("p", null, h("strong", null, user.name || user.email), " can no longer log in, and every session of theirs ends at once. Their tenants and data stay.")]
      : [h("p", null, h("strong", null, user.name || user.email), " can log in again.")],
    confirmLabel: disabling ? "Disable user" : "Enable user",
    tone: disabling ? "danger" : "primary",
  });
  if (!ok) return;
  buttonEl.disabled = true;
  try {
    const { user: saved } = await api("POST", `/v1/admin/users/${enc(user.id)}/status`, { status: next });
    ctx.navigate("/users", Object.fromEntries(ctx.params), { kind: "ok", text: `${saved.email} is now ${saved.status}.` });
  } catch (error) {
    slot.error(error);
    buttonEl.disabled = false;
  }
}

async function resetTwoFactor(user, slot, ctx, buttonEl) {
  slot.clear();
  const ok = await confirmDialog({
    title: `Reset two-factor for ${user.email}?`,
    body: [h("p", null, h("strong", null, user.name || user.email), " signs in with their password alone until they set up two-factor again. Do this when they lost their device.")],
    confirmLabel: "Reset two-factor",
    tone: "danger",
  });
  if (!ok) return;
  buttonEl.disabled = true;
  try {
    await api("DELETE", `/v1/admin/users/${enc(user.id)}/2fa`);
    ctx.navigate("/users", Object.fromEntries(ctx.params), { kind: "ok", text: `The two-factor authentication of ${user.email} is reset.` });
  } catch (error) {
    slot.error(error);
    buttonEl.disabled = false;
  }
}

export async function users(ctx) {
  const q = ctx.params.get("q") || "";
  const page = ctx.params.get("page") || "1";
  const data = await api("GET", `/v1/admin/users${query({ q, page, limit: 20 })}`);
  const slot = noticeSlot({ id: "users-notice" });
  if (ctx.flash) slot.show(ctx.flash.kind, ctx.flash.text);

  const search = h("input", { type: "search", name: "q", value: q, placeholder: "Email, name or user id", autocomplete: "off" });
  const form = h("form", { class: "filters", role: "search", novalidate: true },
    field("Search", search, { id: "user-search" }),
    h("div", { class: "filters-actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Search"),
      q ? link("#/users", "Clear", { class: "btn btn-ghost" }) : null));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate("/users", { q: search.value.trim() });
  });

  const rows = table([
    { label: "Name", render: (u) => h("span", { class: "stack-tight" }, h("span", { class: "strong" }, u.name || "—"), shortId(u.id, { class: "muted small" })) },
    { label: "Email", render: (u) => u.email },
    { label: "Status", render: (u) => h("span", { class: "row-tight" }, badge(u.status), u.is_operator ? badge("operator", "accent") : null) },
    { label: "Created", render: (u) => time(u.created_at) },
    { label: "Updated", render: (u) => time(u.updated_at) },
    {
      label: "",
      class: "actions",
      render: (u) => {
        const tenants = link(`#/tenants?q=${enc(u.email)}`, "Tenants", { class: "btn btn-sm" });
        if (ctx.me && u.id === ctx.me.id) return h("span", { class: "row-tight" }, tenants, h("span", { class: "muted small" }, "(you)"));
        const next = u.status === "DISABLED" ? "ACTIVE" : "DISABLED";
        const b = button(next === "DISABLED" ? "Disable…" : "Enable…", { size: "sm", tone: next === "DISABLED" ? "danger-ghost" : "primary", "data-user": u.id });
        b.addEventListener("click", () => setStatus(u, next, slot, ctx, b));
        let reset = null;
        if (u.is_operator) {
          reset = button("Reset two-factor…", { size: "sm", tone: "danger-ghost", "data-reset-2fa": u.id });
          reset.addEventListener("click", () => resetTwoFactor(u, slot, ctx, reset));
        }
        return h("span", { class: "row-tight" }, tenants, u.status === "UNINITIALIZED" ? null : b, reset);
      },
    },
  ], data.users, { empty: q ? "No user matches." : "No user yet.", label: "Users" });

  return h("div", { class: "page" },
    pageHeader("Users", { subtitle: plural(data.page.total, "user") }),
    card(null, { class: "card-filters" }, form),
    slot,
    card(null, { id: "user-results" }, rows, pager(data.page, (p) => ctx.navigate("/users", { q, page: p }), "users")));
}

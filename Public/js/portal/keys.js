// #/keys — the tenant's API keys: list, create (the secret is shown once), revoke.

import { api, enc } from "./api.js";
import { confirmDialog } from "../dialog.js";
import { badge, busy, button, card, chips, field, h, pageHeader, table, time, validate } from "../dom.js";
import { slot } from "./ui.js";

export async function keys(ctx) {
  const answer = await api("GET", "/v1/tenant/api-keys");
  const list = answer.api_keys || [];
  const listSlot = slot({ id: "keys-notice" });
  const secretArea = h("div", { class: "secret-slot", id: "key-secret-area" });

  const name = h("input", { type: "text", name: "name", maxlength: "200", autocomplete: "off", id: "key-name" });
  const nameField = field("Name", name, { hint: "What uses this key, e.g. the production worker." });
  const formSlot = slot({ id: "key-form-notice" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "key-create" }, "Create key");
  const form = h("form", { class: "stack", novalidate: true, id: "key-form" },
    h("div", { class: "form-grid form-grid-1" }, nameField),
    h("p", { class: "muted small" }, "The key may read and report usage (scopes usage.read and usage.write)."),
    h("div", { class: "form-footer" }, submit, formSlot));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!validate([[nameField, name.value.trim() ? "" : "Give the key a name."]])) return;
    submit.disabled = true;
    formSlot.clear();
    try {
      const created = await api("POST", "/v1/tenant/api-keys", { name: name.value.trim(), scopes: ["usage.read", "usage.write"] });
      name.value = "";
      const secret = h("input", { type: "text", readonly: true, class: "secret-value mono", id: "key-secret", value: created.plaintext_key, "aria-label": "The new API key" });
      const copy = button("Copy", { size: "sm", onclick: async () => {
        try { await navigator.clipboard.writeText(secret.value); copy.textContent = "Copied"; } catch (_) { secret.select(); }
      } });
      const done = button("I have saved it", { size: "sm", id: "key-secret-done", onclick: () => ctx.refresh() });
      secretArea.replaceChildren(card("Your new API key", { class: "secret-card", id: "key-secret-card" },
        h("p", { class: "secret-warning" }, "Copy it now: this is the only time it is shown. Store it as a secret; anyone with it can spend your credits."),
        h("div", { class: "secret-row" }, secret, copy),
        h("p", { class: "small" }, "Key ", h("code", { class: "mono" }, created.api_key.key_prefix || created.api_key.id), " · ", created.api_key.name),
        h("div", { class: "row" }, done)));
      secret.focus();
      secret.select();
    } catch (error) {
      formSlot.error(error);
    } finally {
      submit.disabled = false;
    }
  });

  const revoke = (key, btn) => busy(btn, async () => {
    const ok = await confirmDialog({ title: `Revoke ${key.name}?`, body: ["Requests with this key are refused from now on. This cannot be undone."], confirmLabel: "Revoke", tone: "danger" });
    if (!ok) return;
    try {
      await api("DELETE", `/v1/tenant/api-keys/${enc(key.id)}`);
      ctx.navigate("/keys", {}, { kind: "ok", text: `Revoked the key ${key.name}.` });
    } catch (error) {
      listSlot.error(error);
    }
  });

  return h("div", { class: "page" },
    pageHeader("API keys", { subtitle: "Keys your services use to report and read usage." }),
    secretArea,
    card("Create a key", { id: "key-create-card", class: "card-narrow" }, form),
    card("Keys", { id: "keys" }, listSlot,
      table([
        { label: "Name", render: (k) => h("span", { class: "key-name" }, k.name) },
        { label: "Key", render: (k) => h("code", { class: "mono" }, k.key_prefix ? `${k.key_prefix}…` : k.id) },
        { label: "Scopes", render: (k) => chips(k.scopes) },
        { label: "Status", render: (k) => (k.is_active ? badge("active", "ok") : badge(k.revoked_at ? "revoked" : "expired", "muted")) },
        { label: "Created", render: (k) => time(k.created_at) },
        { label: "Last used", render: (k) => time(k.last_used_at) },
        { label: "", class: "actions", render: (k) => {
          if (!k.is_active) return "";
          const btn = button("Revoke", { size: "sm", tone: "danger", class: "revoke-key", "data-key": k.id, "aria-label": `Revoke ${k.name}` });
          btn.addEventListener("click", revoke(k, btn));
          return btn;
        } },
      ], list, { empty: "No API keys yet.", label: "API keys", rowClass: (k) => (k.is_active ? "key-row" : "key-row key-inactive") })));
}

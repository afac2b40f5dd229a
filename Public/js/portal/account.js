// #/account — the signed-in user's sign-in methods: the OpenID Connect providers linked to the
// account (GET /v1/user/identities), each linked (POST …/oauth/{provider}/authorize, then the
// provider's page) or unlinked (DELETE /v1/user/identities/{provider}). The card shows only
// when the daemon has providers.

import { api, enc } from "./api.js";
import { confirmDialog } from "../dialog.js";
import { busy, button, card, details, h, pageHeader, time } from "../dom.js";
import { oauthProviders, returnAfterOAuth } from "../shell.js";
import { slot } from "./ui.js";

export async function account(ctx) {
  const providers = await oauthProviders(api);
  const identities = providers.length ? (await api("GET", "/v1/user/identities")).identities || [] : [];
  const notice = slot({ id: "account-notice" });
  if (ctx.flash) notice.show(ctx.flash.kind, ctx.flash.text);

  const link = (provider, btn) => busy(btn, async () => {
    notice.clear();
    try {
      const { redirect_url: url } = await api("POST", `/v1/account/oauth/${enc(provider.name)}/authorize`, { redirect_to: location.pathname });
      returnAfterOAuth("/account");
      ctx.followRedirect(url);
    } catch (error) {
      notice.error(error);
    }
  });
  const unlink = (label, name, btn) => busy(btn, async () => {
    notice.clear();
    const ok = await confirmDialog({
      title: `Unlink ${label}?`, body: [`You can no longer sign in with ${label} until you link it again.`], confirmLabel: "Unlink", tone: "danger",
    });
    if (!ok) return;
    try {
      await api("DELETE", `/v1/user/identities/${enc(name)}`);
      ctx.navigate("/account", {}, { kind: "ok", text: `${label} is unlinked.` });
    } catch (error) {
      notice.error(error);
    }
  });

  // Every configured provider, then any linked one the daemon no longer offers.
  const names = [...providers.map((p) => p.name), ...identities.map((i) => i.provider).filter((n) => !providers.some((p) => p.name === n))];
  const rows = names.map((name) => {
    const provider = providers.find((p) => p.name === name);
    const label = provider ? provider.display_name || name : name;
    const identity = identities.find((i) => i.provider === name);
    let action = null;
    if (identity) {
      action = button("Unlink", { size: "sm", tone: "danger-ghost", class: "unlink-provider", "data-provider": name, "aria-label": `Unlink ${label}` });
      action.addEventListener("click", unlink(label, name, action));
    } else if (provider) {
      action = button("Link", { size: "sm", tone: "primary", class: "link-provider", "data-provider": name, "aria-label": `Link ${label}` });
      action.addEventListener("click", link(provider, action));
    }
    return h("li", { class: "identity", "data-provider": name },
      h("span", { class: "stack-tight identity-name" },
        h("span", { class: "strong" }, label),
        identity
          ? h("span", { class: "muted small identity-detail" }, identity.email || identity.subject, " · linked ", time(identity.linked_at))
          : h("span", { class: "muted small identity-detail" }, "Not linked")),
      action);
  });

  return h("div", { class: "page" },
    pageHeader("Account", { subtitle: ctx.me ? ctx.me.email : "" }),
    notice,
    card("Your account", { id: "account-details", class: "card-narrow" }, details([["Email", ctx.me ? ctx.me.email : ""], ["Name", ctx.me?.name || "—"]])),
    providers.length
      ? card("Sign-in methods", { id: "sign-in-methods", class: "card-narrow", description: "Accounts at other providers you can sign in with." },
        h("ul", { id: "identities", class: "identity-list" }, rows))
      : null);
}

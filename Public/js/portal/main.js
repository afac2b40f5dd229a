// Tenantry billing portal, for a tenant's owners and admins: the console's shell (js/shell.js)
// with the portal's pages and its own session (js/portal/api.js). No inline script (the CSP
// forbids it); every API value is written as text, never as HTML.
// Routes live in the hash (/portal#/invoices/inv_…?checkout=success).

import { api, client } from "./api.js";
import { h, notice } from "../dom.js";
import { $, createShell } from "../shell.js";
import { apiErrorText } from "./ui.js";
import { overview } from "./overview.js";
import { plans } from "./plans.js";
import { invoiceList, invoicePage, receiptPage } from "./invoices.js";
import { keys } from "./keys.js";
import { members } from "./members.js";
import { account } from "./account.js";

/** A page that shows the flash ({kind, text}) it was navigated to with above itself. */
const withFlash = (view) => async (ctx) => {
  const node = await view(ctx);
  if (ctx.flash && node) node.prepend(notice(ctx.flash.kind, ctx.flash.text));
  return node;
};

const routes = [
  [/^\/$/, "overview", overview],
  [/^\/plans$/, "plans", plans],
  [/^\/invoices$/, "invoices", invoiceList],
  [/^\/invoices\/([^/]+)$/, "invoices", invoicePage],
  [/^\/invoices\/([^/]+)\/receipt$/, "invoices", receiptPage],
  [/^\/keys$/, "keys", keys],
  [/^\/members$/, "members", members],
  [/^\/account$/, "account", account],
].map(([pattern, section, view]) => [pattern, section, withFlash(view)]);

let tenant = null;

const shell = createShell(client, routes, {
  home: "/",
  ui: {
    heading: "Billing portal",
    intro: "Sign in to see your workspace's plan, invoices, credits, API keys and members.",
    signIn: "Sign in",
    busy: "Signing in…",
    signOut: "Sign out",
    links: [h("a", { id: "forgot-link", href: "/password/reset" }, "Forgot your password?"), " · ",
      h("a", { id: "signup-link", href: "/register/verify" }, "Create an account")],
    sidebar: h("p", { id: "tenant-name", class: "portal-tenant" }),
    navLabel: "Billing portal",
    nav: [["overview", "Overview"], ["plans", "Plans"], ["invoices", "Invoices"], ["keys", "API keys"], ["members", "Members"], ["account", "Account"]],
    navPath: { overview: "/" },
  },
  titles: { app: "Billing · Tenantry", suffix: "Billing · Tenantry", login: "Sign in · Billing · Tenantry" },
  homeLabel: "Go to the overview",
  sessionEnded: "Your session has ended. Sign in again.",
  signedOut: "You have signed out.",
  errorText: apiErrorText,
  async load() {
    const [user, current] = await Promise.all([api("GET", "/v1/user"), api("GET", "/v1/user/tenants/current")]);
    tenant = current.tenant;
    $("whoami").textContent = user.user.email;
    $("tenant-name").textContent = tenant.name || "";
    $("tenant-name").title = tenant.id || "";
    return user.user;
  },
  context: () => ({ tenant, followRedirect }),
});

/**
 * Follows a redirect_url of the API. The daemon's own invoice page (/#/invoices/{id} or
 * /portal#/invoices/{id}, when no payment provider is configured) stays in the portal.
 */
function followRedirect(url) {
  let target;
  try { target = new URL(url, location.href); } catch (_) { return; }
  const invoice = target.hash.match(/^#\/invoices\/([^/?]+)/);
  if (target.origin === location.origin && invoice && (target.pathname === "/" || target.pathname === "/portal")) {
    shell.navigate(`/invoices/${invoice[1]}`);
    return;
  }
  if (target.protocol !== "https:" && target.protocol !== "http:") return;
  window.location.assign(target.href);
}

shell.start();

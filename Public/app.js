// Tenantry console: plain DOM and ES modules, no framework, no inline script (the CSP
// forbids it). Every value from the API is written with textContent, never as HTML.
// Routes live in the URL hash (#/tenants/tnt_…), so the daemon's own links
// (/#/invoices/{id}, /#/tenants/{id}) open the right page.

import { api, ApiError, client, session } from "./js/api.js";
import { h, errorText } from "./js/dom.js";
import { $, createShell } from "./js/shell.js";
import { audit } from "./js/views/audit.js";
import { couponEditor, couponList } from "./js/views/coupons.js";
import { dashboard } from "./js/views/dashboard.js";
import { invoiceList, invoicePage } from "./js/views/invoices.js";
import { jobs } from "./js/views/jobs.js";
import { outbox } from "./js/views/outbox.js";
import { security } from "./js/views/security.js";
import { planEditor, planList } from "./js/views/plans.js";
import { tenantList, tenantPage } from "./js/views/tenants.js";
import { users } from "./js/views/users.js";
import { variantEditor, variantList } from "./js/views/variants.js";
import { webhookEditor, webhookList, webhookPage } from "./js/views/webhooks.js";

const routes = [
  [/^\/dashboard$/, "dashboard", dashboard],
  [/^\/tenants$/, "tenants", tenantList],
  [/^\/tenants\/([^/]+)$/, "tenants", tenantPage],
  [/^\/plans$/, "plans", planList],
  [/^\/plans\/new$/, "plans", (ctx) => planEditor(ctx, null)],
  [/^\/plans\/([^/]+)$/, "plans", (ctx) => planEditor(ctx, ctx.args[0])],
  [/^\/variants$/, "variants", variantList],
  [/^\/variants\/new$/, "variants", (ctx) => variantEditor(ctx, null)],
  [/^\/variants\/([^/]+)$/, "variants", (ctx) => variantEditor(ctx, ctx.args[0])],
  [/^\/coupons$/, "coupons", couponList],
  [/^\/coupons\/new$/, "coupons", (ctx) => couponEditor(ctx, null)],
  [/^\/coupons\/([^/]+)$/, "coupons", (ctx) => couponEditor(ctx, ctx.args[0])],
  [/^\/invoices$/, "invoices", invoiceList],
  [/^\/invoices\/([^/]+)$/, "invoices", invoicePage],
  [/^\/users$/, "users", users],
  [/^\/audit$/, "audit", audit],
  [/^\/outbox$/, "outbox", outbox],
  [/^\/webhooks$/, "webhooks", webhookList],
  [/^\/webhooks\/new$/, "webhooks", (ctx) => webhookEditor(ctx, null)],
  [/^\/webhooks\/([^/]+)\/edit$/, "webhooks", (ctx) => webhookEditor(ctx, ctx.args[0])],
  [/^\/webhooks\/([^/]+)$/, "webhooks", webhookPage],
  [/^\/jobs$/, "jobs", jobs],
  [/^\/security$/, "security", security],
];

const shell = createShell(client, routes, {
  home: "/dashboard",
  ui: {
    heading: "Operator console",
    intro: ["Log in with an operator account (", h("code", null, "tenantryd admin create"), ")."],
    signIn: "Log in",
    busy: "Logging in…",
    signOut: "Log out",
    navLabel: "Console",
    nav: [["dashboard", "Dashboard"], ["tenants", "Tenants"], ["plans", "Plans"], ["variants", "Prices & add-ons"],
      ["coupons", "Coupons"], ["invoices", "Invoices"], ["users", "Users"], ["audit", "Audit"], ["outbox", "Outbox"], ["webhooks", "Webhooks"], ["jobs", "Timers"], ["security", "Security"]],
  },
  titles: { app: "Tenantry console", suffix: "Tenantry", login: "Log in · Tenantry console" },
  homeLabel: "Go to the dashboard",
  sessionEnded: "Your session has ended; please log in again.",
  signedOut: "You have logged out.",
  failureText: (error) => (error instanceof ApiError && error.status === 403
    ? `This account is not an operator (${errorText(error)}). Log in with an operator account.`
    : errorText(error)),
  async load() {
    const { user } = await api("GET", "/v1/user");
    $("whoami").replaceChildren(h("span", { class: "muted" }, "Operator "), h("strong", null, user ? user.email : ""));
    return user;
  },
  // Operators only: an ordinary account is refused here rather than page by page.
  async admit(email) {
    try {
      await api("GET", "/v1/admin/jobs");
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        await api("POST", "/v1/account/logout", {}).catch(() => {});
        session.token = null;
        shell.showLogin(`${email || "This account"} is not an operator account. The console is for operators (tenantryd admin create).`);
      } else if (!(error instanceof ApiError && error.status === 401)) {
        session.token = null;
        shell.showLogin(errorText(error));
      }
      return false;
    }
  },
});

/** Navigates to PATH with PARAMS (empty values left out); FLASH shows on the next page. */
export const { navigate } = shell;

shell.start();

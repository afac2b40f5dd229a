// Tenantry console: plain DOM and ES modules, no framework, no inline script (the CSP
// forbids it). Every value from the API is written with textContent, never as HTML.
// Routes live in the URL hash (#/tenants/tnt_…), so the daemon's own links
// (/#/invoices/{id}, /#/tenants/{id}) open the right page.

import { api, ApiError, session, whenSessionEnds } from "./js/api.js";
import { closeDialog } from "./js/dialog.js";
import { button, emptyState, errorText, h, notice } from "./js/dom.js";
import { audit } from "./js/views/audit.js";
import { dashboard } from "./js/views/dashboard.js";
import { invoiceList, invoicePage } from "./js/views/invoices.js";
import { jobs } from "./js/views/jobs.js";
import { outbox } from "./js/views/outbox.js";
import { planEditor, planList } from "./js/views/plans.js";
import { tenantList, tenantPage } from "./js/views/tenants.js";
import { users } from "./js/views/users.js";
import { variantEditor, variantList } from "./js/views/variants.js";
import { webhookEditor, webhookList, webhookPage } from "./js/views/webhooks.js";

const $ = (id) => document.getElementById(id);

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
];

const state = { me: null, renderSerial: 0, flash: null };

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/dashboard";
  const [path, search = ""] = raw.split("?");
  return { path: path || "/dashboard", params: new URLSearchParams(search) };
}

/** Navigates to PATH with PARAMS (empty values left out); FLASH shows on the next page. */
export function navigate(path, params = {}, flash = null) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && String(value) !== "") search.set(key, String(value));
  }
  const target = `#${path}${search.toString() ? `?${search}` : ""}`;
  state.flash = flash;
  if (location.hash === target) render();
  else location.hash = target;
}

function setNav(section) {
  for (const a of document.querySelectorAll(".nav a")) {
    if (a.dataset.section === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function render() {
  if (!session.token) { showLogin(); return; }
  closeDialog();
  const serial = ++state.renderSerial;
  const { path, params } = parseHash();
  const main = $("main");
  const match = routes.map(([pattern, section, view]) => [path.match(pattern), section, view]).find(([m]) => m);
  main.setAttribute("aria-busy", "true");
  main.replaceChildren(h("div", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Loading…"));
  if (!match) {
    setNav(null);
    main.replaceChildren(emptyState(`There is no page at ${path}.`, h("a", { class: "btn", href: "#/dashboard" }, "Go to the dashboard")));
    main.dataset.render = String(serial);
    main.setAttribute("aria-busy", "false");
    return;
  }
  const [m, section, view] = match;
  setNav(section);
  const flash = state.flash;
  state.flash = null;
  const ctx = {
    args: m.slice(1).map(decodeURIComponent),
    params,
    me: state.me,
    flash,
    navigate,
    refresh: () => render(),
    isCurrent: () => serial === state.renderSerial,
  };
  let node;
  try {
    node = await view(ctx);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return; // the login page has taken over
    node = failure(error);
  }
  if (serial !== state.renderSerial) return; // a newer navigation won
  main.replaceChildren(node);
  main.dataset.render = String(serial); // how many pages this document has rendered (tests wait on it)
  main.setAttribute("aria-busy", "false");
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · Tenantry` : "Tenantry console";
  if (document.activeElement === document.body || !main.contains(document.activeElement)) {
    (heading || main).focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

function failure(error) {
  const forbidden = error instanceof ApiError && error.status === 403;
  return h("div", { class: "page" },
    h("h1", { tabindex: "-1" }, forbidden ? "Not allowed" : "Something went wrong"),
    notice("error", forbidden
      ? `This account is not an operator (${errorText(error)}). Log in with an operator account.`
      : errorText(error)),
    h("div", { class: "row" }, button("Try again", { onclick: () => render() })));
}

function showLogin(message = "", tone = "error") {
  closeDialog();
  $("shell").hidden = true;
  $("login-view").hidden = false;
  const box = $("login-message");
  box.textContent = message;
  box.hidden = !message;
  box.className = `notice notice-${tone}`;
  document.title = "Log in · Tenantry console";
  const email = $("login-email");
  (email.value ? $("login-password") : email).focus();
}

async function showConsole() {
  $("login-view").hidden = true;
  $("shell").hidden = false;
  $("whoami").replaceChildren(h("span", { class: "muted" }, "Operator "), h("strong", null, state.me ? state.me.email : ""));
  await render();
}

whenSessionEnds(() => {
  state.me = null;
  showLogin("Your session has ended; please log in again.");
});

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = $("login-email").value.trim();
  const password = $("login-password").value;
  const submit = $("login-submit");
  if (!email || !/^[^@\s]+@[^@\s]+$/.test(email)) { showLogin("Enter your email address."); $("login-email").focus(); return; }
  if (!password) { showLogin("Enter your password."); $("login-password").focus(); return; }
  submit.disabled = true;
  submit.textContent = "Logging in…";
  try {
    let token;
    try {
      ({ token } = await api("POST", "/v1/account/login", { email, password }, { auth: false }));
    } catch (error) {
      showLogin(errorText(error));
      return;
    }
    session.token = token;
    // Operators only: an ordinary account is refused here rather than page by page.
    try {
      await api("GET", "/v1/admin/jobs");
      const { user } = await api("GET", "/v1/user");
      state.me = user;
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        await api("POST", "/v1/account/logout", {}).catch(() => {});
        session.token = null;
        showLogin(`${email} is not an operator account. The console is for operators (tenantryd admin create).`);
      } else if (!(error instanceof ApiError && error.status === 401)) {
        session.token = null;
        showLogin(errorText(error));
      }
      return;
    }
    $("login-password").value = "";
    await showConsole();
  } finally {
    submit.disabled = false;
    submit.textContent = "Log in";
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("POST", "/v1/account/logout", {}); } catch (_) { /* the session may be over already */ }
  session.token = null;
  state.me = null;
  history.replaceState(null, "", "#/dashboard");
  showLogin("You have logged out.", "info");
});

window.addEventListener("hashchange", () => { if (session.token && state.me) render(); });

async function boot() {
  if (!session.token) { showLogin(); return; }
  try {
    const { user } = await api("GET", "/v1/user");
    state.me = user;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return; // whenSessionEnds showed the login page
    showLogin(errorText(error));
    return;
  }
  await showConsole();
}

boot();

// The single-page shell the operator console (app.js) and the billing portal
// (js/portal/main.js) share: the sign-in card, the sidebar and top bar, the confirmation
// dialog, hash routing, the render loop, and the 401 that brings the sign-in card back.
// Built with the DOM (the CSP forbids inline script); every API value is written as text.

import { ApiError } from "./api.js";
import { closeDialog, dialogElement } from "./dialog.js";
import { $, brand, button, emptyState, errorText as defaultErrorText, h, inputField, notice } from "./dom.js";

export { $ };

/** The hash of PATH with PARAMS as its query (empty values left out). */
export function hashOf(path, params = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && String(value) !== "") search.set(key, String(value));
  }
  return `#${path}${search.toString() ? `?${search}` : ""}`;
}

/** The sign-in card (#login-view), the shell (#shell: sidebar, top bar, #main) and the dialog. */
function build(ui) {
  const login = h("div", { id: "login-view", class: "login", hidden: true },
    h("section", { class: "login-card", "aria-labelledby": "login-title" },
      h("div", { class: "brand brand-dark" }, brand()),
      h("h1", { id: "login-title" }, ui.heading),
      h("p", { class: "muted" }, ui.intro),
      h("form", { id: "login-form", class: "stack", novalidate: true },
        inputField("Email", { id: "login-email", name: "email", type: "email", autocomplete: "username", required: true }),
        inputField("Password", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true }),
        h("p", { id: "login-message", class: "notice", role: "alert", hidden: true }),
        h("button", { id: "login-submit", class: "btn btn-primary btn-block", type: "submit" }, ui.signIn)),
      ui.links ? h("p", { class: "small login-links" }, ui.links) : null));
  const shell = h("div", { id: "shell", class: "shell", hidden: true },
    h("aside", { class: "sidebar" },
      h("a", { class: "brand", href: `#${ui.home}` }, brand()),
      ui.sidebar || null,
      h("nav", { class: "nav", "aria-label": ui.navLabel },
        ui.nav.map(([section, label]) => h("a", { href: `#${ui.navPath?.[section] ?? `/${section}`}`, "data-section": section }, label)))),
    h("div", { class: "shell-main" },
      h("header", { class: "topbar" },
        h("span", { id: "whoami", class: "whoami" }),
        h("button", { id: "logout", class: "btn btn-sm", type: "button" }, ui.signOut)),
      h("main", { id: "main", class: "main", tabindex: "-1", "aria-busy": "true" })));
  document.body.append(login, shell, dialogElement());
}

/**
 * Starts a shell on CLIENT (js/api.js createClient) and ROUTES ([pattern, section, view(ctx)]).
 * OPTIONS:
 * - home: the default route ("/dashboard");
 * - ui: the markup's words (heading, intro, signIn, busy, signOut, links, nav, navLabel, sidebar);
 * - titles: { app, suffix, login } for document.title;
 * - load(): the signed-in user, fetched before the first page (and after each sign-in);
 * - admit(email): after a sign-in, answers false (having said why) to refuse the account;
 * - context(): more fields for each view's ctx; errorText(error): how an error reads;
 * - homeLabel, sessionEnded, signedOut: what the not-found page and the sign-in card say.
 * Answers { navigate, render, showLogin, start }.
 */
export function createShell({ api, session, whenSessionEnds }, routes, options) {
  const { home, ui, titles } = options;
  const errorText = options.errorText || defaultErrorText;
  const state = { me: null, serial: 0, flash: null };
  build({ ...ui, home });

  function parseHash() {
    const raw = location.hash.replace(/^#/, "") || home;
    const [path, search = ""] = raw.split("?");
    return { path: path || home, params: new URLSearchParams(search) };
  }

  /** Navigates to PATH with PARAMS; FLASH ({kind, text}) is the next page's to show. */
  function navigate(path, params = {}, flash = null) {
    const target = hashOf(path, params);
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

  function showLogin(message = "", tone = "error") {
    closeDialog();
    $("shell").hidden = true;
    $("login-view").hidden = false;
    const box = $("login-message");
    box.textContent = message;
    box.hidden = !message;
    box.className = `notice notice-${tone}`;
    document.title = titles.login;
    const email = $("login-email");
    (email.value ? $("login-password") : email).focus();
  }

  function failure(error) {
    const forbidden = error instanceof ApiError && error.status === 403;
    return h("div", { class: "page" },
      h("h1", { tabindex: "-1" }, forbidden ? "Not allowed" : "Something went wrong"),
      notice("error", options.failureText ? options.failureText(error) : errorText(error)),
      h("div", { class: "row" }, button("Try again", { onclick: () => render() })));
  }

  async function render() {
    if (!session.token) { showLogin(); return; }
    closeDialog();
    const serial = ++state.serial;
    const { path, params } = parseHash();
    const main = $("main");
    main.setAttribute("aria-busy", "true");
    main.replaceChildren(h("div", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Loading…"));
    $("login-view").hidden = true;
    $("shell").hidden = false;
    const match = routes.map(([pattern, section, view]) => [path.match(pattern), section, view]).find(([m]) => m);
    let node;
    try {
      if (!state.me) state.me = await options.load();
      if (!match) {
        setNav(null);
        node = h("div", { class: "page" }, emptyState(`There is no page at ${path}.`, h("a", { class: "btn", href: `#${home}` }, options.homeLabel)));
      } else {
        const [m, section, view] = match;
        setNav(section);
        const flash = state.flash;
        state.flash = null;
        node = await view({
          args: m.slice(1).map(decodeURIComponent),
          params,
          me: state.me,
          flash,
          navigate,
          refresh: () => render(),
          isCurrent: () => serial === state.serial,
          ...(options.context ? options.context() : {}),
        });
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return; // the sign-in card has taken over
      node = failure(error);
    }
    if (serial !== state.serial) return; // a newer navigation won
    main.replaceChildren(node);
    main.dataset.render = String(serial); // how many pages this document has rendered (tests wait on it)
    main.setAttribute("aria-busy", "false");
    const heading = main.querySelector("h1");
    document.title = heading ? `${heading.textContent} · ${titles.suffix}` : titles.app;
    if (document.activeElement === document.body || !main.contains(document.activeElement)) {
      (heading || main).focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }

  whenSessionEnds(() => {
    state.me = null;
    showLogin(options.sessionEnded);
  });

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = $("login-email").value.trim();
    const password = $("login-password").value;
    const submit = $("login-submit");
    if (!email || !/^[^@\s]+@[^@\s]+$/.test(email)) { showLogin("Enter your email address."); $("login-email").focus(); return; }
    if (!password) { showLogin("Enter your password."); $("login-password").focus(); return; }
    submit.disabled = true;
    submit.textContent = ui.busy;
    try {
      let token;
      try {
        ({ token } = await api("POST", "/v1/account/login", { email, password }, { auth: false }));
      } catch (error) {
        showLogin(errorText(error));
        return;
      }
      session.token = token;
      state.me = null;
      if (options.admit && !(await options.admit(email))) return;
      $("login-password").value = "";
      await render();
    } finally {
      submit.disabled = false;
      submit.textContent = ui.signIn;
    }
  });

  $("logout").addEventListener("click", async () => {
    try { await api("POST", "/v1/account/logout", {}); } catch (_) { /* the session may be over already */ }
    session.token = null;
    state.me = null;
    history.replaceState(null, "", `#${home}`);
    showLogin(options.signedOut, "info");
  });

  window.addEventListener("hashchange", () => { if (session.token && state.me) render(); });

  return { navigate, render, showLogin, start: render };
}

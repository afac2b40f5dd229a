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

const RETURN_KEY = "tenantry.oauth.return";

/** Names the route (of this page) to land on when the browser comes back from a provider. */
export function returnAfterOAuth(path) {
  sessionStorage.setItem(RETURN_KEY, path);
}

/** The OpenID Connect providers of the daemon ([] when none, or when they cannot be read). */
export async function oauthProviders(api) {
  try {
    const { providers = [] } = await api("GET", "/v1/account/oauth/providers", undefined, { auth: false });
    return providers;
  } catch (_) {
    return [];
  }
}

/** The sign-in card (#login-view), the shell (#shell: sidebar, top bar, #main) and the dialog. */
function build(ui) {
  const login = h("div", { id: "login-view", class: "login", hidden: true },
    h("section", { class: "login-card", "aria-labelledby": "login-title" },
      h("div", { class: "brand brand-dark" }, brand()),
      h("h1", { id: "login-title" }, ui.heading),
      h("p", { class: "muted" }, ui.intro),
      h("p", { id: "login-message", class: "notice", role: "alert", hidden: true }),
      h("form", { id: "login-form", class: "stack", novalidate: true },
        inputField("Email", { id: "login-email", name: "email", type: "email", autocomplete: "username", required: true }),
        inputField("Password", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true }),
        h("button", { id: "login-submit", class: "btn btn-primary btn-block", type: "submit" }, ui.signIn)),
      // The second step of an account with two-factor authentication (POST /v1/account/login/2fa).
      h("form", { id: "mfa-form", class: "stack", novalidate: true, hidden: true },
        h("p", { id: "mfa-intro" }, "Enter the 6-digit code from your authenticator app."),
        inputField("Authentication code", {
          id: "mfa-code", name: "code", type: "text", inputmode: "text", autocomplete: "one-time-code",
          autocapitalize: "off", spellcheck: "false", maxlength: "32", required: true, "aria-describedby": "mfa-hint",
        }),
        h("p", { id: "mfa-hint", class: "muted small" }, "Use a recovery code (xxxxx-xxxxx) if you do not have your device."),
        h("button", { id: "mfa-submit", class: "btn btn-primary btn-block", type: "submit" }, "Verify"),
        h("button", { id: "mfa-back", class: "btn btn-ghost btn-block", type: "button" }, "Back")),
      // "Sign in with …" for each OpenID Connect provider (GET /v1/account/oauth/providers).
      h("div", { id: "oauth-providers", class: "oauth-providers stack", hidden: true }),
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
  const state = { me: null, serial: 0, flash: null, mfa: null };
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

  /** The sign-in card's message line (text only). */
  function say(message = "", tone = "error") {
    const box = $("login-message");
    box.textContent = message;
    box.hidden = !message;
    box.className = `notice notice-${tone}`;
  }

  /** Shows the password step (MFA false) or the second-factor step of the sign-in card. */
  function showStep(mfa) {
    $("login-form").hidden = mfa;
    $("mfa-form").hidden = !mfa;
    $("oauth-providers").hidden = mfa || !$("oauth-providers").childElementCount;
    if (!mfa) state.mfa = null;
  }

  function showLogin(message = "", tone = "error") {
    closeDialog();
    $("shell").hidden = true;
    $("login-view").hidden = false;
    showStep(false);
    say(message, tone);
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

  /** A session TOKEN was granted (to EMAIL): keeps it, lets options.admit refuse it, renders. */
  async function signedIn(token, email) {
    session.token = token;
    state.me = null;
    if (options.admit && !(await options.admit(email))) return;
    $("login-password").value = "";
    await render();
  }

  /** Runs WORK with SUBMIT disabled and saying BUSYLABEL meanwhile. */
  async function submitting(submit, busyLabel, work) {
    const label = submit.textContent;
    submit.disabled = true;
    submit.textContent = busyLabel;
    try { await work(); } finally {
      submit.disabled = false;
      submit.textContent = label;
    }
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = $("login-email").value.trim();
    const password = $("login-password").value;
    if (!email || !/^[^@\s]+@[^@\s]+$/.test(email)) { showLogin("Enter your email address."); $("login-email").focus(); return; }
    if (!password) { showLogin("Enter your password."); $("login-password").focus(); return; }
    await submitting($("login-submit"), ui.busy, async () => {
      let answer;
      try {
        answer = await api("POST", "/v1/account/login", { email, password }, { auth: false });
      } catch (error) {
        showLogin(errorText(error));
        return;
      }
      await answered(answer, email);
    });
  });

  /** A sign-in's answer: a session, or the code step when a second factor is asked for. */
  async function answered(answer, email) {
    if (answer.mfa_required) {
      state.mfa = { token: answer.mfa_token, email };
      $("login-password").value = "";
      $("mfa-code").value = "";
      showStep(true);
      say();
      $("mfa-code").focus();
      return;
    }
    await signedIn(answer.token, email);
  }

  $("mfa-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = $("mfa-code").value.replace(/\s+/g, "");
    if (!state.mfa) { showLogin(); return; }
    if (!code) { say("Enter the code from your authenticator app, or a recovery code."); $("mfa-code").focus(); return; }
    await submitting($("mfa-submit"), "Verifying…", async () => {
      let token;
      try {
        ({ token } = await api("POST", "/v1/account/login/2fa", { mfa_token: state.mfa.token, code }, { auth: false }));
      } catch (error) {
        say(errorText(error));
        $("mfa-code").select();
        $("mfa-code").focus();
        return;
      }
      const { email } = state.mfa;
      showStep(false);
      await signedIn(token, email);
    });
  });

  $("mfa-back").addEventListener("click", () => showLogin());

  /** The provider buttons: plain links to each login_url, back to this page. */
  async function loadProviders() {
    const providers = await oauthProviders(api);
    const back = `?redirect_to=${encodeURIComponent(location.pathname)}`;
    const box = $("oauth-providers");
    box.replaceChildren(...(providers.length ? [h("p", { class: "oauth-or muted small" }, "or")] : []),
      ...providers.map((p) => h("a", { class: "btn btn-block oauth-provider", href: `${p.login_url}${back}`, "data-provider": p.name },
        `Sign in with ${p.display_name || p.name}`)));
    box.hidden = !providers.length || !$("mfa-form").hidden;
  }

  /**
   * The end of a sign-in at a provider: #oauth_ticket=… becomes a session, #oauth_error=… is
   * said on the sign-in card (or above the page, when signed in already). The fragment is
   * cleared either way; the page to show is the one named by returnAfterOAuth, else home.
   */
  async function finishOAuth() {
    const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
    const ticket = fragment.get("oauth_ticket");
    const failed = fragment.get("oauth_error");
    if (ticket === null && failed === null) return false;
    const back = sessionStorage.getItem(RETURN_KEY) || home;
    sessionStorage.removeItem(RETURN_KEY);
    history.replaceState(null, "", `${location.pathname}${location.search}${hashOf(back)}`);
    if (failed !== null) {
      if (session.token) { state.flash = { kind: "error", text: failed }; await render(); } else showLogin(failed);
      return true;
    }
    let answer;
    try {
      answer = await api("POST", "/v1/account/oauth/session", { ticket }, { auth: false });
    } catch (error) {
      if (session.token) { state.flash = { kind: "error", text: errorText(error) }; await render(); } else showLogin(errorText(error));
      return true;
    }
    // An operator with a second factor is asked for a code here too.
    if (answer.mfa_required) { showLogin(); await answered(answer, ""); return true; }
    let email = "";
    try {
      ({ user: { email } } = await api("GET", "/v1/user", undefined, { token: answer.token }));
    } catch (_) { /* admit says what it can without it */ }
    await signedIn(answer.token, email);
    return true;
  }

  async function start() {
    loadProviders();
    if (!(await finishOAuth())) await render();
  }

  $("logout").addEventListener("click", async () => {
    try { await api("POST", "/v1/account/logout", {}); } catch (_) { /* the session may be over already */ }
    session.token = null;
    state.me = null;
    history.replaceState(null, "", `#${home}`);
    showLogin(options.signedOut, "info");
  });

  window.addEventListener("hashchange", () => { if (session.token && state.me) render(); });

  return { navigate, render, showLogin, start };
}

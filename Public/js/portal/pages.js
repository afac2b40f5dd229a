// The standalone pages of the portal, sign-up (/register/verify) and password reset
// (/password/reset), share one flow: an email, the 6-digit code emailed to it, a password.
// This module builds the card (the CSP forbids inline script, and HTML has no includes) and
// runs the flow; each page gives its words, its endpoints and what follows the code.
// Every API value is written as text.

import { api, session } from "./api.js";
import { $, brand, h, inputField } from "../dom.js";
import { apiErrorText } from "./ui.js";

/** Where the portal is, for the pages that lead to it. */
export const PORTAL = "/portal";

/** Opens the portal signed in with TOKEN (the portal's session lives in this tab). */
export function openPortal(token) {
  session.token = token;
  location.assign(PORTAL);
}

/** A POST without the portal's session: with TOKEN as its bearer when given. */
export const post = (path, body, token) => api("POST", path, body, token ? { token } : { auth: false });

/** Shows a message in the slot with id SLOT (an error, or "ok" / "info"); empty hides it. */
export function say(slotId, kind, message) {
  const slot = $(slotId);
  slot.textContent = message || "";
  slot.className = `notice notice-${kind}`;
  slot.hidden = !message;
}

/** Short-lived state of a flow in this browser (the code email may open a new tab). */
function remember(key, value) {
  if (value === null) localStorage.removeItem(key);
  else localStorage.setItem(key, JSON.stringify({ ...value, at: Date.now() }));
}
function recall(key, maxAgeMs = 60 * 60 * 1000) {
  try {
    const value = JSON.parse(localStorage.getItem(key) || "null");
    if (!value || Date.now() - value.at > maxAgeMs) return null;
    return value;
  } catch (_) { return null; }
}

const form = (id, ...children) => h("form", { id: `${id}-form`, class: "stack", novalidate: true }, ...children,
  h("p", { id: `${id}-message`, class: "notice", role: "alert", hidden: true }));
const submit = (id, label) => h("button", { id: `${id}-submit`, class: "btn btn-primary btn-block", type: "submit" }, label);

/**
 * Builds and starts the flow of the page with id PAGE (its heading #PAGE-title, its status
 * line #PAGE-status). SPEC:
 * - heading; signIn: the words of the link to the portal;
 * - email: { step (the first step's name), autocomplete, request(email) → token,
 *   sent(email), pending(email) (the status when the page opens on a flow in progress), restart,
 *   none (the status without a flow in progress) };
 * - code: { hint, submit, noPending, verify(email, code, pending, forget) → the password step's
 *   status, or null when the page went on (or said why not) by itself; forget() ends the flow };
 * - password: { step (its label, "Password" or "New password"), hint, submit, set(password, confirm) };
 * - after: the node after the password form (the reset's #done step);
 * - prepare(params, remember): run first, with the page's query (the sign-up link's token).
 * Answers { step(name, status) }.
 */
export function codeFlow(page, spec) {
  const { email, code, password } = spec;
  const key = `tenantry.${page}`; // where the flow in progress is remembered
  const steps = { [email.step]: `${email.step}-form`, code: "code-form", password: "password-form", ...(spec.after ? { done: "done" } : {}) };
  const passwordId = "password-value";
  const confirmId = "password-confirm";
  const emailInput = (id) => inputField("Email", { id, name: "email", type: "email", autocomplete: email.autocomplete, required: true });

  document.body.append(h("div", { class: "login" },
    h("section", { class: "login-card", "aria-labelledby": `${page}-title` },
      h("div", { class: "brand brand-dark" }, brand()),
      h("h1", { id: `${page}-title`, tabindex: "-1" }, spec.heading),
      h("ol", { class: "steps", "aria-label": "Steps" },
        [[email.step, "Email"], ["code", "Code"], ["password", password.step]].map(([name, label], i) => h("li", { "data-step": name }, `${i + 1}. ${label}`))),
      h("p", { id: `${page}-status`, class: "muted" }),
      form(email.step, emailInput(`${email.step}-email`), submit(email.step, "Email me a code")),
      form("code", emailInput("code-email"),
        inputField("6-digit code", { id: "code-value", class: "code-input", name: "code", type: "text", inputmode: "numeric",
          autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6", required: true }, code.hint),
        submit("code", code.submit),
        h("button", { id: "code-restart", class: "btn btn-block", type: "button" }, "Send a new code")),
      form("password",
        inputField(password.step, { id: passwordId, name: "password", type: "password", autocomplete: "new-password",
          required: true, minlength: "8", maxlength: "128" }, password.hint),
        inputField(`${password.step} again`, { id: confirmId, name: "password_confirm", type: "password", autocomplete: "new-password", required: true }),
        submit("password", password.submit)),
      spec.after || null,
      h("p", { class: "small login-links" }, h("a", { id: "signin-link", href: PORTAL }, spec.signIn)))));
  for (const id of Object.values(steps)) $(id).hidden = true;

  function step(name, status) {
    for (const [each, id] of Object.entries(steps)) $(id).hidden = each !== name;
    for (const li of document.querySelectorAll(".steps li")) {
      if (li.dataset.step === name) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    }
    $(`${page}-status`).textContent = status || "";
    const first = $(steps[name]).querySelector("input:not([readonly])");
    if (first) first.focus();
  }

  /** Runs WORK(button) on submitting #FORMID-form; a refusal shows in #FORMID-message. The button
   * is enabled again after, unless KEEPDISABLED and WORK succeeded (the page moves on). */
  function handle(formId, work, { keepDisabled = false } = {}) {
    $(`${formId}-form`).addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = $(`${formId}-submit`);
      let failed = true;
      try {
        failed = (await work(button)) === false;
      } catch (error) {
        say(`${formId}-message`, "error", apiErrorText(error));
      } finally {
        if (failed || !keepDisabled) button.disabled = false;
      }
    });
  }

  function askForCode(address, status) {
    $("code-email").value = address;
    $("code-value").value = "";
    step("code", status);
    $("code-value").focus();
  }

  handle(email.step, async (button) => {
    const address = $(`${email.step}-email`).value.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(address)) { say(`${email.step}-message`, "error", "Enter a valid email address."); return false; }
    button.disabled = true;
    const token = await email.request(address);
    remember(key, { email: address, token });
    say(`${email.step}-message`, "ok", "");
    askForCode(address, email.sent(address));
    return true;
  });

  $("code-restart").addEventListener("click", () => {
    remember(key, null);
    $(`${email.step}-email`).value = $("code-email").value;
    say("code-message", "error", "");
    step(email.step, email.restart);
  });

  handle("code", async (button) => {
    const address = $("code-email").value.trim();
    const value = $("code-value").value.trim();
    if (!/^\d{6}$/.test(value)) { say("code-message", "error", "The code has 6 digits."); return false; }
    const pending = recall(key);
    if (!pending || !pending.token) { say("code-message", "error", code.noPending); return false; }
    button.disabled = true;
    const next = await code.verify(address, value, pending, () => remember(key, null));
    if (next === null || next === undefined) return true;
    say("code-message", "ok", "");
    step("password", next);
    return true;
  });

  handle("password", async (button) => {
    const value = $(passwordId).value;
    const confirm = $(confirmId).value;
    if (value.length < 8 || value.length > 128) { say("password-message", "error", "The password has 8 to 128 characters."); return false; }
    if (value !== confirm) { say("password-message", "error", "The two passwords differ."); return false; }
    button.disabled = true;
    await password.set(value, confirm);
    $(passwordId).value = "";
    $(confirmId).value = "";
    return true;
  }, { keepDisabled: true });

  const params = new URLSearchParams(location.search);
  if (spec.prepare) spec.prepare(params, (value) => remember(key, value));
  const pending = recall(key);
  if (pending) {
    askForCode(pending.email, (email.pending || email.sent)(pending.email));
    if (!pending.email) $("code-email").focus();
  } else {
    $(`${email.step}-email`).value = params.get("email") || "";
    step(email.step, email.none);
  }
  return { step };
}

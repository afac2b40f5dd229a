// The page password-reset emails link to (/password/reset): ask for a code (its token binds
// it, kept in this browser for an hour), check the code (→ a reset token), set the password.
// The flow itself (forms, steps, messages) is js/portal/pages.js.

import { h } from "./dom.js";
import { codeFlow, PORTAL, post, say } from "./portal/pages.js";

let resetToken = null;

const flow = codeFlow("reset", {
  heading: "Reset your password",
  signIn: "Back to sign in",
  email: {
    step: "request",
    autocomplete: "username",
    none: "Enter your account's email: we send you a 6-digit code.",
    restart: "Enter your account's email: we send you a new code.",
    request: async (email) => (await post("/v1/account/password/forgot", { email })).token,
    sent: (email) => `If ${email} has an account, we emailed it a 6-digit code. Enter it here.`,
  },
  code: {
    submit: "Check the code",
    noPending: "This browser has no reset in progress (or it is more than an hour old). Send a new code.",
    async verify(email, code, pending, forget) {
      const answer = await post("/v1/account/password/forgot/verify", { email, code, token: pending.token });
      if (!answer.is_valid) {
        say("code-message", "error", "That code is not right. Check the email and try again.");
        return null;
      }
      forget();
      resetToken = answer.new_token;
      return `Choose a new password for ${answer.email || email}.`;
    },
  },
  password: {
    step: "New password",
    hint: "8 to 128 characters. Every session of your account ends.",
    submit: "Set the new password",
    async set(password, confirm) {
      await post("/v1/account/password/forgot/reset", { token: resetToken, new_password: password, password_confirm: confirm });
      flow.step("done", "");
    },
  },
  after: h("div", { id: "done", class: "stack" },
    h("p", { class: "notice notice-ok", role: "status" }, "Your password was changed. Sign in with the new one."),
    h("a", { id: "done-signin", class: "btn btn-primary btn-block", href: PORTAL }, "Sign in")),
});

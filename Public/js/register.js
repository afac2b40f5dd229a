// The page sign-up emails link to (/register/verify). Registering answers a token that binds
// the emailed code; the email carries only the code, so the token is kept in this browser
// (localStorage, an hour at most) between "Email me a code" and "Verify". Without it the API
// refuses the code, and the page says to start again. Then the first password, and the portal.
// The flow itself (forms, steps, messages) is js/portal/pages.js.

import { codeFlow, openPortal, post } from "./portal/pages.js";

let sessionToken = null;

const flow = codeFlow("register", {
  heading: "Create your account",
  signIn: "Already have an account? Sign in",
  prepare(params, remember) {
    const linked = params.get("token");
    if (linked) remember({ email: params.get("email") || "", token: linked });
  },
  email: {
    step: "start",
    autocomplete: "email",
    none: "There is no sign-up in progress in this browser. The code only works with the sign-up it was sent for: enter your email to start again and get a new code.",
    restart: "Enter your email: we send you a new code.",
    request: async (email) => (await post("/v1/account/register", { email })).token,
    sent: (email) => `We emailed a 6-digit code to ${email}. Enter it here.`,
    pending: (email) => `Enter the 6-digit code we emailed${email ? ` to ${email}` : ""}.`,
  },
  code: {
    hint: "The code is in the email we just sent. It works in this browser, where you started.",
    submit: "Verify",
    noPending: "This browser has no sign-up in progress (or it is more than an hour old). Send a new code to start again.",
    async verify(email, code, pending, forget) {
      const answer = await post("/v1/account/register/verify", { email, code, token: pending.token, from_link: "", country: "" });
      forget();
      sessionToken = answer.token;
      if (answer.is_initialized) { openPortal(sessionToken); return null; }
      return "Your email is verified. Choose a password to finish.";
    },
  },
  password: {
    step: "Password",
    hint: "8 to 128 characters.",
    submit: "Set password and continue",
    async set(password) {
      const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
      const answer = await post("/v1/user/initial", { password, timezone }, sessionToken);
      flow.step("password", "Your account is ready. Opening the portal…");
      openPortal(answer.token || sessionToken);
    },
  },
});

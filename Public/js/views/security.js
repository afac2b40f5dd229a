// #/security: the signed-in operator's second factor (GET /v1/user/2fa): set it up (enroll →
// a QR code of the otpauth URI and the secret as text → confirm with a first code → the ten
// recovery codes, shown once) or turn it off with a code.

import { api } from "../api.js";
import { badge, busy, button, card, code, details, field, h, noticeSlot, pageHeader, svg, time, validate } from "../dom.js";
import { qrcode } from "../vendor/qrcode.mjs";

const QUIET = 4; // modules of white around the code, as the QR standard asks

/** The QR code of TEXT as an <svg> of rects (module by module, no markup strings). */
export function qrSvg(text, label) {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  const size = count + QUIET * 2;
  const cells = [];
  for (let r = 0; r < count; r += 1) {
    for (let c = 0; c < count; c += 1) {
      if (qr.isDark(r, c)) cells.push(svg("rect", { x: c + QUIET, y: r + QUIET, width: 1, height: 1 }));
    }
  }
  return svg("svg", { class: "qr", viewBox: `0 0 ${size} ${size}`, role: "img", "aria-label": label, "shape-rendering": "crispEdges", "data-modules": count },
    svg("rect", { class: "qr-light", x: 0, y: 0, width: size, height: size, fill: "#ffffff" }),
    svg("g", { class: "qr-dark", fill: "#000000" }, cells));
}

/**
 * A form asking for one code (6 digits or a recovery code): LABEL, ID and HINT of its field,
 * its SUBMIT button ({id, label, tone}), MISSING (what an empty field says), SLOT (where the
 * API's error shows) and SEND(code), run with the button busy.
 */
function codeForm({ label, id, hint, submit: { id: submitId, label: submitLabel, tone }, missing, slot, send }) {
  const input = h("input", { type: "text", name: "code", autocomplete: "one-time-code", autocapitalize: "off", spellcheck: "false", maxlength: "32", inputmode: "text" });
  const codeInput = field(label, input, { id, hint });
  const submit = h("button", { type: "submit", id: submitId, class: `btn btn-${tone}` }, submitLabel);
  const form = h("form", { class: "stack", novalidate: true }, codeInput, h("div", { class: "form-footer" }, submit, slot));
  form.addEventListener("submit", busy(submit, async (event) => {
    event.preventDefault();
    slot.clear();
    const value = input.value.replace(/\s+/g, "");
    if (!validate([[codeInput, value ? "" : missing]])) return;
    try {
      await send(value);
    } catch (error) {
      slot.error(error);
      input.focus();
    }
  }));
  return form;
}

/** The enrolment steps: QR + secret + first code, then the recovery codes. */
function enrolment(ctx, { secret, otpauth_uri: uri }, onEnabled) {
  const form = codeForm({
    label: "Code from the app", id: "tfa-confirm-code", hint: "The 6-digit code the app shows now.",
    submit: { id: "tfa-confirm", label: "Turn on", tone: "primary" }, missing: "Enter the code the app shows.",
    slot: noticeSlot({ id: "tfa-confirm-notice" }),
    async send(value) {
      const { recovery_codes: codes = [] } = await api("POST", "/v1/user/2fa/confirm", { code: value });
      onEnabled(codes.length);
      box.replaceChildren(
        h("div", { class: "notice notice-ok", role: "status" }, "Two-factor authentication is on."),
        h("p", { id: "recovery-note", class: "strong" }, "Your recovery codes: store them somewhere safe now. Each works once in place of a code from the app, and they are not shown again."),
        h("ol", { id: "recovery-codes", class: "recovery-codes mono" }, codes.map((c) => h("li", null, c))),
        h("div", { class: "row" }, button("I have stored them", { id: "tfa-done", tone: "primary", onclick: () => ctx.refresh() })));
    },
  });
  const box = h("div", { id: "tfa-enrolment", class: "stack" },
    h("p", null, "Scan this QR code with an authenticator app, or type the secret into it."),
    h("div", { class: "qr-wrap" }, qrSvg(uri, "QR code for the authenticator app")),
    details([["Secret", code(secret, { id: "tfa-secret", class: "secret" })]]),
    form);
  return box;
}

/** The status lines of GET /v1/user/2fa. */
function summaryOf(status) {
  const state = status.enabled ? "on" : status.pending ? "set-up unfinished" : "off";
  const summary = details([
    ["Status", badge(state, status.enabled ? "ok" : status.pending ? "warn" : "muted")],
    status.enabled ? ["Turned on", time(status.confirmed_at)] : null,
    status.enabled ? ["Recovery codes left", h("span", { id: "tfa-recovery-left" }, String(status.recovery_codes_left ?? 0))] : null,
  ]);
  summary.id = "tfa-status";
  return summary;
}

export async function security(ctx) {
  const status = await api("GET", "/v1/user/2fa");
  const slot = noticeSlot({ id: "security-notice" });
  if (ctx.flash) slot.show(ctx.flash.kind, ctx.flash.text);
  let summary = summaryOf(status);
  const body = h("div", { class: "stack" });

  if (status.enabled) {
    const form = codeForm({
      label: "Code", id: "tfa-disable-code", hint: "A code from the app, or a recovery code.",
      submit: { id: "tfa-disable", label: "Turn off", tone: "danger" }, missing: "Enter a code to turn it off.",
      slot: noticeSlot({ id: "tfa-disable-notice" }),
      async send(value) {
        await api("POST", "/v1/user/2fa/disable", { code: value });
        ctx.navigate("/security", {}, { kind: "ok", text: "Two-factor authentication is off." });
      },
    });
    body.append(form);
  } else {
    const start = button(status.pending ? "Start the set-up again" : "Set up two-factor", { id: "tfa-enroll", tone: "primary" });
    start.addEventListener("click", busy(start, async () => {
      slot.clear();
      try {
        const answer = await api("POST", "/v1/user/2fa/enroll", {});
        body.replaceChildren(enrolment(ctx, answer, (left) => {
          const next = summaryOf({ enabled: true, confirmed_at: new Date().toISOString(), recovery_codes_left: left });
          summary.replaceWith(next);
          summary = next;
        }));
        body.querySelector("input").focus();
      } catch (error) {
        slot.error(error);
      }
    }));
    body.append(h("p", { class: "muted" }, "A code from an authenticator app will be asked for after your password."), h("div", { class: "row" }, start));
  }

  return h("div", { class: "page" },
    pageHeader("Security", { subtitle: ctx.me ? ctx.me.email : "" }),
    slot,
    card("Two-factor authentication", { id: "two-factor" }, summary, body));
}

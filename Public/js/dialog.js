// The confirmation dialog: a real <dialog> (modal, Escape cancels, focus returns to the
// button that opened it), never window.confirm.

import { h } from "./dom.js";

const dialog = () => document.getElementById("confirm-dialog");

/** The <dialog> confirmDialog uses, for a page to append once (js/shell.js does). */
export function dialogElement() {
  return h("dialog", { id: "confirm-dialog", class: "dialog", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-body" },
    h("h2", { id: "confirm-title" }),
    h("div", { id: "confirm-body", class: "dialog-body" }),
    h("div", { class: "dialog-actions" },
      h("button", { id: "confirm-cancel", class: "btn", type: "button" }, "Cancel"),
      h("button", { id: "confirm-ok", class: "btn btn-primary", type: "button" }, "Confirm")));
}

/**
 * Asks for confirmation. Answers a promise of true (confirmed) or false (cancelled).
 * `body` is a node or an array of nodes/strings; `tone` "danger" colours the confirm button.
 */
export function confirmDialog({ title, body, confirmLabel = "Confirm", tone = "primary" }) {
  const el = dialog();
  const ok = document.getElementById("confirm-ok");
  const cancel = document.getElementById("confirm-cancel");
  document.getElementById("confirm-title").textContent = title;
  const content = Array.isArray(body) ? body : [body];
  document.getElementById("confirm-body").replaceChildren(...content.filter(Boolean).map((part) =>
    part instanceof Node ? part : h("p", null, String(part))));
  ok.textContent = confirmLabel;
  ok.className = `btn btn-${tone}`;

  return new Promise((resolve) => {
    const finish = (answer) => {
      ok.removeEventListener("click", onOk);
      cancel.removeEventListener("click", onCancel);
      el.removeEventListener("cancel", onEscape);
      if (el.open) el.close(answer ? "confirm" : "cancel");
      resolve(answer);
    };
    const onOk = () => finish(true);
    const onCancel = () => finish(false);
    const onEscape = (event) => { event.preventDefault(); finish(false); };
    ok.addEventListener("click", onOk);
    cancel.addEventListener("click", onCancel);
    el.addEventListener("cancel", onEscape);
    el.showModal();
    cancel.focus();
  });
}

/** Closes the dialog if a navigation or a session end happens while it is open. */
export function closeDialog() {
  const el = dialog();
  if (el && el.open) document.getElementById("confirm-cancel").click();
}

// #/members — the workspace's members and pending invitations: invite, change a role, remove.

import { api } from "./api.js";
import { confirmDialog } from "../dialog.js";
import { badge, busy, button, card, field, h, pageHeader, select, table, time, validate } from "../dom.js";
import { slot } from "./ui.js";

const ROLES = [["member", "Member"], ["admin", "Admin"], ["owner", "Owner"]];

export async function members(ctx) {
  const answer = await api("GET", "/v1/tenant/members");
  const list = answer.members || [];
  const listSlot = slot({ id: "members-notice" });

  const email = h("input", { type: "email", name: "email", autocomplete: "off", id: "invite-email" });
  const role = select(ROLES, { value: "member", id: "invite-role", name: "role" });
  const emailField = field("Email", email, { hint: "Several addresses: separate them with commas." });
  const roleField = field("Role", role);
  const formSlot = slot({ id: "invite-notice" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "invite-submit" }, "Send invitation");
  const form = h("form", { class: "stack", novalidate: true, id: "invite-form" },
    h("div", { class: "form-grid" }, emailField, roleField),
    h("div", { class: "form-footer" }, submit, formSlot));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const addresses = email.value.split(/[,\s]+/).map((a) => a.trim()).filter(Boolean);
    if (!validate([[emailField, addresses.length ? (addresses.every((a) => /^[^@\s]+@[^@\s]+$/.test(a)) ? "" : "Enter valid email addresses.") : "Enter an email address."]])) return;
    submit.disabled = true;
    formSlot.clear();
    try {
      const result = await api("POST", "/v1/tenant/members/invite", { members: addresses.map((a) => ({ email: a, role: role.value })) });
      const rets = result.rets || [];
      const failed = rets.filter((r) => r.status !== "SC_OK");
      if (!failed.length) {
        ctx.navigate("/members", {}, { kind: "ok", text: `Invited ${rets.map((r) => r.email).join(", ")}. The invitation links are valid 7 days.` });
        return;
      }
      formSlot.show(rets.length === failed.length ? "error" : "warn",
        h("ul", { class: "invite-results" }, rets.map((r) => h("li", null, h("strong", null, r.email), ": ", r.status === "SC_OK" ? "invited" : `${r.message} (${r.status})`))));
    } catch (error) {
      formSlot.error(error);
    } finally {
      submit.disabled = false;
    }
  });

  const changeRole = (member, control) => async () => {
    const next = control.value;
    if (next === member.role) return;
    const ok = await confirmDialog({ title: `Make ${member.email} ${next}?`, body: [`Their role changes from ${member.role} to ${next}.`], confirmLabel: "Change role" });
    if (!ok) { control.value = member.role; return; }
    control.disabled = true;
    try {
      await api("POST", "/v1/tenant/members/role", { email: member.email, role: next });
      ctx.navigate("/members", {}, { kind: "ok", text: `${member.email} is now ${next}.` });
    } catch (error) {
      control.value = member.role;
      control.disabled = false;
      listSlot.error(error);
    }
  };

  const remove = (member, btn) => busy(btn, async () => {
    const invited = member.status === "INVITED";
    const ok = await confirmDialog({
      title: invited ? `Withdraw the invitation to ${member.email}?` : `Remove ${member.email}?`,
      body: [invited ? "The invitation link stops working." : "They lose access to this workspace at once."],
      confirmLabel: invited ? "Withdraw" : "Remove", tone: "danger",
    });
    if (!ok) return;
    try {
      await api("POST", "/v1/tenant/members/delete", { email: member.email });
      ctx.navigate("/members", {}, { kind: "ok", text: invited ? `Withdrew the invitation to ${member.email}.` : `Removed ${member.email}.` });
    } catch (error) {
      listSlot.error(error);
    }
  });

  return h("div", { class: "page" },
    pageHeader("Members", { subtitle: "Who can use this workspace. Admins manage billing, keys and members; only owners change the plan." }),
    card("Invite", { id: "invite-card", class: "card-narrow" }, form),
    card("Members", { id: "members" }, listSlot,
      table([
        { label: "Member", render: (m) => h("div", { class: "stack-tight" }, h("span", { class: "member-name" }, m.name || m.email), m.name ? h("span", { class: "muted small" }, m.email) : null) },
        { label: "Role", render: (m) => {
          if (m.status === "INVITED" || m.email === ctx.me.email) return badge(m.role);
          const control = select(ROLES, { value: m.role });
          control.classList.add("role-select");
          control.dataset.email = m.email;
          control.setAttribute("aria-label", `Role of ${m.email}`);
          control.addEventListener("change", changeRole(m, control));
          return control;
        } },
        { label: "Status", render: (m) => badge(m.status) },
        { label: "Since", render: (m) => time(m.joined_at) },
        { label: "", class: "actions", render: (m) => {
          if (m.email === ctx.me.email) return h("span", { class: "muted small" }, "you");
          const btn = button(m.status === "INVITED" ? "Withdraw" : "Remove", { size: "sm", tone: "danger", class: "remove-member", "data-email": m.email, "aria-label": `Remove ${m.email}` });
          btn.addEventListener("click", remove(m, btn));
          return btn;
        } },
      ], list, { empty: "No members.", label: "Members", rowClass: () => "member-row" })));
}

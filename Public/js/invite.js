// The page an invitation email links to: checks the single-use token, then joins the
// workspace with a new account or an existing one's password. Text only, never HTML.

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token") || "";

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message || `HTTP ${response.status}`);
  return data;
}

function say(kind, message) {
  const slot = $("invite-message");
  slot.textContent = message;
  slot.className = `notice notice-${kind}`;
  slot.hidden = false;
}

async function start() {
  if (!token) {
    $("invite-status").textContent = "This link has no invitation in it. Open the link from your invitation email.";
    return;
  }
  try {
    const invite = await post("/v1/account/invite/check", { invite_token: token });
    $("invite-status").textContent = "You have been invited to a workspace. Accept to join it.";
    $("invite-email").value = invite.invite_email;
    $("invite-form").hidden = false;
    $("invite-password").focus();
  } catch (error) {
    $("invite-status").textContent = `${error.message}. Ask for a new invitation.`;
  }
}

$("invite-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const password = $("invite-password").value;
  if (password.length < 8) { say("error", "The password has at least 8 characters."); return; }
  $("invite-submit").disabled = true;
  try {
    await post("/v1/account/invite/accept", { invite_token: token, email: $("invite-email").value, password });
    $("invite-form").hidden = true;
    $("invite-status").textContent = "You joined the workspace. You can now sign in with your email and password.";
  } catch (error) {
    say("error", error.message);
    $("invite-submit").disabled = false;
  }
});

start();

// Tenantry console: plain DOM, no framework, no inline script (the CSP forbids it).
// Every value from the API is written with textContent, never as HTML.
"use strict";

const tokenKey = "tenantry.token";
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const token = localStorage.getItem(tokenKey);
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.message || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function show(view) {
  $("login-view").hidden = view !== "login";
  $("home-view").hidden = view !== "home";
  $("logout").hidden = view !== "home";
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells.map(cell));
    return tr;
  }));
}

const when = (date) => (date ? new Date(date).toLocaleString() : "—");

async function loadHome() {
  const [user, jobs, outbox] = await Promise.all([
    api("GET", "/v1/user"), api("GET", "/v1/admin/jobs"), api("GET", "/v1/admin/outbox?limit=50"),
  ]);
  $("whoami").textContent = `Logged in as ${user.user.email}`;
  fill($("jobs"), jobs.jobs.map((j) => [j.id, when(j.last_finished_at), j.last_error ? `${j.last_result}: ${j.last_error}` : j.last_result, j.items_processed, when(j.next_run_at)]));
  fill($("outbox"), outbox.emails.map((e) => [when(e.created_at), e.to, e.subject, e.status]));
  show("home");
}

async function start(message) {
  if (!localStorage.getItem(tokenKey)) {
    $("login-error").textContent = message || "";
    show("login");
    return;
  }
  try {
    await loadHome();
  } catch (error) {
    localStorage.removeItem(tokenKey);
    const reason = error.status === 403 ? "This account is not an operator." : "Your session has ended; please log in again.";
    $("login-error").textContent = reason;
    show("login");
  }
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = $("login-email").value.trim();
  const password = $("login-password").value;
  if (!email || !email.includes("@")) { $("login-error").textContent = "Enter your email address."; return; }
  if (password.length < 8) { $("login-error").textContent = "The password has at least 8 characters."; return; }
  try {
    const { token } = await api("POST", "/v1/account/login", { email, password });
    localStorage.setItem(tokenKey, token);
    $("login-password").value = "";
    await start();
  } catch (error) {
    $("login-error").textContent = error.message;
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("POST", "/v1/account/logout", {}); } catch (_) { /* the session may already be over */ }
  localStorage.removeItem(tokenKey);
  start("Logged out.");
});

start();

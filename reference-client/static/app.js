// The reference frontend: no build step, no framework. Data from the server is only ever put into the page
// with textContent or attributes, never parsed as HTML. The app JWT lives in sessionStorage and leaves the page only
// in an Authorization header.
"use strict";

const TOKEN_KEY = "rc_token";

function $(id) { return document.getElementById(id); }
function say(text) { $("message").textContent = text; }

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: "Bearer " + token } : {};
}

async function postJson(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (_) { /* empty body */ }
  return { ok: response.ok, data };
}

function describeError(data) {
  return "Login failed: " + (data.error || "error") + (data.error_description ? " — " + data.error_description : "");
}

// Only relative paths: the server already filters return_to, this is belt and braces.
function safePath(path) {
  return typeof path === "string" && path.startsWith("/") && !path.startsWith("//") && !path.includes("\\") ? path : "/";
}

function finishLogin(data) {
  if (data.token) sessionStorage.setItem(TOKEN_KEY, data.token);
  say("Logged in as " + data.user.display_name + ". Redirecting…");
  window.location.replace(safePath(data.return_to));
}

async function callbackPage() {
  // A form_post response arrives in the page (POST /callback puts it in data-response), a query one in
  // the address.
  const posted = document.body.dataset.response;
  const params = posted ? new URLSearchParams(JSON.parse(posted)) : new URLSearchParams(window.location.search);
  const body = {};
  for (const key of ["code", "state", "iss", "error", "error_description", "user"]) {
    if (params.has(key)) body[key] = params.get(key);
  }
  // Strip code and state from the address bar and history before anything else.
  history.replaceState(null, "", window.location.pathname);
  const { ok, data } = await postJson("/api/auth/callback", body);
  if (!ok) { say(describeError(data)); return; }
  if (data.status === "binding_required") {
    say("");
    const form = $("bind");
    form.hidden = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = await postJson("/api/auth/bind", { ticket: data.binding_ticket, phone: $("phone").value });
      if (result.ok) finishLogin(result.data); else say(describeError(result.data));
    });
    return;
  }
  finishLogin(data);
}

async function providers() {
  const r = await fetch("/api/auth/providers", { credentials: "same-origin" });
  return r.ok ? r.json() : [];
}

// "Log in with NAME" for every configured provider; the first keeps the #login link.
async function showLoginButtons() {
  const list = await providers();
  list.forEach((p, i) => {
    if (i === 0) {
      $("login").textContent = "Log in with " + p.name;
      $("login").href = p.login_url;
      return;
    }
    const item = document.createElement("li");
    const a = document.createElement("a");
    a.textContent = "Log in with " + p.name;
    a.href = p.login_url;
    a.dataset.provider = p.name;
    a.dataset.kind = p.kind; // oidc, wechat, github or google ("Log in with Google")
    item.appendChild(a);
    $("providers").appendChild(item);
  });
}

// Linked identities (unlink refused for the last one) and "Link NAME" for the others.
async function showIdentities() {
  const r = await fetch("/api/me/identities", { credentials: "same-origin", headers: authHeaders() });
  if (!r.ok) return;
  const { identities } = await r.json();
  const list = $("identities");
  list.replaceChildren();
  for (const identity of identities) {
    const item = document.createElement("li");
    item.textContent = (identity.provider || identity.issuer) + " ";
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Unlink";
    button.addEventListener("click", async () => {
      const d = await fetch("/api/me/identities/" + encodeURIComponent(identity.id), {
        method: "DELETE", credentials: "same-origin", headers: authHeaders(),
      });
      if (d.ok) { showIdentities(); return; }
      let data = {};
      try { data = await d.json(); } catch (_) { /* empty body */ }
      say(data.error_description || "Could not unlink.");
    });
    item.appendChild(button);
    list.appendChild(item);
  }
  const linked = new Set(identities.map((i) => i.provider));
  const links = $("link");
  links.replaceChildren();
  for (const p of await providers()) {
    if (linked.has(p.name)) continue;
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Link " + p.name;
    button.addEventListener("click", async () => {
      const l = await fetch("/api/auth/login-url?provider=" + encodeURIComponent(p.name), {
        credentials: "same-origin", headers: authHeaders(),
      });
      if (!l.ok) { say("Could not start linking."); return; }
      window.location.assign((await l.json()).url);
    });
    item.appendChild(button);
    links.appendChild(item);
  }
}

async function indexPage() {
  const response = await fetch("/api/me", { credentials: "same-origin", headers: authHeaders() });
  if (!response.ok) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("anonymous").hidden = false;
    await showLoginButtons();
    return;
  }
  const me = await response.json();
  $("name").textContent = me.display_name;
  $("role").textContent = me.role;
  // The page's Content-Security-Policy lets pictures come from https and from the configured providers.
  if (typeof me.avatar_url === "string" && /^https?:\/\//.test(me.avatar_url)) {
    $("avatar").src = me.avatar_url;
    $("avatar").hidden = false;
  }
  $("profile").hidden = false;
  showIdentities();
  // Log out here (the backend ends this session and every app JWT of the user), then at the provider, which
  // sends the browser back to this page (RP-Initiated Logout 1.0).
  $("logout").addEventListener("click", async () => {
    const r = await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin", headers: authHeaders() });
    sessionStorage.removeItem(TOKEN_KEY);
    let next = "/";
    try {
      const data = await r.json();
      if (typeof data.end_session_url === "string" && /^https?:\/\//.test(data.end_session_url)) next = data.end_session_url;
    } catch (_) { /* no body: stay here */ }
    window.location.assign(next);
  });
  if (me.role === "admin") {
    $("admin").hidden = false;
    $("list-users").addEventListener("click", async () => {
      const r = await fetch("/api/admin/users", { credentials: "same-origin", headers: authHeaders() });
      const list = $("users");
      list.replaceChildren();
      if (!r.ok) { say("Could not list users."); return; }
      for (const u of (await r.json()).users) {
        const item = document.createElement("li");
        item.textContent = u.id + " · " + u.display_name + " · " + u.role + (u.disabled ? " · disabled" : "");
        list.appendChild(item);
      }
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  (page === "callback" ? callbackPage() : indexPage()).catch((e) => say("Error: " + e));
});

// The daemon's JSON API: one fetch wrapper, the session token, and the error shape
// {"code", "message"} turned into an ApiError the views show next to the action.

const TOKEN_KEY = "tenantry.token";

export const session = {
  get token() { return localStorage.getItem(TOKEN_KEY); },
  set token(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

// Called once when an authenticated request answers 401: the session is over.
let onSessionEnded = () => {};
export function whenSessionEnds(handler) { onSessionEnded = handler; }

// int64 values arrive as decimal strings, but a few payloads (audit snapshots) carry raw
// JSON integers: any integer beyond 2^53 keeps its exact digits, as a string.
export function parseJSON(text) {
  return JSON.parse(text, function reviver(_key, value, context) {
    if (typeof value === "number" && !Number.isSafeInteger(value) && context && /^-?\d+$/.test(context.source)) {
      return context.source;
    }
    return value;
  });
}

/** Sends one request; a failed answer becomes an ApiError (a 401 with `auth` ends the session). */
async function send(method, path, body, { auth = true, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = session.token;
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
  } catch (_) {
    throw new ApiError(0, 14, "The daemon cannot be reached; check that tenantryd is running.");
  }
  if (!response.ok) {
    const text = await response.text();
    let data = {};
    try { data = text ? parseJSON(text) : {}; } catch (_) { data = {}; }
    const message = typeof data.message === "string" && data.message ? data.message : `HTTP ${response.status}`;
    const error = new ApiError(response.status, data.code ?? 0, message);
    if (auth && response.status === 401) {
      session.token = null;
      onSessionEnded(error);
    }
    throw error;
  }
  return response;
}

/**
 * Calls the API. `body` is sent as JSON when given. With `auth` (the default) the session
 * token is sent, and a 401 ends the session for the whole console.
 */
export async function api(method, path, body, { auth = true } = {}) {
  const response = await send(method, path, body, { auth });
  const text = await response.text();
  if (!text) return {};
  try { return parseJSON(text); } catch (_) { return {}; }
}

/** GETs PATH with the session token and answers the body as text (a CSV, say). */
export async function fetchText(path, { accept = "text/plain" } = {}) {
  const response = await send("GET", path, undefined, { accept });
  return response.text();
}

/**
 * Saves BLOB as FILENAME through a Blob URL, revoked once the browser has taken it: the way
 * to download what needed the Authorization header, which a plain link cannot send.
 */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && String(value) !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const enc = encodeURIComponent;

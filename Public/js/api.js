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

/**
 * Calls the API. `body` is sent as JSON when given. With `auth` (the default) the session
 * token is sent, and a 401 ends the session for the whole console.
 */
export async function api(method, path, body, { auth = true } = {}) {
  const headers = { Accept: "application/json" };
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
  const text = await response.text();
  let data = {};
  if (text) {
    try { data = parseJSON(text); } catch (_) { data = {}; }
  }
  if (!response.ok) {
    const message = typeof data.message === "string" && data.message ? data.message : `HTTP ${response.status}`;
    const error = new ApiError(response.status, data.code ?? 0, message);
    if (auth && response.status === 401) {
      session.token = null;
      onSessionEnded(error);
    }
    throw error;
  }
  return data;
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

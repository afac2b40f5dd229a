// The daemon's JSON API: one fetch wrapper, the session token, and the error shape
// {"code", "message"} turned into an ApiError the views show next to the action.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

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
 * An API client whose session token lives under KEY in STORAGE (the console: localStorage;
 * the billing portal: sessionStorage, this tab only). UNREACHABLE is what a request that
 * cannot reach the daemon says.
 */
export function createClient({ storage, key, unreachable = "The daemon cannot be reached; check that tenantryd is running." }) {
  const session = {
    get token() { return storage.getItem(key); },
    set token(value) {
      if (value) storage.setItem(key, value);
      else storage.removeItem(key);
    },
  };

  // Called once when an authenticated request answers 401: the session is over.
  let onSessionEnded = () => {};
  const whenSessionEnds = (handler) => { onSessionEnded = handler; };

  /**
   * Sends one request; a failed answer becomes an ApiError. With `auth` the session token is
   * sent and a 401 ends the session; `token` sends that token instead (a 401 then ends nothing).
   */
  async function send(method, path, body, { auth = true, token, accept = "application/json" } = {}) {
    const headers = { Accept: accept };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const bearer = token || (auth ? session.token : null);
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    let response;
    try {
      response = await fetch(path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
      });
    } catch (_) {
      throw new ApiError(0, 14, unreachable);
    }
    if (!response.ok) {
      const text = await response.text();
      let data = {};
      try { data = text ? parseJSON(text) : {}; } catch (_) { data = {}; }
      const message = typeof data.message === "string" && data.message ? data.message : `HTTP ${response.status}`;
      const error = new ApiError(response.status, data.code ?? 0, message);
      if (auth && !token && response.status === 401) {
        session.token = null;
        onSessionEnded(error);
      }
      throw error;
    }
    return response;
  }

  /** Calls the API: `body` is sent as JSON when given; the answer is the parsed JSON ({} if none). */
  async function api(method, path, body, options = {}) {
    const response = await send(method, path, body, options);
    const text = await response.text();
    if (!text) return {};
    try { return parseJSON(text); } catch (_) { return {}; }
  }

  /** GETs PATH with the session token and answers the body as text (a CSV, say). */
  async function fetchText(path, { accept = "text/plain" } = {}) {
    const response = await send("GET", path, undefined, { accept });
    return response.text();
  }

  return { session, whenSessionEnds, api, fetchText };
}

// The operator console's client: its token is kept across tabs and reloads.
export const client = createClient({ storage: localStorage, key: "tenantry.token" });
export const { session, whenSessionEnds, api, fetchText } = client;

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

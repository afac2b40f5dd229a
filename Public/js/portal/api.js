// The portal's API client: the console's client (error shape, int64-safe JSON), with the
// session token kept in sessionStorage (this tab only) instead of the console's localStorage.

import { ApiError, createClient, enc } from "../api.js";

export { ApiError, enc };
export const PORTAL_TOKEN_KEY = "tenantry.portal.token";

export const client = createClient({
  storage: sessionStorage,
  key: PORTAL_TOKEN_KEY,
  unreachable: "The service cannot be reached; try again in a moment.",
});
export const { session, whenSessionEnds, api } = client;

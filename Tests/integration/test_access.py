"""Who may call what: every route of the daemon's OpenAPI document × twelve kinds of caller,
each with the exact HTTP status it must get, in the manner of PocketBase's API scenario tables.

The expected statuses are written out by hand from what each route is for (not computed from
the OpenAPI document's "Credentials: …" line), so a wrong `access:` declaration shows up here.
Every request carries an empty JSON object as its body when its method has one, so a caller
that passes the access check typically gets 400 (a required field is missing), 404 (an id that
does not exist) or 200; a refused caller gets 401 (no usable credential) or 403 (not allowed).

Run with: python3 -m pytest -q Tests/integration/test_access.py
"""
import itertools
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from conftest import Daemon, current_tenant_id, operator, sign_up

PASSWORD = "user password 1"
OPERATOR = ("ops@example.com", "operator password")
SPARE_OPERATOR = ("ops-spare@example.com", "operator password 2")
OWNER = "owner@t.example"
ADMIN = "admin@t.example"
MEMBER = "member@t.example"
DISABLED = "disabled@t.example"
OTHER = "owner@u.example"
MISSING = "does-not-exist"
# A client the daemon sees behind its trusted (loopback) proxy: not a loopback request.
REMOTE = {"X-Forwarded-For": "203.0.113.7"}

# The columns of every row, in this order.
CALLERS = (
    "anonymous",         # no Authorization header
    "other_user",        # session of the owner of another tenant U (U is their current tenant)
    "member",            # session of a member (role member) of T
    "admin",             # session of an admin of T
    "owner",             # session of the owner of T
    "read_key",          # API key of T with usage.read only
    "write_key",         # API key of T with usage.write only
    "other_write_key",   # API key of U with usage.write (and usage.read: only its tenant keeps it out of T)
    "revoked_key",       # API key of T (both scopes), revoked by an operator
    "expired_key",       # API key of T (both scopes), past its expires_at (test clock moved)
    "disabled_user",     # session (taken before) of a co-owner of T whom an operator disabled
    "operator",          # session of an operator (operators belong to no tenant)
)
# Callers that are people with a password: `fresh` and `throwaway` rows make new sessions or
# new users for them. The disabled user cannot log in again (that is the point of disabling),
# so such rows use their old, ended session like every other row.
PEOPLE = {"other_user", "member", "admin", "owner", "operator"}


@dataclass
class Row:
    method: str
    path: str                      # as in the OpenAPI document
    url: str                       # what is requested (path parameters filled in)
    expected: tuple                # one status per caller, in CALLERS order
    # None: each caller's long-lived credential. "fresh": a new session of the same person
    # (the route ends or changes the session). "throwaway": a new person of the same kind
    # (the route deletes the account).
    prepare: str = None
    headers: dict = field(default_factory=dict)
    # A few labelled extra rows send a real body instead of {} (placeholders filled in).
    payload: dict = None
    label: str = ""

    def __post_init__(self):
        assert len(self.expected) == len(CALLERS), f"{self.method} {self.path}: {len(self.expected)} statuses for {len(CALLERS)} callers"

    @property
    def body(self):
        if self.payload is not None:
            return self.payload
        return {} if self.method in ("POST", "PUT", "PATCH") else None

    @property
    def name(self):
        return f"{self.method} {self.path}{self.label}"


def row(method, path, expected, url=None, **options):
    return Row(method, path, url or path, tuple(expected), **options)


# Placeholders filled in from the world at request time.
T = "{T}"                                # tenant T's id
U = "{U}"                                # tenant U's id
REVOKED_KEY_ID = "{REVOKED_KEY_ID}"      # the id of T's revoked key (revoking it again changes nothing)
U_REVOKED_KEY_ID = "{U_REVOKED_KEY_ID}"  # the id of a revoked key of U
UNIQUE = "{UNIQUE}"                      # a new value for each request
OWN_TOKEN = "{OWN_TOKEN}"                # the caller's own credential ("" for anonymous)
OWN_EMAIL = "{OWN_EMAIL}"                # the caller's email (an address nobody has for the keyless and the keys)
OWN_PASSWORD = "{OWN_PASSWORD}"          # the caller's password

#                                                 anon other memb admin owner read write oKey revk expd disab oper
TABLE = [
    # --- Public account routes: nobody's credential is looked at; {} lacks the fields.
    row("POST", "/v1/account/register",              (400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400)),
    row("POST", "/v1/account/register/verify",       (400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400)),
    row("POST", "/v1/account/login",                 (400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400)),
    # The token to refresh is in the body (empty here), not in Authorization.
    row("POST", "/v1/account/token/refresh",         (400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400)),
    row("POST", "/v1/account/password/forgot",       (400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400)),
    row("POST", "/v1/account/password/forgot/verify", (400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400)),
    row("POST", "/v1/account/password/forgot/reset", (400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400)),
    row("POST", "/v1/account/invite/check",          (400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400)),
    row("POST", "/v1/account/invite/accept",         (400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400)),

    # --- The caller's own account: any open session. An API key (even a revoked or expired
    # one) is refused as the wrong kind of credential, 403, before it is checked; the disabled
    # user's session ended when they were disabled, 401.
    row("GET", "/v1/user",                           (401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 401, 200)),
    # The password is already set for everyone here.
    row("POST", "/v1/user/initial",                  (401, 400, 400, 400, 400, 403, 403, 403, 403, 403, 401, 400)),
    row("POST", "/v1/user/name",                     (401, 400, 400, 400, 400, 403, 403, 403, 403, 403, 401, 400)),
    row("POST", "/v1/user/password",                 (401, 400, 400, 400, 400, 403, 403, 403, 403, 403, 401, 400)),
    # A JSON body is not multipart/form-data.
    row("POST", "/v1/user/avatar",                   (401, 400, 400, 400, 400, 403, 403, 403, 403, 403, 401, 400)),
    # OpenID sign-in: no provider is configured here, so a provider is not found (404); the
    # list is empty; the ticket is unknown (401); an unlinked provider is not found.
    row("GET", "/v1/account/oauth/providers",        (200,) * 12),
    row("GET", "/v1/account/oauth/{provider}/login", (404,) * 12, url="/v1/account/oauth/nope/login"),
    row("POST", "/v1/account/oauth/{provider}/authorize", (401, 404, 404, 404, 404, 403, 403, 403, 403, 403, 401, 404),
        url="/v1/account/oauth/nope/authorize"),
    row("GET", "/v1/account/oauth/{provider}/callback-url", (404,) * 12, url="/v1/account/oauth/nope/callback-url"),
    row("GET", "/v1/account/oauth/{provider}/post-callback-url", (404,) * 12, url="/v1/account/oauth/nope/post-callback-url"),
    row("GET", "/v1/account/oauth/{provider}/callback", (404,) * 12, url="/v1/account/oauth/nope/callback?state=x&code=y"),
    row("POST", "/v1/account/oauth/session",         (401,) * 12),
    row("GET", "/v1/user/identities",                (401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 401, 200)),
    row("DELETE", "/v1/user/identities/{provider}",  (401, 404, 404, 404, 404, 403, 403, 403, 403, 403, 401, 404), url="/v1/user/identities/nope"),
    # Two-factor: operators only (users are refused, 403); an empty code is refused (400).
    row("POST", "/v1/account/login/2fa",             (401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401)),
    row("GET", "/v1/user/2fa",                       (401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 200)),
    row("POST", "/v1/user/2fa/enroll",               (401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 200)),
    row("POST", "/v1/user/2fa/confirm",              (401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 400)),
    row("POST", "/v1/user/2fa/disable",              (401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 400)),
    row("DELETE", "/v1/admin/users/{id}/2fa",        (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/users/{MISSING}/2fa"),
    # The seed's operations of a platform Tenantry is not: code 12 for everyone.
    row("POST", "/v1/account/session",               (501,) * 12),
    row("GET", "/v1/user/tenants/{tenant_id}/wati",  (501,) * 12, url=f"/v1/user/tenants/{T}/wati"),
    row("GET", "/v1/avatars/{id}",                   (404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404), url=f"/v1/avatars/{MISSING}"),
    row("GET", "/v1/user/tenants",                   (401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 401, 200)),
    # An operator belongs to no tenant: "you are not a member of any tenant" (404).
    row("GET", "/v1/user/tenants/current",           (401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 401, 404)),
    # tenant_id is required; nothing switches.
    row("POST", "/v1/user/tenants/switch",           (401, 400, 400, 400, 400, 403, 403, 403, 403, 403, 401, 400)),

    # --- The session's current tenant, by role. other_user acts on their own tenant U, as its
    # owner. An operator's session has no current tenant: the daemon answers 404 "you are not a
    # member of any tenant" (Principal.tenant(atLeast:)), not 403; it grants nothing, so kept.
    row("GET", "/v1/tenant/members",                 (401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 401, 404)),
    row("POST", "/v1/tenant/members/invite",         (401, 400, 403, 400, 400, 403, 403, 403, 403, 403, 401, 404)),
    # email is required, so nobody is removed or changed.
    row("POST", "/v1/tenant/members/delete",         (401, 400, 403, 400, 400, 403, 403, 403, 403, 403, 401, 404)),
    row("POST", "/v1/tenant/members/role",           (401, 400, 403, 400, 400, 403, 403, 403, 403, 403, 401, 404)),
    row("GET", "/v1/tenant/api-keys",                (401, 200, 403, 200, 200, 403, 403, 403, 403, 403, 401, 404)),
    # name is required, so no key is made.
    row("POST", "/v1/tenant/api-keys",               (401, 400, 403, 400, 400, 403, 403, 403, 403, 403, 401, 404)),
    # The id of T's revoked key: T's admin and owner may revoke it (again: nothing changes, 200);
    # U's owner must not see T's key (404).
    row("DELETE", "/v1/tenant/api-keys/{id}",        (401, 404, 403, 200, 200, 403, 403, 403, 403, 403, 401, 404),
        url=f"/v1/tenant/api-keys/{REVOKED_KEY_ID}"),

    # --- The current tenant's subscription: reading it takes a member; changing it, the owner.
    row("GET", "/v1/subscription",                   (401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 401, 404)),
    # Prices on sale: any session, operators too (no tenant needed).
    row("GET", "/v1/subscription/variants",          (401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 401, 200)),
    row("GET", "/v1/subscription/variants/{id}",     (401, 404, 404, 404, 404, 403, 403, 403, 403, 403, 401, 404),
        url=f"/v1/subscription/variants/{MISSING}"),
    row("POST", "/v1/subscription/create",           (401, 400, 403, 403, 400, 403, 403, 403, 403, 403, 401, 404)),
    row("POST", "/v1/subscription/update",           (401, 400, 403, 403, 400, 403, 403, 403, 403, 403, 401, 404)),
    # Neither T nor U has a paid subscription to cancel.
    row("POST", "/v1/subscription/cancel",           (401, 400, 403, 403, 400, 403, 403, 403, 403, 403, 401, 404)),
    row("POST", "/v1/subscription/resume",           (401, 400, 403, 403, 400, 403, 403, 403, 403, 403, 401, 404)),
    row("GET", "/v1/subscription/addons",            (401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 401, 200)),
    row("POST", "/v1/subscription/addons/purchase",  (401, 400, 403, 403, 400, 403, 403, 403, 403, 403, 401, 404)),
    row("GET", "/v1/subscription/portal",            (401, 200, 403, 403, 200, 403, 403, 403, 403, 403, 401, 404)),
    row("GET", "/v1/subscription/invoices",          (401, 200, 403, 200, 200, 403, 403, 403, 403, 403, 401, 404)),
    row("GET", "/v1/subscription/invoices/{id}",
        (401, 404, 403, 404, 404, 403, 403, 403, 403, 403, 401, 404), url=f"/v1/subscription/invoices/{MISSING}"),
    row("POST", "/v1/subscription/invoices/{id}/pay",
        (401, 404, 403, 404, 404, 403, 403, 403, 403, 403, 401, 404), url=f"/v1/subscription/invoices/{MISSING}/pay"),
    # Stripe calls it with no credential; without Stripe configured it is code 12 for everyone.
    row("POST", "/v1/payments/stripe/webhook",       (501,) * 12),

    # --- Plans: operators only (a session or an operator key). A tenant's valid key is not an
    # operator (403); a revoked or expired key is no credential at all (401).
    row("POST", "/v1/usage/plans",                   (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 400)),
    row("GET", "/v1/usage/plans",                    (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("GET", "/v1/usage/plans/{plan_name}",        (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200), url="/v1/usage/plans/FREE"),
    row("PUT", "/v1/usage/plans/{plan_name}",        (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/usage/plans/{MISSING}"),
    row("DELETE", "/v1/usage/plans/{plan_name}",     (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/usage/plans/{MISSING}"),

    # --- Usage of tenant T (in the path): T's members, T's usage.read key, operators. A
    # usage.write-only key lacks usage.read (403); U's owner and U's key (which has usage.read)
    # are strangers to T (403).
    row("GET", "/v1/usage/tenants/{tenant_id}/current",
        (401, 403, 200, 200, 200, 200, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/current"),
    row("POST", "/v1/usage/tenants/{tenant_id}/agents/credits",
        (401, 403, 200, 200, 200, 200, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/agents/credits"),
    row("GET", "/v1/usage/tenants/{tenant_id}/agents/{agent_id}/credits",
        (401, 403, 200, 200, 200, 200, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/agents/agent-1/credits"),
    row("GET", "/v1/usage/tenants/{tenant_id}/agents",
        (401, 403, 200, 200, 200, 200, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/agents"),
    row("GET", "/v1/usage/tenants/{tenant_id}/daily",
        (401, 403, 200, 200, 200, 200, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/daily"),
    # Debiting T: only T's usage.write key or an operator (400: no category); never a session.
    row("POST", "/v1/usage/tenants/{tenant_id}/consume",
        (401, 403, 403, 403, 403, 403, 400, 403, 401, 401, 401, 400), url=f"/v1/usage/tenants/{T}/consume"),
    row("POST", "/v1/usage/tenants/{tenant_id}/consume/batch",
        (401, 403, 403, 403, 403, 403, 400, 403, 401, 401, 401, 400), url=f"/v1/usage/tenants/{T}/consume/batch"),
    row("POST", "/v1/usage/tenants/{tenant_id}/holds",
        (401, 403, 403, 403, 403, 403, 400, 403, 401, 401, 401, 400), url=f"/v1/usage/tenants/{T}/holds"),
    row("POST", "/v1/usage/tenants/{tenant_id}/holds/{hold_id}/settle",
        (401, 403, 403, 403, 403, 403, 400, 403, 401, 401, 401, 400), url=f"/v1/usage/tenants/{T}/holds/{MISSING}/settle"),
    row("POST", "/v1/usage/tenants/{tenant_id}/holds/{hold_id}/release",
        (401, 403, 403, 403, 403, 403, 404, 403, 401, 401, 401, 404), url=f"/v1/usage/tenants/{T}/holds/{MISSING}/release"),
    row("GET", "/v1/usage/tenants/{tenant_id}/holds",
        (401, 403, 200, 200, 200, 200, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/holds"),
    row("GET", "/v1/usage/tenants/{tenant_id}/limits",
        (401, 403, 200, 200, 200, 200, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/limits"),
    row("PUT", "/v1/usage/tenants/{tenant_id}/limits",
        (401, 403, 403, 200, 200, 403, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/limits"),
    row("GET", "/v1/usage/tenants/{tenant_id}/alerts",
        (401, 403, 200, 200, 200, 200, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/alerts"),
    row("PUT", "/v1/usage/tenants/{tenant_id}/alerts",
        (401, 403, 403, 200, 200, 403, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/alerts"),
    row("GET", "/v1/usage/tenants/{tenant_id}/ledger",
        (401, 403, 200, 200, 200, 200, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/ledger"),
    row("GET", "/v1/usage/tenants/{tenant_id}/balance",
        (401, 403, 200, 200, 200, 200, 403, 403, 401, 401, 401, 200), url=f"/v1/usage/tenants/{T}/balance"),
    # Any live credential that has a tenant; each caller is answered about its own tenant (U's
    # owner and U's key about U). An operator's session has no tenant: 403.
    row("GET", "/v1/auth/check",                     (401, 200, 200, 200, 200, 200, 200, 200, 401, 401, 401, 403)),

    # --- The operator's API.
    row("GET", "/v1/admin/overview",                 (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("GET", "/v1/admin/tenants",                  (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("GET", "/v1/admin/tenants/{tenant_id}",      (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200), url=f"/v1/admin/tenants/{T}"),
    row("GET", "/v1/admin/tenants/{tenant_id}/subscription",
        (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200), url=f"/v1/admin/tenants/{T}/subscription"),
    # new_end_at is required.
    row("POST", "/v1/admin/tenants/{tenant_id}/subscription",
        (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 400), url=f"/v1/admin/tenants/{T}/subscription"),
    # expires_at is required.
    row("POST", "/v1/admin/tenants/{tenant_id}/credits",
        (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 400), url=f"/v1/admin/tenants/{T}/credits"),
    # T's revoked key: revoking it again changes nothing (200).
    row("DELETE", "/v1/admin/api-keys/{id}",         (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200),
        url=f"/v1/admin/api-keys/{REVOKED_KEY_ID}"),
    row("GET", "/v1/admin/variants",                 (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    # price is required.
    row("POST", "/v1/admin/variants",                (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 400)),
    row("GET", "/v1/admin/variants/{id}",            (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/variants/{MISSING}"),
    # The body is read (price is required) before the variant is looked up.
    row("PUT", "/v1/admin/variants/{id}",            (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 400), url=f"/v1/admin/variants/{MISSING}"),
    row("DELETE", "/v1/admin/variants/{id}",         (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/variants/{MISSING}"),
    # Webhooks: operators only; a missing id is 404, an empty body fails validation first.
    row("GET", "/v1/admin/webhook-events",           (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("GET", "/v1/admin/webhooks",                 (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("POST", "/v1/admin/webhooks",                (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 400)),
    row("GET", "/v1/admin/webhooks/{id}",            (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/webhooks/{MISSING}"),
    row("PUT", "/v1/admin/webhooks/{id}",            (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 400), url=f"/v1/admin/webhooks/{MISSING}"),
    row("DELETE", "/v1/admin/webhooks/{id}",         (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/webhooks/{MISSING}"),
    row("POST", "/v1/admin/webhooks/{id}/rotate-secret", (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/webhooks/{MISSING}/rotate-secret"),
    row("POST", "/v1/admin/webhooks/{id}/test",      (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/webhooks/{MISSING}/test"),
    row("GET", "/v1/admin/webhooks/{id}/deliveries", (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/webhooks/{MISSING}/deliveries"),
    row("POST", "/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver", (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404),
        url=f"/v1/admin/webhooks/{MISSING}/deliveries/{MISSING}/redeliver"),
    row("GET", "/v1/admin/invoices",                 (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("GET", "/v1/admin/invoices/{id}",            (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/invoices/{MISSING}"),
    row("POST", "/v1/admin/invoices/{id}/paid",      (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/invoices/{MISSING}/paid"),
    # Coupons: an empty body fails validation (code is required) before a missing id is looked up.
    row("GET", "/v1/admin/coupons",                  (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("POST", "/v1/admin/coupons",                 (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 400)),
    row("GET", "/v1/admin/coupons/{id}",             (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/coupons/{MISSING}"),
    row("PUT", "/v1/admin/coupons/{id}",             (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 400), url=f"/v1/admin/coupons/{MISSING}"),
    row("DELETE", "/v1/admin/coupons/{id}",          (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 404), url=f"/v1/admin/coupons/{MISSING}"),
    row("GET", "/v1/admin/revenue/mrr",              (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("GET", "/v1/admin/revenue/by-plan",          (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("GET", "/v1/admin/revenue/monthly",          (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("GET", "/v1/admin/users",                    (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    # status must be ACTIVE or DISABLED: nobody's status changes.
    row("POST", "/v1/admin/users/{id}/status",       (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 400), url=f"/v1/admin/users/{MISSING}/status"),
    row("GET", "/v1/admin/audit",                    (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("GET", "/v1/admin/outbox",                   (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    row("GET", "/v1/admin/jobs",                     (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200)),
    # Exists because the module's daemon runs with --test-clock; seconds must be positive.
    row("POST", "/v1/admin/clock/advance",           (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 400)),

    # --- Service routes.
    row("GET", "/healthz",                           (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200)),
    row("GET", "/readyz",                            (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200)),
    # /metrics trusts loopback, and every request of this test comes from loopback; this row
    # comes "from" a remote client through the trusted loopback proxy (X-Forwarded-For), so
    # the credential counts: only an operator (as on the operator's routes).
    row("GET", "/metrics",                           (401, 403, 403, 403, 403, 403, 403, 403, 401, 401, 401, 200),
        headers=REMOTE, label=" [remote]"),
    # …and straight from loopback anybody may scrape it, whatever they send.
    row("GET", "/metrics",                           (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200), label=" [loopback]"),
    row("GET", "/",                                  (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200)),
    row("GET", "/invite",                            (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200)),
    row("GET", "/portal",                            (200,) * 12),
    row("GET", "/register/verify",                   (200,) * 12),
    row("GET", "/password/reset",                    (200,) * 12),
    row("GET", "/console/{path}",                    (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200), url="/console/app.js"),
    row("GET", "/v1/openapi.json",                   (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200)),

    # --- Extra rows for the same operations, with real ids or bodies where {} cannot tell an
    # allowed caller from a wrongly allowed one.
    # U's revoked key: only U's people may revoke it (again: 200); T's admin and owner must not
    # see it (404).
    row("DELETE", "/v1/tenant/api-keys/{id}",        (401, 200, 403, 404, 404, 403, 403, 403, 403, 403, 401, 404),
        url=f"/v1/tenant/api-keys/{U_REVOKED_KEY_ID}", label=" [U's key]"),
    # Switching into T: T's people are already there (200, nothing changes); U's owner is no
    # member of T (404), nor is the operator.
    row("POST", "/v1/user/tenants/switch",           (401, 404, 200, 200, 200, 403, 403, 403, 403, 403, 401, 404),
        payload={"tenant_id": T}, label=" [into T]"),
    # Tenant U in the path: U's owner, U's key and operators; T's people and keys are strangers.
    row("GET", "/v1/usage/tenants/{tenant_id}/current",
        (401, 200, 403, 403, 403, 403, 403, 200, 401, 401, 401, 200), url=f"/v1/usage/tenants/{U}/current", label=" [tenant U]"),
    # Debiting U: U's usage.write key (400: no category) or an operator; T's key must not.
    row("POST", "/v1/usage/tenants/{tenant_id}/consume",
        (401, 403, 403, 403, 403, 403, 403, 400, 401, 401, 401, 400), url=f"/v1/usage/tenants/{U}/consume", label=" [tenant U]"),
    # The proxy's metered check debits one credit: sessions and usage.write keys of a tenant may,
    # a usage.read key may not (403); the operator has no tenant (403).
    row("GET", "/v1/auth/check",                     (401, 200, 200, 200, 200, 403, 200, 200, 401, 401, 401, 403),
        headers={"X-Usage-Category": "USAGE_AI_CREDIT", "X-Usage-Amount": "1", "X-Idempotency-Key": UNIQUE}, label=" [debit]"),

    # Logging in with one's own email and password (an address nobody has, for anonymous and
    # the keys: 401). The disabled user's password is right but the account is disabled: 403.
    row("POST", "/v1/account/login",                 (401, 200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 200),
        payload={"email": OWN_EMAIL, "password": OWN_PASSWORD}, label=" [own password]"),
    # Refreshing one's own credential (each person's fresh session, which it ends): an API key is
    # no session token (401); the disabled user's session was ended when they were disabled and
    # must not come back (401); anonymous sends an empty token (400).
    row("POST", "/v1/account/token/refresh",         (400, 200, 200, 200, 200, 401, 401, 401, 401, 401, 401, 200),
        payload={"token": OWN_TOKEN}, prepare="fresh", label=" [own token]"),

    # --- Routes that end or delete what the caller stands on run last, on their own sessions or users.
    # Logout ends the session it is called with: each person logs in afresh for it. The disabled
    # user cannot log in afresh (see the login row above), so theirs is the session that
    # disabling ended (401); keys are not sessions (403).
    row("POST", "/v1/account/logout",                (401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 401, 200), prepare="fresh"),
    # Deleting one's account: each person is a new one of their kind made for this row (a member,
    # an admin and a co-owner of T; the sole owner of a new tenant; a spare operator), so 200 and
    # the long-lived callers of the other rows survive. (T's real owner is not used: with the
    # disabled co-owner still there, deleting them would succeed and take T's owner away.) The
    # disabled user keeps their ended session (401), as no new one can be had.
    row("DELETE", "/v1/user",                        (401, 200, 200, 200, 200, 403, 403, 403, 403, 403, 401, 200), prepare="throwaway"),
]


def send(daemon, method, path, token=None, body=None, headers=None):
    """Answers (status, decoded JSON or raw bytes)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(daemon.url(path), data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, content_type, raw = response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        status, content_type, raw = error.code, error.headers.get("Content-Type", ""), error.read()
    if content_type.startswith("application/json") and raw:
        return status, json.loads(raw)
    return status, raw[:200]


def ok(answer):
    status, body = answer
    assert status == 200, body
    return body


class World:
    """Tenant T (owner, admin, member, a disabled co-owner, four keys), tenant U (its owner and
    a key), and an operator, on one daemon with a test clock."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.counter = itertools.count(1)
        self.operator = daemon.login(*OPERATOR)
        # Room for the throwaway members of the last rows (the trial allows 5 members).
        plan = ok(send(daemon, "GET", "/v1/usage/plans/NEW_USER_TRIAL", self.operator))["plan"]
        plan["config"]["team_members"] = -1
        ok(send(daemon, "PUT", "/v1/usage/plans/NEW_USER_TRIAL", self.operator, {"config": plan["config"]}))

        owner = sign_up(daemon, self.operator, OWNER, PASSWORD)
        self.tenant = current_tenant_id(daemon, owner)
        other = sign_up(daemon, self.operator, OTHER, PASSWORD)
        self.other_tenant = current_tenant_id(daemon, other)
        assert self.other_tenant != self.tenant
        admin = self.join(owner, ADMIN, "admin")
        member = self.join(owner, MEMBER, "member")
        disabled = self.join(owner, DISABLED, "owner")
        roles = {m["email"]: m["role"] for m in ok(send(daemon, "GET", "/v1/tenant/members", owner))["members"]}
        assert roles == {OWNER: "owner", ADMIN: "admin", MEMBER: "member", DISABLED: "owner"}, roles

        read_key, _ = self.key(owner, ["usage.read"])
        write_key, _ = self.key(owner, ["usage.write"])
        other_write_key, _ = self.key(other, ["usage.read", "usage.write"])
        revoked_key, self.revoked_key_id = self.key(owner, ["usage.read", "usage.write"])
        ok(send(daemon, "DELETE", f"/v1/admin/api-keys/{self.revoked_key_id}", self.operator))
        _, self.u_revoked_key_id = self.key(other, ["usage.read", "usage.write"])
        ok(send(daemon, "DELETE", f"/v1/admin/api-keys/{self.u_revoked_key_id}", self.operator))
        now = ok(send(daemon, "POST", "/v1/admin/clock/advance", self.operator, {"seconds": 1}))["now"]
        soon = now[:-1].split(".")[0]  # the key expires 60 s from the daemon's now
        expires = (datetime.fromisoformat(soon) + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
        expired_key, _ = self.key(owner, ["usage.read", "usage.write"], expires_at=expires)

        users = ok(send(daemon, "GET", f"/v1/admin/users?q={DISABLED}", self.operator))["users"]
        assert [u["email"] for u in users] == [DISABLED], users
        disabled_id = users[0]["id"]
        # Still working right before it is disabled.
        assert send(daemon, "GET", "/v1/user", disabled)[0] == 200
        assert ok(send(daemon, "POST", f"/v1/admin/users/{disabled_id}/status", self.operator, {"status": "DISABLED"}))["user"]["status"] == "DISABLED"
        # The expiring key works until the clock passes its expiry.
        assert send(daemon, "GET", "/v1/auth/check", expired_key)[0] == 200
        ok(send(daemon, "POST", "/v1/admin/clock/advance", self.operator, {"seconds": 120}))

        self.tokens = {
            "anonymous": None, "other_user": other, "member": member, "admin": admin, "owner": owner,
            "read_key": read_key, "write_key": write_key, "other_write_key": other_write_key,
            "revoked_key": revoked_key, "expired_key": expired_key, "disabled_user": disabled, "operator": self.operator,
        }
        self.accounts = {
            "other_user": (OTHER, PASSWORD), "member": (MEMBER, PASSWORD), "admin": (ADMIN, PASSWORD),
            "owner": (OWNER, PASSWORD), "operator": OPERATOR, "disabled_user": (DISABLED, PASSWORD),
        }

    def join(self, inviter, email, role):
        """Invites EMAIL into T with ROLE; the new user accepts and answers their session."""
        rets = ok(send(self.daemon, "POST", "/v1/tenant/members/invite", inviter, {"members": [{"email": email, "role": role}]}))["rets"]
        assert [r["status"] for r in rets] == ["SC_OK"], rets
        token = rets[0]["invited_url"].split("token=", 1)[1]
        accepted = ok(send(self.daemon, "POST", "/v1/account/invite/accept", None,
                           {"email": email, "password": PASSWORD, "invite_token": token}))
        session = accepted["token"]
        assert current_tenant_id(self.daemon, session) == self.tenant
        return session

    def key(self, session, scopes, expires_at=None):
        body = {"name": f"key {next(self.counter)}", "scopes": scopes}
        if expires_at:
            body["expires_at"] = expires_at
        created = ok(send(self.daemon, "POST", "/v1/tenant/api-keys", session, body))
        return created["plaintext_key"], created["api_key"]["id"]

    def credential(self, caller, prepare):
        if prepare is None or caller not in PEOPLE:
            return self.tokens[caller]
        if prepare == "fresh":
            return self.daemon.login(*self.accounts[caller])
        assert prepare == "throwaway", prepare
        n = next(self.counter)
        if caller == "operator":
            return self.daemon.login(*SPARE_OPERATOR)
        if caller == "other_user":
            return sign_up(self.daemon, self.operator, f"gone-{n}@u{n}.example", PASSWORD)
        # A new member, admin or co-owner of T, invited by T's owner.
        return self.join(self.tokens["owner"], f"gone-{caller}-{n}@t.example", caller)

    def fill(self, value, caller=None, token=None):
        """VALUE with the placeholders replaced (in strings, dicts and lists)."""
        if isinstance(value, dict):
            return {self.fill(k, caller, token): self.fill(v, caller, token) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v, caller, token) for v in value]
        if not isinstance(value, str):
            return value
        if UNIQUE in value:
            value = value.replace(UNIQUE, f"access-{next(self.counter)}")
        if OWN_TOKEN in value:
            value = value.replace(OWN_TOKEN, token or "")
        if OWN_EMAIL in value or OWN_PASSWORD in value:
            email, password = self.accounts.get(caller) or (f"nobody-{next(self.counter)}@nowhere.example", PASSWORD)
            value = value.replace(OWN_EMAIL, email).replace(OWN_PASSWORD, password)
        return (value.replace(T, self.tenant).replace(U, self.other_tenant)
                .replace(U_REVOKED_KEY_ID, self.u_revoked_key_id).replace(REVOKED_KEY_ID, self.revoked_key_id))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = tmp_path_factory.mktemp("access") / "tenantry.sqlite"
    operator(db, *OPERATOR)
    operator(db, *SPARE_OPERATOR)
    daemon = Daemon(db, args=["--test-clock"])
    try:
        yield World(daemon)
    finally:
        daemon.stop()


def test_the_table_covers_every_operation_of_the_openapi_document(world):
    status, document = send(world.daemon, "GET", "/v1/openapi.json")
    assert status == 200
    operations = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    rows = {(r.method, r.path) for r in TABLE}
    assert not operations - rows, f"operations without a row in TABLE: {sorted(operations - rows)}"
    assert not rows - operations, f"rows for operations the daemon does not serve: {sorted(rows - operations)}"
    names = [r.name for r in TABLE]
    assert len(names) == len(set(names)), "a route has two rows with the same label"


CELLS = [pytest.param(r, caller, status, id=f"{r.name} <- {caller}") for r in TABLE for caller, status in zip(CALLERS, r.expected)]


@pytest.mark.parametrize("route,caller,expected", CELLS)
def test_access(world, route, caller, expected):
    token = world.credential(caller, route.prepare)
    url = world.fill(route.url)
    status, body = send(world.daemon, route.method, url, token, world.fill(route.body, caller, token), world.fill(route.headers))
    assert status == expected, f"{route.method} {url} as {caller}: {status} {body}"

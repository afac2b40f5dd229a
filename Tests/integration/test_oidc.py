"""OpenID Connect sign-in on the real binary over loopback, against oidc_provider.py (a local
OpenID provider in a thread whose ID tokens are signed with joserfc), driven the way a browser
drives it but without one: urllib with a cookie jar, every redirect followed by hand.

The contract under test (docs/API.md, "Sign-in with OpenID Connect"), in short:

- `serve --oidc-providers-file FILE` (`{"providers": [{name, display_name, issuer, client_id,
  client_secret_file, scopes}]}`); endpoints from `<issuer>/.well-known/openid-configuration`;
  the JWKS cached and fetched again (at most once a minute) for an unknown `kid`.
- `GET /v1/account/oauth/providers`; `GET /v1/account/oauth/{p}/login?redirect_to=` → 302 to the
  authorization endpoint (code flow, state, nonce, PKCE S256) + the `tenantry_oauth` cookie;
  `POST /v1/account/oauth/{p}/authorize` (a session) → `{redirect_url}` + the cookie, to link;
  `GET …/callback-url`, `GET …/post-callback-url`.
- `GET …/callback?code&state`: state known, unused, < 10 min, this provider's, with its cookie,
  else 400 code 3. The code is redeemed with client_secret_basic and the verifier; the ID token
  checked (RS256/ES256 by a JWKS key, iss, aud (+ azp), exp > now - 60 s, iat < now + 60 s,
  nonce). Success → 302 `<public><redirect_to>#oauth_ticket=…`; a failure once the state is
  known → 302 `<public><redirect_to>#oauth_error=…`, no account, no session.
- Who: a linked (provider, sub) → its user; else email_verified → the account with the email
  (linked now) or a new UNINITIALIZED user (no password) with a personal tenant and the new-tenant
  subscription; unverified → never an existing account, and refused when no account has it.
- `POST /v1/account/oauth/session {ticket}` → `{token, is_initialized}`, single use, 2 minutes
  (else 401 code 16). `GET /v1/user/identities`, `DELETE /v1/user/identities/{p}` (the last way
  to sign in → 400 code 3).

Every test has its own database (with an operator), provider and daemon (`--test-clock`, so
that the state, ticket and JWKS-refresh minutes can be passed without waiting). Two providers
are configured, `idp` and `other`, both clients of the same local provider.

Run with: TENANTRYD=… python3 -m pytest -q Tests/integration/test_oidc.py
"""
import http.cookiejar
import json
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request

import pyotp
import pytest

from conftest import Daemon, DaemonCalls, current_tenant_id, operator, sign_up
from oidc_provider import OIDCProvider, decode_fragment, pkce_challenge

IDP, OTHER = "idp", "other"
CLIENTS = {
    IDP: ("tenantry-idp.apps.example", "GOCSPX-idpClientSecret_0123456789ab", "Test IdP"),
    OTHER: ("tenantry-other.apps.example", "other-client-secret_9876543210zyxw", "Other IdP"),
}
SCOPES = ["openid", "email", "profile"]


# ---------------------------------------------------------------------------------------------
# A browser without a browser


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers  # an http.client.HTTPMessage (repeated headers kept)
        self.raw = raw
        self.location = headers.get("Location")
        self.json = None
        if headers.get("Content-Type", "").startswith("application/json"):
            self.json = json.loads(raw)

    def set_cookies(self):
        return self.headers.get_all("Set-Cookie") or []

    def __repr__(self):
        return f"Response({self.status}, Location={self.location!r}, {self.json if self.json is not None else self.raw[:300]!r})"


class Browser:
    """Keeps cookies as a browser does (by host and path) and follows nothing by itself."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, method, url, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with self.opener.open(request, timeout=30) as response:
                return Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, error.read())

    def get(self, url):
        return self.request("GET", url)

    def cookie(self, name="tenantry_oauth"):
        return next((c for c in self.jar if c.name == name), None)


def cookie_attributes(header):
    """'name=value; Path=/x; HttpOnly' → ('name', 'value', {'path': '/x', 'httponly': True})."""
    first, *rest = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    attributes = {}
    for part in rest:
        key, eq, val = part.partition("=")
        attributes[key.strip().lower()] = val.strip() if eq else True
    return name, value, attributes


# ---------------------------------------------------------------------------------------------
# Set-up


class OIDCTest(DaemonCalls):
    def __init__(self, tmp_path, providers=(IDP, OTHER)):
        self.tmp = tmp_path
        self.db = tmp_path / "tenantry.sqlite"
        self.operator_email, self.operator_password = operator(self.db)
        self.provider = OIDCProvider()
        entries = []
        for name in providers:
            client_id, secret, display = CLIENTS[name]
            secret_file = tmp_path / f"{name}-client-secret"
            secret_file.write_text(secret + "\n")
            secret_file.chmod(0o600)
            entries.append({"name": name, "display_name": display, "issuer": self.provider.issuer, "client_id": client_id,
                            "client_secret_file": str(secret_file), "scopes": SCOPES})
        self.providers_file = tmp_path / "oidc-providers.json"
        self.providers_file.write_text(json.dumps({"providers": entries}, indent=2))
        self.daemon = Daemon(self.db, args=["--oidc-providers-file", self.providers_file, "--test-clock"])
        for name in providers:
            client_id, secret, _ = CLIENTS[name]
            self.provider.register_client(client_id, secret, [self.callback_url(name)])
        self.operator = self.daemon.login(self.operator_email, self.operator_password)
        # Who the provider signs in unless a test says otherwise.
        self.provider.sign_in_as(sub="sub-default", email=unique_email("default"), email_verified=True, name="Dee Default")

    def close(self):
        self.daemon.stop()
        self.provider.stop()

    # -- addresses

    def public(self, path=""):
        return self.daemon.url(path)  # --public-url defaults to http://<listen>

    def callback_url(self, name=IDP):
        return self.public(f"/v1/account/oauth/{name}/callback")

    # -- the daemon's API

    def users_with(self, email):
        found = self.ok("GET", "/v1/admin/users?" + urllib.parse.urlencode({"q": email, "limit": 100}), token=self.operator)["users"]
        return [u for u in found if u["email"] == email]

    def user(self, token):
        return self.ok("GET", "/v1/user", token=token)["user"]

    def identities(self, token):
        return self.ok("GET", "/v1/user/identities", token=token)["identities"]

    def advance(self, seconds):
        return self.ok("POST", "/v1/admin/clock/advance", {"seconds": seconds}, token=self.operator)

    def password_account(self, email, password="user password 1"):
        return sign_up(self.daemon, self.operator, email, password)

    # -- the flow, one hop at a time

    def start(self, browser, name=IDP, redirect_to=None):
        """GET …/login → the authorization URL (the 302's Location); the browser keeps the cookie."""
        query = "" if redirect_to is None else "?" + urllib.parse.urlencode({"redirect_to": redirect_to})
        response = browser.get(self.public(f"/v1/account/oauth/{name}/login{query}"))
        assert response.status == 302 and response.location, (response, self.daemon.output()[-3000:])
        return response.location

    def start_link(self, browser, token, name=IDP, redirect_to="/portal"):
        """POST …/authorize with a session → the authorization URL."""
        response = browser.request("POST", self.public(f"/v1/account/oauth/{name}/authorize"), {"redirect_to": redirect_to}, token=token)
        assert response.status == 200 and response.json.get("redirect_url"), (response, self.daemon.output()[-3000:])
        return response.json["redirect_url"], response

    def at_provider(self, browser, authorization_url, name=IDP):
        """The provider logs the user in and sends the browser back: the callback URL."""
        assert authorization_url.startswith(f"{self.provider.base}/authorize?"), authorization_url
        response = browser.get(authorization_url)
        assert response.status == 302, (response, self.provider.authorizations[-1])
        assert response.location.startswith(self.callback_url(name) + "?"), response.location
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.location).query))
        assert "error" not in query and query.get("code"), query
        return response.location

    def sign_in(self, browser=None, name=IDP, redirect_to=None):
        """login → provider → callback: the callback's response."""
        browser = browser or Browser()
        callback = self.at_provider(browser, self.start(browser, name, redirect_to), name)
        return browser.get(callback)

    def ticket(self, response, redirect_to="/portal"):
        """The ticket of a successful callback (302 to <public><redirect_to>#oauth_ticket=…)."""
        assert response.status == 302 and response.location, (response, self.daemon.output()[-3000:])
        target, _, _ = response.location.partition("#")
        assert target == self.public(redirect_to), response.location
        fragment = decode_fragment(response.location)
        assert "oauth_error" not in fragment and fragment.get("oauth_ticket"), (fragment, self.daemon.output()[-3000:])
        return fragment["oauth_ticket"]

    def session(self, ticket, mfa=False):
        status, _, answer = self.request("POST", "/v1/account/oauth/session", {"ticket": ticket})
        assert status == 200, (status, answer)
        assert answer["mfa_required"] is mfa and isinstance(answer["is_initialized"], bool), answer
        assert bool(answer["token"]) is not mfa and bool(answer["mfa_token"]) is mfa, answer
        return answer

    def signed_in(self, browser=None, name=IDP):
        """The whole sign-in → a session token."""
        return self.session(self.ticket(self.sign_in(browser, name)))["token"]

    def refused(self, response, redirect_to="/portal"):
        """A failure once the state is known: 302 to <public><redirect_to>#oauth_error=…; the message."""
        assert response.status == 302 and response.location, (response, self.daemon.output()[-3000:])
        target, _, _ = response.location.partition("#")
        assert target == self.public(redirect_to), response.location
        fragment = decode_fragment(response.location)
        assert "oauth_ticket" not in fragment, f"a ticket for a refused sign-in: {response.location}"
        assert fragment.get("oauth_error"), response.location
        return fragment["oauth_error"]


@pytest.fixture
def oidc(tmp_path):
    test = OIDCTest(tmp_path)
    yield test
    test.close()


def bad_request(response):
    """400 code 3 JSON, not a redirect."""
    assert response.status == 400 and response.location is None, response
    assert response.json and response.json.get("code") == 3 and isinstance(response.json.get("message"), str), response
    return response.json["message"]


def unique_email(prefix="oidc"):
    return f"{prefix}-{secrets.token_hex(4)}@example.com"


# ---------------------------------------------------------------------------------------------
# Configuration answers


def test_providers_are_listed_without_auth(oidc):
    answer = oidc.ok("GET", "/v1/account/oauth/providers")
    providers = answer["providers"]
    assert [(p["name"], p["display_name"]) for p in providers] == [(IDP, "Test IdP"), (OTHER, "Other IdP")], providers
    for entry in providers:
        login = urllib.parse.urlsplit(entry["login_url"])
        assert login.path == f"/v1/account/oauth/{entry['name']}/login", entry
        if login.netloc:  # absolute URLs start with --public-url
            assert f"{login.scheme}://{login.netloc}" == oidc.public(), entry
        # The URL leads to the provider.
        browser = Browser()
        response = browser.get(urllib.parse.urljoin(oidc.public("/"), entry["login_url"]))
        assert response.status == 302 and response.location.startswith(f"{oidc.provider.base}/authorize?"), response
        assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.location).query))["client_id"] == CLIENTS[entry["name"]][0]
    assert "secret" not in json.dumps(answer).lower() and CLIENTS[IDP][1] not in json.dumps(answer)


def test_callback_url_and_post_callback_url(oidc):
    for name in (IDP, OTHER):
        assert oidc.ok("GET", f"/v1/account/oauth/{name}/callback-url") == {"callback_url": oidc.callback_url(name)}
        assert oidc.ok("GET", f"/v1/account/oauth/{name}/post-callback-url") == {"redirect_url": oidc.public("/portal")}


def test_an_unknown_provider_is_404(oidc):
    status, _, answer = oidc.request("GET", "/v1/account/oauth/nobody/login")
    assert status == 404 and answer["code"] == 5, answer
    status, _, answer = oidc.request("GET", "/v1/account/oauth/nobody/login?redirect_to=/portal")
    assert status == 404 and answer["code"] == 5, answer
    assert oidc.provider.authorizations == []


def test_the_daemon_reads_discovery_from_the_issuer(oidc):
    oidc.signed_in()
    assert oidc.provider.discovery_fetches >= 1
    assert oidc.provider.requests("/.well-known/openid-configuration")[0].method == "GET"


# ---------------------------------------------------------------------------------------------
# The login redirect


def test_login_redirects_to_the_provider_with_state_nonce_and_pkce(oidc):
    browser = Browser()
    response = browser.get(oidc.public(f"/v1/account/oauth/{IDP}/login?redirect_to=/portal"))
    assert response.status == 302, response
    split = urllib.parse.urlsplit(response.location)
    assert f"{split.scheme}://{split.netloc}{split.path}" == f"{oidc.provider.base}/authorize"
    pairs = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
    query = dict(pairs)
    assert len(pairs) == len(query), f"a parameter sent twice: {pairs}"
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENTS[IDP][0]
    assert query["redirect_uri"] == oidc.callback_url(IDP)
    assert query["scope"].split(" ") == SCOPES
    assert len(query["state"]) >= 16 and len(query["nonce"]) >= 16
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", query["code_challenge"]), query
    assert query["code_challenge_method"] == "S256"

    [cookie_header] = [h for h in response.set_cookies() if h.startswith("tenantry_oauth=")]
    name, value, attributes = cookie_attributes(cookie_header)
    assert name == "tenantry_oauth" and len(value) >= 16
    assert attributes.get("path") == "/v1/account/oauth"
    assert attributes.get("httponly") is True
    assert str(attributes.get("samesite", "")).lower() == "lax"
    assert attributes.get("max-age") == "600"
    assert "secure" not in attributes  # the public URL is http here
    assert value not in (query["state"], query["nonce"], query["code_challenge"])
    assert browser.cookie().value == value

    # Each login has its own state, nonce, verifier and cookie.
    again = Browser()
    other = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(oidc.start(again)).query))
    for key in ("state", "nonce", "code_challenge"):
        assert other[key] != query[key], key
    assert again.cookie().value != value


def test_redirect_to_defaults_to_portal_and_is_honoured(oidc):
    oidc.provider.sign_in_as(sub="redirect-1", email=unique_email(), email_verified=True, name="Redirected")
    oidc.ticket(oidc.sign_in(), "/portal")
    oidc.ticket(oidc.sign_in(redirect_to="/portal"), "/portal")
    oidc.ticket(oidc.sign_in(redirect_to="/console/settings"), "/console/settings")


@pytest.mark.parametrize("target", ["//evil.example/portal", "https://evil.example/portal", "evil.example"])
def test_redirect_to_must_be_a_path_on_this_site(oidc, target):
    oidc.provider.sign_in_as(sub="redirect-2", email=unique_email(), email_verified=True)
    browser = Browser()
    response = browser.get(oidc.public(f"/v1/account/oauth/{IDP}/login?" + urllib.parse.urlencode({"redirect_to": target})))
    if response.status == 400:
        bad_request(response)
        return
    # Otherwise the redirect_to is not taken: the sign-in ends on this site.
    assert response.status == 302, response
    final = browser.get(oidc.at_provider(browser, response.location))
    assert final.status == 302, final
    split = urllib.parse.urlsplit(final.location)
    assert f"{split.scheme}://{split.netloc}" == oidc.public(), final.location
    assert not split.path.startswith("//") and "evil.example" not in split.path, final.location


# ---------------------------------------------------------------------------------------------
# Signing in


def test_a_new_identity_signs_up_and_in(oidc):
    email = unique_email("newcomer")
    oidc.provider.sign_in_as(sub="248289761001", email=email, email_verified=True, name="Nora Newcomer")
    assert oidc.users_with(email) == []
    browser = Browser()
    authorization_url = oidc.start(browser)
    callback = oidc.at_provider(browser, authorization_url)
    response = browser.get(callback)
    ticket = oidc.ticket(response)
    answer = oidc.session(ticket)
    token = answer["token"]
    user = oidc.user(token)
    assert user["email"] == email, user
    # No password yet, as after registration: UNINITIALIZED, so the product may offer one.
    assert user["status"] == "UNINITIALIZED", user
    assert answer["is_initialized"] is False
    [listed] = oidc.users_with(email)
    assert listed["id"] == user["id"] and listed["status"] == "UNINITIALIZED"
    # A personal tenant, owned by them, on the new-tenant subscription, as registration makes.
    tenant_id = current_tenant_id(oidc.daemon, token)
    [tenant] = oidc.ok("GET", "/v1/user/tenants", token=token)["tenants"]
    assert tenant["id"] == tenant_id and tenant["role"] == "owner", tenant
    registered = oidc.password_account(unique_email("registered"))
    mine = oidc.ok("GET", "/v1/subscription", token=token)["subscription"]
    theirs = oidc.ok("GET", "/v1/subscription", token=registered)["subscription"]
    assert (mine["plan"], mine["status"]) == (theirs["plan"], theirs["status"]), (mine, theirs)
    # The identity is linked; there is no password to log in with.
    [identity] = oidc.identities(token)
    assert (identity["provider"], identity["subject"], identity["email"]) == (IDP, "248289761001", email), identity
    assert identity["linked_at"]
    status, _, refused = oidc.request("POST", "/v1/account/login", {"email": email, "password": "anything at all"})
    assert status == 401 and refused["code"] == 16, refused

    # What the daemon did at the provider: the code flow with PKCE and client_secret_basic.
    [authorization] = oidc.provider.authorizations
    assert authorization.outcome == "code"
    sent = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorization_url).query))
    assert authorization.query == sent
    [exchange] = oidc.provider.token_requests
    assert exchange.status == 200, exchange
    assert exchange.client_auth == "client_secret_basic" and exchange.client_id == CLIENTS[IDP][0]
    assert exchange.headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = exchange.form
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == authorization.code
    assert form["redirect_uri"] == oidc.callback_url(IDP) == authorization.query["redirect_uri"]
    assert pkce_challenge(form["code_verifier"]) == authorization.query["code_challenge"]
    assert 43 <= len(form["code_verifier"]) <= 128
    assert "client_secret" not in form
    assert set(form) <= {"grant_type", "code", "redirect_uri", "code_verifier", "client_id"}, form
    assert len(exchange.pairs) == len(form)
    # The verifier never went through the browser.
    assert form["code_verifier"] not in authorization_url + callback + response.location
    assert form["code_verifier"] not in "".join(response.set_cookies())
    # The ID token it accepted carried the nonce it sent.
    assert oidc.provider.issued[-1].claims["nonce"] == authorization.query["nonce"]

    # The ticket is single use.
    status, _, answer = oidc.request("POST", "/v1/account/oauth/session", {"ticket": ticket})
    assert status == 401 and answer["code"] == 16, answer
    status, _, answer = oidc.request("POST", "/v1/account/oauth/session", {"ticket": "not-a-ticket"})
    assert status == 401 and answer["code"] == 16, answer


def test_the_same_identity_signs_into_the_same_user(oidc):
    email = unique_email("returning")
    oidc.provider.sign_in_as(sub="sub-returning", email=email, email_verified=True, name="Rita Returning")
    first = oidc.user(oidc.signed_in())
    second_token = oidc.signed_in()
    assert oidc.user(second_token)["id"] == first["id"]
    assert len(oidc.users_with(email)) == 1
    # The (provider, sub) decides, not the email: a changed email, even unverified, is the same user.
    changed = unique_email("changed")
    oidc.provider.sign_in_as(sub="sub-returning", email=changed, email_verified=False)
    assert oidc.user(oidc.signed_in())["id"] == first["id"]
    assert oidc.users_with(changed) == []
    assert len(oidc.users_with(email)) == 1
    # The same sub at the other provider is another identity: a new user for a new email.
    other_email = unique_email("elsewhere")
    oidc.provider.sign_in_as(sub="sub-returning", email=other_email, email_verified=True)
    assert oidc.user(oidc.signed_in(name=OTHER))["id"] != first["id"]
    assert len(oidc.users_with(other_email)) == 1


def test_a_verified_email_links_the_existing_password_account(oidc):
    email = unique_email("existing")
    password_token = oidc.password_account(email, "existing password 1")
    existing = oidc.user(password_token)
    tenant_before = current_tenant_id(oidc.daemon, password_token)
    assert oidc.identities(password_token) == []
    oidc.provider.sign_in_as(sub="sub-existing", email=email, email_verified=True, name="Existing Person")
    token = oidc.signed_in()
    assert oidc.user(token)["id"] == existing["id"]
    assert [u["id"] for u in oidc.users_with(email)] == [existing["id"]]
    [identity] = oidc.identities(token)
    assert (identity["provider"], identity["subject"], identity["email"]) == (IDP, "sub-existing", email)
    assert current_tenant_id(oidc.daemon, token) == tenant_before
    assert len(oidc.ok("GET", "/v1/user/tenants", token=token)["tenants"]) == 1  # no second personal tenant
    # The password still works, and the identity now signs in even under another email.
    assert oidc.user(oidc.daemon.login(email, "existing password 1"))["id"] == existing["id"]
    oidc.provider.sign_in_as(sub="sub-existing", email=unique_email("moved"), email_verified=True)
    assert oidc.user(oidc.signed_in())["id"] == existing["id"]


def test_es256(oidc):
    oidc.provider.alg = "ES256"
    email = unique_email("es256")
    oidc.provider.sign_in_as(sub="sub-es256", email=email, email_verified=True)
    token = oidc.signed_in()
    assert oidc.user(token)["email"] == email
    assert oidc.provider.issued[-1].header["alg"] == "ES256" and oidc.provider.issued[-1].header["kid"] == "ec-1"


def test_several_audiences_with_azp_and_a_little_clock_skew_are_accepted(oidc):
    client_id = CLIENTS[IDP][0]
    oidc.provider.audience, oidc.provider.azp = [client_id, "another-audience"], client_id
    oidc.provider.sign_in_as(sub="sub-azp", email=unique_email("azp"), email_verified=True)
    oidc.signed_in()
    oidc.provider.reset_knobs()
    now = int(time.time())
    # exp > now - 60 s and iat < now + 60 s: 30 s either way is within.
    oidc.provider.claims_override = {"exp": now - 30, "iat": now - 3600}
    oidc.signed_in()
    oidc.provider.claims_override = {"iat": now + 30}
    oidc.signed_in()


# ---------------------------------------------------------------------------------------------
# Refused ID tokens: a redirect with oauth_error, no ticket, no user, nothing linked


def _no_audience(provider):
    provider.audience = "someone-else.apps.example"


def _several_audiences_without_azp(provider):
    provider.audience = [CLIENTS[IDP][0], "another-audience"]


def _azp_of_another_client(provider):
    provider.audience, provider.azp = [CLIENTS[IDP][0], "another-audience"], "another-audience"


def _expired(provider):
    provider.expired = True


def _issued_in_the_future(provider):
    provider.claims_override = {"iat": int(time.time()) + 600}


def _bad_signature(provider):
    provider.bad_signature = True


def _bad_es256_signature(provider):
    provider.alg, provider.bad_signature = "ES256", True


def _wrong_nonce(provider):
    provider.nonce = "not-the-nonce-tenantry-sent"


def _no_nonce(provider):
    provider.claims_override = {"nonce": None}


def _wrong_issuer(provider):
    provider.claims_override = {"iss": "https://accounts.evil.example"}


def _unsigned(provider):
    provider.forge = "none"


def _hs256_keyed_with_the_public_key(provider):
    provider.forge = "HS256"


REFUSALS = [_no_audience, _several_audiences_without_azp, _azp_of_another_client, _expired, _issued_in_the_future,
            _bad_signature, _bad_es256_signature, _wrong_nonce, _no_nonce, _wrong_issuer, _unsigned,
            _hs256_keyed_with_the_public_key]


@pytest.mark.parametrize("knob", REFUSALS, ids=lambda f: f.__name__.strip("_"))
def test_a_bad_id_token_is_refused(oidc, knob):
    email = unique_email("refused")
    oidc.provider.sign_in_as(sub=f"sub-{knob.__name__.strip('_')}", email=email, email_verified=True)
    knob(oidc.provider)
    message = oidc.refused(oidc.sign_in())
    assert message.strip(), message
    assert oidc.users_with(email) == []
    [exchange] = oidc.provider.token_requests  # the code was redeemed and the answer's token judged
    assert exchange.status == 200
    # The same person with a good token signs in: nothing of the failure was kept.
    oidc.provider.reset_knobs()
    token = oidc.signed_in()
    assert oidc.user(token)["email"] == email


@pytest.mark.parametrize("knob", [_no_audience, _expired, _bad_signature, _wrong_nonce], ids=lambda f: f.__name__.strip("_"))
def test_a_bad_id_token_does_not_link_an_existing_account(oidc, knob):
    email = unique_email("victim")
    password_token = oidc.password_account(email)
    oidc.provider.sign_in_as(sub="sub-attacker", email=email, email_verified=True)
    knob(oidc.provider)
    oidc.refused(oidc.sign_in())
    assert oidc.identities(password_token) == []
    assert len(oidc.users_with(email)) == 1


def test_an_unknown_kid_makes_tenantry_fetch_the_jwks_again(oidc):
    oidc.provider.sign_in_as(sub="sub-rotation", email=unique_email("rotation"), email_verified=True)
    oidc.signed_in()
    fetched = oidc.provider.jwks_fetches
    assert fetched >= 1
    oidc.signed_in()
    assert oidc.provider.jwks_fetches == fetched, "the JWKS is cached"

    # A new key, not published yet: Tenantry fetches the JWKS again, finds no such kid, refuses.
    oidc.advance(61)
    kid = oidc.provider.use_unpublished_key()
    assert kid not in {k["kid"] for k in oidc.provider.jwks()["keys"]}
    oidc.refused(oidc.sign_in())
    assert oidc.provider.jwks_fetches == fetched + 1
    # Within the minute, no second fetch.
    oidc.refused(oidc.sign_in())
    assert oidc.provider.jwks_fetches == fetched + 1, "the JWKS is fetched again at most once per minute"

    # Published (a key rotation): after the minute, the next sign-in fetches it and works.
    oidc.provider.publish_pending_key()
    oidc.advance(61)
    token = oidc.signed_in()
    assert oidc.provider.jwks_fetches == fetched + 2
    assert oidc.provider.issued[-1].header["kid"] == kid
    assert oidc.user(token)["email"] == oidc.provider.user.email
    assert len(oidc.users_with(oidc.provider.user.email)) == 1


def test_a_rotated_key_is_picked_up_on_first_sight(oidc):
    oidc.provider.sign_in_as(sub="sub-rotated", email=unique_email("rotated"), email_verified=True)
    oidc.signed_in()
    fetched = oidc.provider.jwks_fetches
    oidc.advance(61)
    oidc.provider.use_unpublished_key(alg="ES256")
    oidc.provider.publish_pending_key()
    oidc.signed_in()
    assert oidc.provider.jwks_fetches == fetched + 1


# ---------------------------------------------------------------------------------------------
# Unverified emails


def test_an_unverified_email_never_links_an_existing_account(oidc):
    email = unique_email("owner")
    password_token = oidc.password_account(email)
    oidc.provider.sign_in_as(sub="sub-unverified-existing", email=email, email_verified=False)
    oidc.refused(oidc.sign_in())
    assert oidc.identities(password_token) == []
    assert len(oidc.users_with(email)) == 1
    oidc.provider.sign_in_as(sub="sub-unverified-existing", email=email, email_verified=None)  # the claim left out
    oidc.refused(oidc.sign_in())
    assert oidc.identities(password_token) == []


@pytest.mark.parametrize("verified", [False, None], ids=["false", "missing"])
def test_an_unverified_new_email_is_refused(oidc, verified):
    email = unique_email("unverified")
    oidc.provider.sign_in_as(sub="sub-unverified-new", email=email, email_verified=verified)
    message = oidc.refused(oidc.sign_in())
    assert f"the provider has not verified {email}" in message, message
    assert oidc.users_with(email) == []


# ---------------------------------------------------------------------------------------------
# The callback's state and cookie: 400 code 3, no redirect


def _callback_parts(callback):
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    return query["code"], query["state"]


def test_a_wrong_state_is_refused(oidc):
    email = unique_email("state")
    oidc.provider.sign_in_as(sub="sub-state", email=email, email_verified=True)
    browser = Browser()
    callback = oidc.at_provider(browser, oidc.start(browser))
    code, state = _callback_parts(callback)
    base = oidc.callback_url(IDP)
    for query in ({"code": code, "state": secrets.token_urlsafe(24)}, {"code": code, "state": ""}, {"code": code},
                  {"code": code, "state": state + "x"}):
        bad_request(browser.get(f"{base}?{urllib.parse.urlencode(query)}"))
    assert oidc.users_with(email) == []
    # Another provider's state, even with its cookie, is not this provider's.
    other_browser = Browser()
    other_callback = oidc.at_provider(other_browser, oidc.start(other_browser, OTHER), OTHER)
    other_code, other_state = _callback_parts(other_callback)
    bad_request(other_browser.get(f"{base}?{urllib.parse.urlencode({'code': other_code, 'state': other_state})}"))
    assert oidc.users_with(email) == []
    assert oidc.provider.token_requests == [], "no code is redeemed for a state that does not hold"


def test_a_replayed_callback_is_refused(oidc):
    email = unique_email("replay")
    oidc.provider.sign_in_as(sub="sub-replay", email=email, email_verified=True)
    browser = Browser()
    callback = oidc.at_provider(browser, oidc.start(browser))
    first = browser.get(callback)
    oidc.session(oidc.ticket(first))
    cookie = browser.cookie()
    again = browser.get(callback)
    bad_request(again)
    if cookie is not None:  # the daemon may have cleared the cookie; the state is spent either way
        replayer = Browser()
        replayer.jar.set_cookie(cookie)
        bad_request(replayer.get(callback))
    assert len(oidc.users_with(email)) == 1


def test_a_missing_or_mismatched_cookie_is_refused(oidc):
    email = unique_email("cookie")
    oidc.provider.sign_in_as(sub="sub-cookie", email=email, email_verified=True)
    browser = Browser()
    callback = oidc.at_provider(browser, oidc.start(browser))
    # Another browser (the link was sent to someone else): no cookie.
    bad_request(Browser().get(callback))
    # A browser with a cookie of its own sign-in.
    other = Browser()
    oidc.start(other)
    assert other.cookie() is not None and other.cookie().value != browser.cookie().value
    bad_request(other.get(callback))
    # A forged cookie.
    forged = Browser()
    forged.jar.set_cookie(_copy_cookie(browser.cookie(), value=secrets.token_urlsafe(32)))
    bad_request(forged.get(callback))
    assert oidc.users_with(email) == []
    assert oidc.provider.token_requests == [], "the code is redeemed only after the state and cookie are checked"


def _copy_cookie(cookie, **changes):
    fields = {name: getattr(cookie, name) for name in (
        "version", "name", "value", "port", "port_specified", "domain", "domain_specified", "domain_initial_dot",
        "path", "path_specified", "secure", "expires", "discard", "comment", "comment_url")}
    fields["rest"] = dict(cookie._rest)
    fields.update(changes)
    return http.cookiejar.Cookie(**fields)


def test_a_state_older_than_ten_minutes_is_refused(oidc):
    email = unique_email("late")
    oidc.provider.sign_in_as(sub="sub-late", email=email, email_verified=True)
    browser = Browser()
    callback = oidc.at_provider(browser, oidc.start(browser))
    oidc.advance(601)
    bad_request(browser.get(callback))
    assert oidc.users_with(email) == []


def test_a_ticket_lasts_two_minutes(oidc):
    email = unique_email("ticket")
    oidc.provider.sign_in_as(sub="sub-ticket", email=email, email_verified=True)
    ticket = oidc.ticket(oidc.sign_in())
    oidc.advance(121)
    status, _, answer = oidc.request("POST", "/v1/account/oauth/session", {"ticket": ticket})
    assert status == 401 and answer["code"] == 16, answer
    # A fresh one works.
    oidc.session(oidc.ticket(oidc.sign_in()))


# ---------------------------------------------------------------------------------------------
# Linking and unlinking


def test_link_sign_in_and_unlink(oidc):
    email = unique_email("linker")
    token = oidc.password_account(email)
    me = oidc.user(token)
    assert oidc.identities(token) == []
    # Link: a provider account under another email.
    provider_email = unique_email("linked-at-idp")
    oidc.provider.sign_in_as(sub="sub-linked", email=provider_email, email_verified=True)
    browser = Browser()
    redirect_url, started = oidc.start_link(browser, token, redirect_to="/portal")
    [cookie_header] = [h for h in started.set_cookies() if h.startswith("tenantry_oauth=")]
    _, _, attributes = cookie_attributes(cookie_header)
    assert attributes.get("path") == "/v1/account/oauth" and attributes.get("httponly") is True
    assert str(attributes.get("samesite", "")).lower() == "lax" and attributes.get("max-age") == "600"
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redirect_url).query))
    assert (query["client_id"], query["redirect_uri"], query["code_challenge_method"]) == (CLIENTS[IDP][0], oidc.callback_url(IDP), "S256")
    finished = browser.get(oidc.at_provider(browser, redirect_url))
    assert finished.status == 302 and finished.location.partition("#")[0] == oidc.public("/portal"), finished
    assert "oauth_error" not in decode_fragment(finished.location), finished.location
    [identity] = oidc.identities(token)
    assert (identity["provider"], identity["subject"], identity["email"]) == (IDP, "sub-linked", provider_email), identity
    assert oidc.users_with(provider_email) == []
    # The linked identity signs into this user.
    assert oidc.user(oidc.signed_in())["id"] == me["id"]
    # Unlinked, it no longer does (its verified email is nobody's: a new user).
    oidc.ok("DELETE", f"/v1/user/identities/{IDP}", token=token)
    assert oidc.identities(token) == []
    assert oidc.user(oidc.signed_in())["id"] != me["id"]
    assert len(oidc.users_with(provider_email)) == 1
    assert oidc.user(oidc.daemon.login(email, "user password 1"))["id"] == me["id"]


def test_linking_needs_a_session(oidc):
    status, _, answer = oidc.request("POST", f"/v1/account/oauth/{IDP}/authorize", {"redirect_to": "/portal"})
    assert status == 401 and answer["code"] == 16, answer


def test_an_identity_of_another_user_is_not_linked(oidc):
    oidc.provider.sign_in_as(sub="sub-taken", email=unique_email("taken"), email_verified=True)
    holder = oidc.signed_in()
    holder_id = oidc.user(holder)["id"]
    email = unique_email("grabber")
    grabber = oidc.password_account(email)
    browser = Browser()
    redirect_url, _ = oidc.start_link(browser, grabber)
    response = browser.get(oidc.at_provider(browser, redirect_url))
    if response.status == 302:  # a failure once the state is known
        oidc.refused(response)
    else:
        assert response.status == 409 and response.json["code"] == 6, response
    assert oidc.identities(grabber) == []
    assert [i["subject"] for i in oidc.identities(holder)] == ["sub-taken"]
    assert oidc.user(oidc.signed_in())["id"] == holder_id


def test_the_last_way_to_sign_in_cannot_be_removed(oidc):
    email = unique_email("passwordless")
    oidc.provider.sign_in_as(sub="sub-only", email=email, email_verified=True)
    token = oidc.signed_in()
    status, _, answer = oidc.request("DELETE", f"/v1/user/identities/{IDP}", token=token)
    assert status == 400 and answer["code"] == 3, answer
    assert [i["provider"] for i in oidc.identities(token)] == [IDP]
    # With a second identity, one of them can go; then the other is the last.
    oidc.provider.sign_in_as(sub="sub-second", email=unique_email("second"), email_verified=True)
    browser = Browser()
    redirect_url, _ = oidc.start_link(browser, token, OTHER)
    finished = browser.get(oidc.at_provider(browser, redirect_url, OTHER))
    assert finished.status == 302 and "oauth_error" not in decode_fragment(finished.location), finished
    assert sorted(i["provider"] for i in oidc.identities(token)) == [IDP, OTHER]
    oidc.ok("DELETE", f"/v1/user/identities/{IDP}", token=token)
    assert [i["provider"] for i in oidc.identities(token)] == [OTHER]
    status, _, answer = oidc.request("DELETE", f"/v1/user/identities/{OTHER}", token=token)
    assert status == 400 and answer["code"] == 3, answer
    assert [i["provider"] for i in oidc.identities(token)] == [OTHER]
    # The remaining identity still signs in.
    assert oidc.user(oidc.signed_in(name=OTHER))["email"] == email


def test_a_password_account_can_unlink_its_only_identity(oidc):
    email = unique_email("haspassword")
    token = oidc.password_account(email)
    oidc.provider.sign_in_as(sub="sub-pw", email=email, email_verified=True)
    assert oidc.user(oidc.signed_in())["email"] == email  # linked by its verified email
    assert [i["provider"] for i in oidc.identities(token)] == [IDP]
    oidc.ok("DELETE", f"/v1/user/identities/{IDP}", token=token)
    assert oidc.identities(token) == []


def test_an_operator_with_a_second_factor_is_asked_for_a_code_after_the_provider(oidc):
    """A provider proves the email, not the operator's device: the ticket opens the same
    challenge a password login gets, and only a code from the app opens the session."""
    enrolment = oidc.ok("POST", "/v1/user/2fa/enroll", {}, token=oidc.operator)
    app = pyotp.TOTP(enrolment["secret"])
    oidc.ok("POST", "/v1/user/2fa/confirm", {"code": app.now()}, token=oidc.operator)
    oidc.provider.sign_in_as(sub="sub-operator", email=oidc.operator_email, email_verified=True)
    answer = oidc.session(oidc.ticket(oidc.sign_in()), mfa=True)
    status, _, refused = oidc.request("POST", "/v1/account/login/2fa", {"mfa_token": answer["mfa_token"], "code": "000000"})
    assert (status, refused["code"]) == (401, 16), refused
    # The confirming code's step is used up: the next step's code signs in.
    code = app.at(time.time() + 30)
    status, _, opened = oidc.request("POST", "/v1/account/login/2fa", {"mfa_token": answer["mfa_token"], "code": code})
    assert status == 200 and opened["token"], opened
    assert oidc.ok("GET", "/v1/user", token=opened["token"])["user"]["email"] == oidc.operator_email


"""The OpenID provider fixture itself (oidc_provider.py), driven as a relying party drives it and
its ID tokens checked with joserfc against the JWKS it serves, so that test_oidc.py's failures
are the daemon's. Needs no tenantryd.

Run with: python3 -m pytest -q Tests/integration/test_oidc_provider_fixture.py
"""
import base64
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from joserfc import errors, jwt
from joserfc.jwk import KeySet

from oidc_provider import OIDCProvider, basic_authorization, new_verifier, pkce_challenge

CLIENT_ID, SECRET = "tenantry-test", "s3cret: with %+ and spaces"
REDIRECT = "http://127.0.0.1:9/v1/account/oauth/idp/callback"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def http(method, url, form=None, headers=None):
    """(status, headers, body bytes), redirects not followed."""
    data = None if form is None else urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if form is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def provider():
    started = OIDCProvider()
    started.register_client(CLIENT_ID, SECRET, [REDIRECT])
    started.register_client("other-client", "other secret", ["http://127.0.0.1:9/v1/account/oauth/other/callback"])
    started.sign_in_as(sub="1001", email="jane@example.com", email_verified=True, name="Jane Doe")
    yield started
    started.stop()


def authorize(provider, verifier=None, client_id=CLIENT_ID, redirect_uri=REDIRECT, **overrides):
    """GET /authorize as a browser sent there by a relying party → (status, Location query, state, nonce)."""
    verifier = verifier or new_verifier()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid email profile",
              "state": state, "nonce": nonce, "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256"}
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    status, headers, body = http("GET", f"{provider.base}/authorize?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))
    location = headers.get("Location")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query)) if location else None
    return status, location, query, state, nonce


def redeem(provider, code, verifier, redirect_uri=REDIRECT, auth=(CLIENT_ID, SECRET), extra=None):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier, **(extra or {})}
    headers = {"Authorization": basic_authorization(*auth)} if auth else {}
    status, _, body = http("POST", f"{provider.base}/token", form, headers)
    return status, json.loads(body)


def sign_in(provider):
    """The whole code flow with PKCE → (token answer, nonce)."""
    verifier = new_verifier()
    status, location, query, state, nonce = authorize(provider, verifier)
    assert status == 302 and location.startswith(REDIRECT + "?"), (status, location)
    assert query["state"] == state and "error" not in query, query
    status, answer = redeem(provider, query["code"], verifier)
    assert status == 200, answer
    return answer, nonce


def published_keys(provider):
    status, headers, body = http("GET", f"{provider.base}/jwks")
    assert status == 200 and headers["Content-Type"].startswith("application/jwk-set+json")
    jwks = json.loads(body)
    for key in jwks["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys(), f"a private part published: {key}"
    return jwks


def verify(provider, id_token, nonce=None):
    """Verifies ID_TOKEN as a relying party does: signature by a key of /jwks, then the claims."""
    token = jwt.decode(id_token, KeySet.import_key_set(published_keys(provider)), algorithms=["RS256", "ES256"])
    registry = jwt.JWTClaimsRegistry(iss={"essential": True, "value": provider.issuer}, aud={"essential": True, "value": CLIENT_ID},
                                     sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                                     **({"nonce": {"essential": True, "value": nonce}} if nonce else {}))
    registry.validate(token.claims)
    return token


# ---------------------------------------------------------------------------------------------


def test_discovery_and_jwks(provider):
    status, headers, body = http("GET", f"{provider.base}/.well-known/openid-configuration")
    assert status == 200 and headers["Content-Type"] == "application/json"
    config = json.loads(body)
    assert config["issuer"] == provider.issuer == provider.base == f"http://127.0.0.1:{provider.port}"
    assert config["authorization_endpoint"] == f"{provider.base}/authorize"
    assert config["token_endpoint"] == f"{provider.base}/token"
    assert config["jwks_uri"] == f"{provider.base}/jwks"
    assert config["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert "code" in config["response_types_supported"]

    keys = published_keys(provider)["keys"]
    assert [(k["kty"], k["kid"], k.get("alg")) for k in keys] == [("RSA", "rsa-1", "RS256"), ("EC", "ec-1", "ES256")]
    rsa, ec = keys
    assert len(base64.urlsafe_b64decode(rsa["n"] + "==")) * 8 == 2048 and rsa["e"] == "AQAB"
    assert ec["crv"] == "P-256"
    assert provider.jwks_fetches == 1 and provider.discovery_fetches == 1


def test_pkce_challenge_is_rfc7636s_example():
    # RFC 7636 appendix B.
    assert pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert len(new_verifier()) == 64 and new_verifier() != new_verifier()


def test_full_code_flow_with_pkce_and_a_verified_id_token(provider):
    answer, nonce = sign_in(provider)
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600 and answer["access_token"]
    token = verify(provider, answer["id_token"], nonce)
    assert token.header == {"alg": "RS256", "kid": "rsa-1", "typ": "JWT"}
    claims = token.claims
    now = time.time()
    assert claims["iss"] == provider.issuer and claims["sub"] == "1001" and claims["aud"] == CLIENT_ID
    assert claims["nonce"] == nonce
    assert (claims["email"], claims["email_verified"], claims["name"]) == ("jane@example.com", True, "Jane Doe")
    assert abs(claims["iat"] - now) < 5 and abs(claims["exp"] - (now + 3600)) < 5
    assert "azp" not in claims

    # What was recorded: the authorize request with PKCE, the token request with Basic auth.
    [authorization] = provider.authorizations
    assert authorization.outcome == "code" and authorization.query["code_challenge_method"] == "S256"
    assert authorization.query["nonce"] == nonce and authorization.query["client_id"] == CLIENT_ID
    [exchange] = provider.token_requests
    assert exchange.status == 200 and exchange.client_auth == "client_secret_basic" and exchange.client_id == CLIENT_ID
    assert pkce_challenge(exchange.form["code_verifier"]) == authorization.query["code_challenge"]
    assert exchange.form["redirect_uri"] == REDIRECT and exchange.form["code"] == authorization.code
    assert "client_secret" not in exchange.form
    assert exchange.id_token == answer["id_token"] == provider.issued[-1].compact


def test_the_code_is_single_use(provider):
    verifier = new_verifier()
    _, _, query, _, _ = authorize(provider, verifier)
    assert redeem(provider, query["code"], verifier)[0] == 200
    status, answer = redeem(provider, query["code"], verifier)
    assert (status, answer["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize("change, error", [
    ({"verifier": "wrong" * 10}, "invalid_grant"),
    ({"verifier": ""}, "invalid_grant"),
    ({"redirect_uri": "http://127.0.0.1:9/elsewhere"}, "invalid_grant"),
    ({"auth": ("other-client", "other secret")}, "invalid_grant"),
    ({"auth": (CLIENT_ID, "wrong secret")}, "invalid_client"),
    ({"auth": None}, "invalid_client"),
    ({"auth": None, "extra": {"client_id": CLIENT_ID, "client_secret": SECRET}}, "invalid_client"),
    ({"extra": {"client_secret": SECRET}}, "invalid_request"),
    ({"extra": {"grant_type": "client_credentials"}}, "unsupported_grant_type"),
])
def test_token_refusals(provider, change, error):
    verifier = new_verifier()
    _, _, query, _, _ = authorize(provider, verifier)
    status, answer = redeem(provider, query["code"], change.get("verifier", verifier), redirect_uri=change.get("redirect_uri", REDIRECT),
                            auth=change.get("auth", (CLIENT_ID, SECRET)), extra=change.get("extra"))
    assert answer["error"] == error, answer
    assert status == (401 if error == "invalid_client" else 400)
    assert "id_token" not in answer and provider.token_requests[-1].error == error
    if change.get("auth", 1) is None and "client_secret" in change.get("extra", {}):
        assert provider.token_requests[-1].client_auth == "client_secret_post"


def test_authorize_refusals(provider):
    # Not redirected: an unknown client, a redirect_uri not registered for it.
    assert authorize(provider, client_id="nobody")[0] == 400
    assert authorize(provider, redirect_uri="http://127.0.0.1:9/evil")[0] == 400
    assert authorize(provider, redirect_uri="http://127.0.0.1:9/v1/account/oauth/other/callback")[0] == 400
    # Redirected with an error and the state.
    for overrides, error in [({"code_challenge_method": "plain"}, "invalid_request"), ({"code_challenge_method": None}, "invalid_request"),
                             ({"code_challenge": None}, "invalid_request"), ({"response_type": "token"}, "unsupported_response_type"),
                             ({"scope": "email profile"}, "invalid_scope")]:
        status, location, query, state, _ = authorize(provider, **overrides)
        assert status == 302 and location.startswith(REDIRECT + "?"), location
        assert query["error"] == error and query["state"] == state and "code" not in query, (overrides, query)
    assert [a.outcome for a in provider.authorizations] == ["unknown client", "unregistered redirect_uri", "unregistered redirect_uri",
                                                           "invalid_request", "invalid_request", "invalid_request",
                                                           "unsupported_response_type", "invalid_scope"]


def test_es256(provider):
    provider.alg = "ES256"
    answer, nonce = sign_in(provider)
    token = verify(provider, answer["id_token"], nonce)
    assert token.header["alg"] == "ES256" and token.header["kid"] == "ec-1"


def test_wrong_audience(provider):
    provider.audience = "someone-else"
    answer, nonce = sign_in(provider)
    token = jwt.decode(answer["id_token"], KeySet.import_key_set(published_keys(provider)), algorithms=["RS256", "ES256"])
    assert token.claims["aud"] == "someone-else"
    with pytest.raises(errors.InvalidClaimError):
        verify(provider, answer["id_token"], nonce)
    provider.audience, provider.azp = [CLIENT_ID, "another"], CLIENT_ID
    answer, nonce = sign_in(provider)
    claims = verify(provider, answer["id_token"], nonce).claims
    assert (claims["aud"], claims["azp"]) == ([CLIENT_ID, "another"], CLIENT_ID)


def test_expired(provider):
    provider.expired = True
    answer, nonce = sign_in(provider)
    with pytest.raises(errors.ExpiredTokenError):
        verify(provider, answer["id_token"], nonce)
    claims = provider.issued[-1].claims
    now = time.time()
    assert abs(claims["exp"] - (now - 600)) < 5 and claims["iat"] < claims["exp"]


def test_bad_signature(provider):
    for alg, kid in [("RS256", "rsa-1"), ("ES256", "ec-1")]:
        provider.alg, provider.bad_signature = alg, True
        answer, nonce = sign_in(provider)
        header = json.loads(base64.urlsafe_b64decode(answer["id_token"].split(".")[0] + "=="))
        assert (header["alg"], header["kid"]) == (alg, kid)
        assert kid in {k["kid"] for k in published_keys(provider)["keys"]}
        with pytest.raises(errors.BadSignatureError):
            verify(provider, answer["id_token"], nonce)
    provider.reset_knobs()
    answer, nonce = sign_in(provider)
    verify(provider, answer["id_token"], nonce)


def test_unknown_kid_then_published(provider):
    assert provider.jwks_fetches == 0
    kid = provider.use_unpublished_key()
    assert kid not in {"rsa-1", "ec-1"}
    answer, nonce = sign_in(provider)
    assert json.loads(base64.urlsafe_b64decode(answer["id_token"].split(".")[0] + "=="))["kid"] == kid
    assert kid not in {k["kid"] for k in published_keys(provider)["keys"]}
    with pytest.raises(errors.InvalidKeyIdError):  # no key with that kid in the set
        verify(provider, answer["id_token"], nonce)
    provider.publish_pending_key()
    assert [k["kid"] for k in published_keys(provider)["keys"]] == ["rsa-1", "ec-1", kid]
    verify(provider, answer["id_token"], nonce)  # the same token, now verifiable
    answer, nonce = sign_in(provider)  # and it goes on signing
    assert verify(provider, answer["id_token"], nonce).header["kid"] == kid
    assert provider.jwks_fetches == 5  # every GET /jwks is counted


def test_wrong_nonce(provider):
    provider.nonce = "not-the-one-sent"
    answer, nonce = sign_in(provider)
    assert provider.issued[-1].claims["nonce"] == "not-the-one-sent" != nonce
    with pytest.raises(errors.InvalidClaimError):
        verify(provider, answer["id_token"], nonce)


def test_email_verified_false_and_missing(provider):
    provider.sign_in_as(sub="1002", email="unverified@example.com", email_verified=False)
    answer, nonce = sign_in(provider)
    claims = verify(provider, answer["id_token"], nonce).claims
    assert (claims["sub"], claims["email"], claims["email_verified"]) == ("1002", "unverified@example.com", False)
    assert "name" not in claims
    provider.sign_in_as(sub="1003", email="missing@example.com", email_verified=None)
    answer, nonce = sign_in(provider)
    assert "email_verified" not in verify(provider, answer["id_token"], nonce).claims


def test_claims_override(provider):
    provider.claims_override = {"iss": "https://evil.example", "name": None}
    answer, nonce = sign_in(provider)
    claims = provider.issued[-1].claims
    assert claims["iss"] == "https://evil.example" and "name" not in claims
    with pytest.raises(errors.InvalidClaimError):
        verify(provider, answer["id_token"], nonce)


@pytest.mark.parametrize("kind", ["none", "HS256"])
def test_forged_tokens(provider, kind):
    provider.forge = kind
    answer, nonce = sign_in(provider)
    header = json.loads(base64.urlsafe_b64decode(answer["id_token"].split(".")[0] + "=="))
    assert header["alg"] == kind
    claims = json.loads(base64.urlsafe_b64decode(answer["id_token"].split(".")[1] + "=="))
    assert claims["nonce"] == nonce and claims["aud"] == CLIENT_ID
    with pytest.raises(errors.JoseError):
        verify(provider, answer["id_token"], nonce)
    if kind == "HS256":  # it is a real HMAC under the public key's PEM
        import hmac, hashlib
        signing_input, _, signature = answer["id_token"].rpartition(".")
        mac = hmac.new(provider.rsa.as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()
        assert base64.urlsafe_b64encode(mac).rstrip(b"=").decode() == signature
    else:
        assert answer["id_token"].endswith(".")


def test_request_log(provider):
    sign_in(provider)
    published_keys(provider)
    http("GET", f"{provider.base}/nothing")
    assert [(c.method, c.path, c.answered) for c in provider.requests()] == [
        ("GET", "/authorize", 302), ("POST", "/token", 200), ("GET", "/jwks", 200), ("GET", "/nothing", 404)]
    assert provider.jwks_fetches == 1
    assert provider.requests("/token")[0].headers["authorization"].startswith("Basic ")

"""A local OpenID Connect provider for the integration tests: Python's http.server on a loopback
port, in a thread, standing in for accounts.google.com and the like (`serve
--oidc-providers-file` with `"issuer": provider.issuer`). Its ID tokens are signed, and its
JWKS published, with the `joserfc` package (https://pypi.org/project/joserfc/, `make
test-deps` installs it), so the daemon is tested against what a real JOSE library makes.

    provider = OIDCProvider()
    provider.register_client("tenantry", "client secret", redirect_uris=[daemon.url("/v1/account/oauth/idp/callback")])
    provider.sign_in_as(sub="248289761001", email="jane@example.com", email_verified=True, name="Jane Doe")
    ...                                    # a browser follows the daemon's login URL to /authorize
    [authorization] = provider.authorizations         # what the daemon asked for (PKCE, nonce, …)
    [exchange] = provider.token_requests               # how it redeemed the code (client auth, verifier)
    provider.jwks_fetches                               # how many times /jwks was read

What it serves, as an OpenID provider does (OpenID Connect Core 1.0, RFC 6749, RFC 7636):

- `GET /.well-known/openid-configuration`: issuer (= its base URL, no trailing slash),
  authorization_endpoint, token_endpoint, jwks_uri, id_token_signing_alg_values_supported
  [RS256, ES256], code_challenge_methods_supported [S256], token_endpoint_auth_methods_supported
  [client_secret_basic], …
- `GET /jwks`: the public keys, an RSA 2048 key (kid `rsa-1`) and an EC P-256 key (kid `ec-1`).
- `GET /authorize`: no UI, the user set by `sign_in_as` is logged in at once. An unknown
  client_id or a redirect_uri not registered for it is answered 400 (no redirect, RFC 6749
  4.1.2.1); otherwise an error goes back to redirect_uri as `?error=…&state=…`: response_type
  other than `code`, a scope without `openid`, a missing code_challenge or a method other than
  S256. Success: 302 to `redirect_uri?code=…&state=…`.
- `POST /token`: client_secret_basic only (a Basic header; a client_secret in the form as well
  is `invalid_request`, without the header `invalid_client` 401), grant_type
  authorization_code, the code single-use (a second try is `invalid_grant`), bound to its
  client and redirect_uri, 10 minutes; PKCE: BASE64URL(SHA-256(code_verifier)) must be the
  code_challenge. Answers {access_token, token_type, expires_in, id_token} with no-store.

The ID token has iss, sub, aud = client_id, exp (an hour), iat, nonce (the authorize
request's), email, email_verified, name (and auth_time), signed RS256 by the published RSA key
by default. The knobs, read when the code is redeemed, set what the next ID tokens are like:

    provider.alg = "ES256"                  # signed by the published EC key
    provider.audience = "someone-else"      # or a list; provider.azp = "…" adds azp
    provider.expired = True                 # exp 10 minutes in the past (iat an hour before it)
    provider.bad_signature = True           # signed by a key not in the JWKS, with a published kid
    kid = provider.use_unpublished_key()    # signed by a new key (new kid) not yet in the JWKS …
    provider.publish_pending_key()          # … until this puts it there
    provider.nonce = "not-the-one-sent"     # instead of the authorize request's nonce
    provider.sign_in_as(..., email_verified=False)
    provider.claims_override = {"iss": "https://evil.example"}   # set (None: remove) any claim last
    provider.forge = "none"                 # alg none, unsigned; "HS256": HMAC keyed with the RSA public PEM
    provider.reset_knobs()
"""
import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Optional

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from loopback_http import LoopbackServer

__all__ = ["OIDCProvider", "User", "Call", "Authorization", "TokenRequest", "IssuedToken",
           "pkce_challenge", "new_verifier", "basic_authorization", "decode_fragment"]

CODE_LIFETIME = 600
ID_TOKEN_LIFETIME = 3600
ALGORITHMS = ("RS256", "ES256")
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 4.1
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # BASE64URL of a SHA-256, no padding


def _b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pkce_challenge(verifier):
    """The S256 code_challenge of VERIFIER (RFC 7636 4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_verifier():
    return _b64url(secrets.token_bytes(48))  # 64 characters


def basic_authorization(client_id, client_secret):
    """The client_secret_basic header value: both parts form-urlencoded first (RFC 6749 2.3.1)."""
    pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def decode_fragment(url):
    """The parameters of URL's fragment (`#oauth_ticket=…` or `#oauth_error=…`) as a dict."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).fragment, keep_blank_values=True))


def _rsa(kid):
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True)


def _ec(kid):
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"}, private=True)


def _new_key(alg, kid):
    if alg == "RS256":
        return _rsa(kid)
    if alg == "ES256":
        return _ec(kid)
    raise ValueError(f"unsupported alg {alg!r}")


@dataclass
class User:
    sub: str
    email: Optional[str]
    email_verified: Optional[bool] = True  # None: the claim is left out
    name: Optional[str] = None


@dataclass
class Call:
    """One HTTP request the provider got."""
    method: str
    path: str  # without the query
    query: dict
    headers: dict  # lower-case names
    body: bytes
    answered: Optional[int] = None


@dataclass
class Authorization:
    """One GET /authorize, as the browser brought it (the daemon's parameters)."""
    query: dict  # the parameters (last of each name)
    pairs: list  # in order, repeats kept
    raw_query: str
    outcome: str = ""  # "code" or the error
    code: Optional[str] = None


@dataclass
class TokenRequest:
    """One POST /token: how the daemon redeemed the code."""
    headers: dict
    form: dict
    pairs: list
    client_auth: Optional[str] = None  # "client_secret_basic", "client_secret_post", None
    client_id: Optional[str] = None  # the authenticated client
    status: int = 0
    error: Optional[str] = None
    id_token: Optional[str] = None


@dataclass
class IssuedToken:
    """An ID token the provider answered, with what it was made of."""
    compact: str
    header: dict
    claims: dict


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: Optional[str]
    user: User
    scope: str
    issued: float
    used: bool = False


@dataclass
class _Client:
    client_id: str
    secret: str
    redirect_uris: set = field(default_factory=set)


class OIDCProvider:
    def __init__(self):
        self.lock = threading.Lock()
        self.rsa = _rsa("rsa-1")
        self.ec = _ec("ec-1")
        self.published = [self.rsa, self.ec]
        self.pending = None  # a key that signs but is not in the JWKS yet
        self.clients = {}
        self.codes = {}
        self.user = None
        self.calls = []
        self.authorizations = []
        self.token_requests = []
        self.issued = []
        self.reset_knobs()
        self.http = LoopbackServer(self._respond, name="oidc-provider")
        self.port = self.http.port
        self.base = self.http.base
        self.issuer = self.base

    def _respond(self, method, target, headers, body):
        split = urllib.parse.urlsplit(target)
        call = Call(method, split.path, dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)), headers, body)
        try:
            status, answer_headers, raw = self.answer(call, split.query)
        except Exception as error:  # a bug of the fake must show, not hang the daemon
            status, answer_headers, raw = 500, {"Content-Type": "text/plain"}, f"fake provider failed: {error!r}".encode()
        call.answered = status
        with self.lock:
            self.calls.append(call)
        return status, answer_headers, raw

    # -- set-up

    def register_client(self, client_id, client_secret, redirect_uris=()):
        with self.lock:
            client = self.clients.setdefault(client_id, _Client(client_id, client_secret))
            client.secret = client_secret
            client.redirect_uris.update(redirect_uris)
        return client

    def sign_in_as(self, sub, email, email_verified=True, name=None):
        """The user /authorize logs in from now on."""
        self.user = User(sub=sub, email=email, email_verified=email_verified, name=name)
        return self.user

    def reset_knobs(self):
        self.alg = "RS256"
        self.audience = None  # None: the client_id
        self.azp = None
        self.expired = False
        self.bad_signature = False
        self.nonce = None  # None: the authorize request's
        self.signing_kid = None  # None: the published key of self.alg
        self.claims_override = {}
        self.forge = None  # "none": an unsigned token; "HS256": HMAC keyed with the RSA public key's PEM

    def use_unpublished_key(self, alg="RS256"):
        """From now on, ID tokens are signed by a new key whose kid is not in the JWKS (yet)."""
        with self.lock:
            kid = f"{'rsa' if alg == 'RS256' else 'ec'}-{secrets.token_hex(4)}"
            self.pending = _new_key(alg, kid)
            self.alg = alg
            self.signing_kid = kid
        return kid

    def publish_pending_key(self):
        """Puts the key of use_unpublished_key() in the JWKS (a key rotation); it goes on signing."""
        with self.lock:
            assert self.pending is not None, "no pending key: call use_unpublished_key() first"
            self.published.append(self.pending)
            self.pending = None

    def jwks(self):
        """The published JWKS, public parts only."""
        with self.lock:
            return KeySet(list(self.published)).as_dict(private=False)

    # -- what it saw

    def requests(self, path=None, method=None):
        with self.lock:
            return [c for c in self.calls if (path is None or c.path == path) and (method is None or c.method == method)]

    @property
    def jwks_fetches(self):
        return len(self.requests("/jwks", "GET"))

    @property
    def discovery_fetches(self):
        return len(self.requests("/.well-known/openid-configuration", "GET"))

    def stop(self):
        self.http.stop()

    # -- the provider's behaviour

    def discovery(self):
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "jwks_uri": f"{self.base}/jwks",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(ALGORITHMS),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "scopes_supported": ["openid", "email", "profile"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "email", "email_verified", "name"],
        }

    def answer(self, call, raw_query):
        if call.method == "GET" and call.path == "/.well-known/openid-configuration":
            return _json(200, self.discovery())
        if call.method == "GET" and call.path == "/jwks":
            return _json(200, self.jwks(), content_type="application/jwk-set+json")
        if call.method == "GET" and call.path == "/authorize":
            return self.authorize(raw_query)
        if call.path == "/token":
            if call.method != "POST":
                return _json(405, {"error": "invalid_request", "error_description": "the token endpoint takes POST"}, Allow="POST")
            return self.token(call)
        return _json(404, {"error": "not_found", "error_description": f"{call.method} {call.path}"})

    def authorize(self, raw_query):
        pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        query = dict(pairs)
        record = Authorization(query=query, pairs=pairs, raw_query=raw_query)
        with self.lock:
            self.authorizations.append(record)
        client = self.clients.get(query.get("client_id", ""))
        redirect_uri = query.get("redirect_uri", "")
        if client is None:
            record.outcome = "unknown client"
            return _text(400, f"unknown client_id {query.get('client_id')!r}")
        if redirect_uri not in client.redirect_uris:
            record.outcome = "unregistered redirect_uri"
            return _text(400, f"redirect_uri {redirect_uri!r} is not registered for {client.client_id}")
        if len([p for p in pairs if p[0] in ("client_id", "redirect_uri", "state", "code_challenge", "nonce")]) != \
                len({p[0] for p in pairs if p[0] in ("client_id", "redirect_uri", "state", "code_challenge", "nonce")}):
            return self.authorize_error(record, redirect_uri, query, "invalid_request", "a parameter is repeated")
        if query.get("response_type") != "code":
            return self.authorize_error(record, redirect_uri, query, "unsupported_response_type", "response_type must be code")
        if "openid" not in query.get("scope", "").split(" "):
            return self.authorize_error(record, redirect_uri, query, "invalid_scope", "scope must contain openid")
        if query.get("code_challenge_method") != "S256":
            return self.authorize_error(record, redirect_uri, query, "invalid_request", "code_challenge_method must be S256")
        if not _CHALLENGE.match(query.get("code_challenge", "")):
            return self.authorize_error(record, redirect_uri, query, "invalid_request", "code_challenge is missing or malformed")
        if self.user is None:
            return self.authorize_error(record, redirect_uri, query, "login_required", "the test signed nobody in (sign_in_as)")
        code = secrets.token_urlsafe(32)
        with self.lock:
            self.codes[code] = _Code(client.client_id, redirect_uri, query["code_challenge"], query.get("nonce"),
                                     self.user, query.get("scope", ""), time.time())
        record.outcome, record.code = "code", code
        answer = {"code": code}
        if "state" in query:
            answer["state"] = query["state"]
        return 302, {"Location": _with_query(redirect_uri, answer), "Cache-Control": "no-store"}, b""

    def authorize_error(self, record, redirect_uri, query, error, description):
        record.outcome = error
        answer = {"error": error, "error_description": description}
        if "state" in query:
            answer["state"] = query["state"]
        return 302, {"Location": _with_query(redirect_uri, answer), "Cache-Control": "no-store"}, b""

    def token(self, call):
        text = call.body.decode("utf-8", errors="replace")
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
        form = dict(pairs)
        record = TokenRequest(headers=call.headers, form=form, pairs=pairs)
        with self.lock:
            self.token_requests.append(record)

        def refuse(status, error, description, **headers):
            record.status, record.error = status, error
            return _json(status, {"error": error, "error_description": description}, **headers)

        if not call.headers.get("content-type", "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            return refuse(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
        if len(pairs) != len(form):
            return refuse(400, "invalid_request", "a parameter is repeated")
        header = call.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            record.client_auth = "client_secret_basic"
            if "client_secret" in form:
                return refuse(400, "invalid_request", "more than one client authentication method")
            try:
                client_id, _, secret = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
                client_id, secret = urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)
            except (ValueError, UnicodeDecodeError):
                return refuse(401, "invalid_client", "malformed Basic credentials", **{"WWW-Authenticate": 'Basic realm="oidc"'})
            client = self.clients.get(client_id)
            if client is None or not secrets.compare_digest(client.secret.encode(), secret.encode()):
                return refuse(401, "invalid_client", "client authentication failed", **{"WWW-Authenticate": 'Basic realm="oidc"'})
            if form.get("client_id", client_id) != client_id:
                return refuse(400, "invalid_request", "client_id differs from the authenticated client")
        else:
            record.client_auth = "client_secret_post" if "client_secret" in form else None
            return refuse(401, "invalid_client", "client_secret_basic is required", **{"WWW-Authenticate": 'Basic realm="oidc"'})
        record.client_id = client.client_id
        if form.get("grant_type") != "authorization_code":
            return refuse(400, "unsupported_grant_type", "grant_type must be authorization_code")
        with self.lock:
            grant = self.codes.get(form.get("code", ""))
            first_use = grant is not None and not grant.used
            if grant is not None:
                grant.used = True  # single use: any redemption by its client spends it
        if grant is None or not first_use:
            return refuse(400, "invalid_grant", "the code is unknown or was used already")
        if grant.client_id != client.client_id:
            return refuse(400, "invalid_grant", "the code was issued to another client")
        if time.time() - grant.issued > CODE_LIFETIME:
            return refuse(400, "invalid_grant", "the code expired")
        if form.get("redirect_uri") != grant.redirect_uri:
            return refuse(400, "invalid_grant", "redirect_uri differs from the authorization request's")
        verifier = form.get("code_verifier", "")
        if not _VERIFIER.match(verifier):
            return refuse(400, "invalid_grant", "code_verifier is missing or malformed")
        if pkce_challenge(verifier) != grant.challenge:
            return refuse(400, "invalid_grant", "code_verifier does not match the code_challenge")
        issued = self.id_token(grant)
        record.status, record.id_token = 200, issued.compact
        return _json(200, {"access_token": secrets.token_urlsafe(32), "token_type": "Bearer", "expires_in": 3600,
                           "scope": grant.scope, "id_token": issued.compact}, Pragma="no-cache")

    def id_token(self, grant):
        now = int(time.time())
        user = grant.user
        exp = now - 600 if self.expired else now + ID_TOKEN_LIFETIME
        iat = exp - ID_TOKEN_LIFETIME if self.expired else now
        claims = {"iss": self.issuer, "sub": user.sub,
                  "aud": grant.client_id if self.audience is None else self.audience,
                  "exp": exp, "iat": iat, "auth_time": iat}
        if self.azp is not None:
            claims["azp"] = self.azp
        nonce = grant.nonce if self.nonce is None else self.nonce
        if nonce is not None:
            claims["nonce"] = nonce
        if user.email is not None:
            claims["email"] = user.email
        if user.email_verified is not None:
            claims["email_verified"] = user.email_verified
        if user.name is not None:
            claims["name"] = user.name
        for name, value in self.claims_override.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = self.signing_key()
        header = {"alg": self.alg, "kid": key.kid, "typ": "JWT"}
        if self.forge:
            compact, header = _forged(self.forge, claims, self.rsa)
            issued = IssuedToken(compact, header, claims)
            with self.lock:
                self.issued.append(issued)
            return issued
        if self.bad_signature:
            key = _new_key(self.alg, key.kid)  # same kid as a published key, not its private part
        compact = jwt.encode(header, claims, key, algorithms=list(ALGORITHMS))
        issued = IssuedToken(compact, header, claims)
        with self.lock:
            self.issued.append(issued)
        return issued

    def signing_key(self):
        with self.lock:
            candidates = list(self.published) + ([self.pending] if self.pending else [])
        if self.signing_kid is not None:
            [key] = [k for k in candidates if k.kid == self.signing_kid]
            return key
        kty = "RSA" if self.alg == "RS256" else "EC"
        return next(k for k in candidates if k.key_type == kty)


def _forged(kind, claims, rsa):
    """What no JOSE library makes on purpose: alg none, or HS256 keyed with a public key."""
    def part(value):
        return _b64url(json.dumps(value, separators=(",", ":")).encode())
    if kind == "none":
        header = {"alg": "none", "typ": "JWT"}
        return f"{part(header)}.{part(claims)}.", header
    if kind == "HS256":
        header = {"alg": "HS256", "kid": rsa.kid, "typ": "JWT"}
        signing_input = f"{part(header)}.{part(claims)}"
        mac = hmac.new(rsa.as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(mac)}", header
    raise ValueError(f"unknown forgery {kind!r}")


def _with_query(url, params):
    split = urllib.parse.urlsplit(url)
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return urllib.parse.urlunsplit(split._replace(query=f"{split.query}&{query}" if split.query else query))


def _json(status, body, content_type="application/json", **headers):
    return status, {"Content-Type": content_type, "Cache-Control": "no-store", **headers}, json.dumps(body).encode()


def _text(status, text):
    return status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()

"""Signing in, in headless Chromium against the real daemon: the second factor of operators
and OpenID Connect providers, on the sign-in card the console and the portal share.

(a) An operator sets up two-factor on the console's Security page (the secret read from the
page, codes computed with pyotp), sees the QR code and the ten recovery codes once; signing in
then asks for a code (a wrong one is refused as text, the right one and a recovery code sign
in); they turn it off with a code; another operator resets it from the users page (a second
reset shows the API's message).

(b) A daemon with `--oidc-providers-file` naming the local provider of
Tests/integration/oidc_provider.py (one entry with a hostile display_name): the portal's card
shows "Sign in with …" links; one goes through the provider and lands signed in (a new user with
a personal tenant); an unverified email lands with the error as text; a password user links and
unlinks a provider on the portal's Account page; a non-operator signing in through a provider on
the console is refused. Desktop and phone widths.

Run with: TENANTRYD=… python3 -m pytest -q Tests/console/test_sign_in.py
"""
import json
import re
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pyotp
import pytest

from conftest import operator
from tenantry_console import PHONE, WIDE, XSS, assert_shown_as_text, console_session
from test_portal import PASSWORD, portal_session, sign_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from oidc_provider import OIDCProvider  # noqa: E402

RECOVERY = re.compile(r"^[A-Za-z0-9]{5}-[A-Za-z0-9]{5}$")
SIZES = pytest.mark.parametrize("size", [WIDE, PHONE], ids=["desktop", "phone"])


def unique(prefix):
    return f"{prefix}.{uuid.uuid4().hex[:8]}@example.com"


# ---------------------------------------------------------------------------------------------
# (a) Two-factor authentication of operators


@pytest.fixture(scope="module")
def mfa_backend(make_backend):
    """A daemon of its own: the suite's operator keeps signing in with a password alone."""
    return make_backend()


def password_step(view, email, password):
    view.fill("#login-email", email)
    view.fill("#login-password", password)
    view.click("#login-submit")


def code_step(view, code):
    view.fill("#mfa-code", code)
    view.click("#mfa-submit")


def next_code(secret):
    """A code the daemon has not seen: the next 30-s step's (one step either side is accepted)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


@SIZES
def test_operator_sets_up_signs_in_with_and_loses_two_factor(chrome, mfa_backend, size):
    b = mfa_backend
    email, password = operator(b.db, unique("mfa.ops"), "mfa operator password")
    with console_session(chrome, b.daemon) as view:
        view.allow_failed_request(r"/v1/user/2fa/confirm", 400)
        view.allow_failed_request(r"/v1/account/login/2fa", 401)
        view.allow_failed_request(r"/v1/admin/users/[^/]+/2fa", 400)
        chrome.set_window_size(*size)
        view.load("#/security")
        assert view.on_login_page()
        password_step(view, email, password)
        view.wait_logged_in()
        assert view.h1() == "Security"
        assert view.text("#tfa-status .badge") == "off"

        # Set up: the QR code (SVG rects) and the secret as text; a wrong code, then the right one.
        view.click("#tfa-enroll")
        secret = view.visible("#tfa-secret").text.strip()
        assert re.fullmatch(r"[A-Z2-7]{16,}=*", secret), secret
        modules = int(view.find("svg.qr").get_attribute("data-modules"))
        assert modules >= 21 and (modules - 17) % 4 == 0, modules
        assert len(view.finds("svg.qr .qr-dark rect")) > modules
        view.screenshot(f"console-2fa-set-up-{size[0]}")
        view.fill("#tfa-confirm-code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        view.click("#tfa-confirm")
        view.wait_text("#tfa-confirm-notice", r".")
        view.fill("#tfa-confirm-code", pyotp.TOTP(secret).now())
        view.click("#tfa-confirm")
        view.visible("#recovery-codes")
        codes = [li.text for li in view.finds("#recovery-codes li")]
        assert len(codes) == 10 and len(set(codes)) == 10, codes
        assert all(RECOVERY.match(c) for c in codes), codes
        assert "not shown again" in view.text("#recovery-note")
        assert view.text("#tfa-status .badge") == "on"
        assert view.horizontal_overflow() <= 0
        view.screenshot(f"console-2fa-recovery-codes-{size[0]}")
        with view.navigation():
            view.click("#tfa-done")
        assert view.text("#tfa-status .badge") == "on" and view.text("#tfa-recovery-left") == "10"
        assert not view.finds("#recovery-codes")

        # Sign out, sign in: the code step; a wrong code is said as text; the next step's code works.
        view.click("#logout")
        view.wait(lambda d: view.on_login_page())
        password_step(view, email, password)
        view.visible("#mfa-code")
        assert not view.find("#login-form").is_displayed()
        assert "recovery code" in view.text("#mfa-hint")
        assert view.horizontal_overflow() <= 0
        view.screenshot(f"sign-in-code-step-{size[0]}")
        code_step(view, "000000" if next_code(secret) != "000000" else "111111")
        message = view.wait_text("#login-message", r"\S")
        assert view.on_login_page() and view.find("#mfa-code").is_displayed(), message
        code_step(view, next_code(secret))
        view.wait_logged_in()
        assert view.token()

        # A recovery code signs in too, once.
        view.click("#logout")
        view.wait(lambda d: view.on_login_page())
        password_step(view, email, password)
        code_step(view, codes[0])
        view.wait_logged_in()
        view.go("#/security")
        assert view.text("#tfa-recovery-left") == "9"

        # Turn it off with a (recovery) code; the password alone signs in again.
        view.fill("#tfa-disable-code", codes[1])
        with view.navigation():
            view.click("#tfa-disable")
        assert "is off" in view.text("#security-notice")
        assert view.text("#tfa-status .badge") == "off"
        assert b.daemon.login(email, password)

        # On again (by the API), then another operator resets it from the users page.
        token = b.daemon.login(email, password)
        enrolled = b.call("POST", "/v1/user/2fa/enroll", {}, token=token)
        b.call("POST", "/v1/user/2fa/confirm", {"code": pyotp.TOTP(enrolled["secret"]).now()}, token=token)
        assert b.daemon.request("POST", "/v1/account/login", {"email": email, "password": password})[2]["mfa_required"] is True
        user_id = b.call("GET", f"/v1/admin/users?q={quote(email)}")["users"][0]["id"]
        view.login_operator(b, f"#/users?q={quote(email)}")
        with view.navigation():
            view.click(f'button[data-reset-2fa="{user_id}"]')
            view.confirm(r"Reset two-factor for " + re.escape(email))
        assert "is reset" in view.text("#users-notice")
        answer = b.daemon.request("POST", "/v1/account/login", {"email": email, "password": password})[2]
        assert answer["mfa_required"] is False and answer["token"], answer
        assert b.call("GET", "/v1/user/2fa", token=answer["token"])["enabled"] is False
        # Reset again: they have none, and the API's message says so.
        view.click(f'button[data-reset-2fa="{user_id}"]')
        view.confirm(r"Reset two-factor")
        status, _, refusal = b.daemon.request("DELETE", f"/v1/admin/users/{user_id}/2fa", token=b.op)
        assert (status, refusal["code"]) == (400, 3), (status, refusal)
        assert view.wait_text("#users-notice", re.escape(refusal["message"]))
        chrome.set_window_size(*WIDE)


# ---------------------------------------------------------------------------------------------
# (b) OpenID Connect in a real browser

IDP = ("idp", "tenantry-idp.apps.example", "idp-client-secret_0123456789ab", "Test IdP")
HOSTILE = ("evil", "tenantry-evil.apps.example", "evil-client-secret_0123456789ab", XSS)


@pytest.fixture(scope="module")
def oidc(make_backend, tmp_path_factory):
    """A daemon whose providers file names the local OpenID provider twice (one hostile name)."""
    directory = tmp_path_factory.mktemp("oidc")
    provider = OIDCProvider()
    entries = []
    for name, client_id, secret, display in (IDP, HOSTILE):
        secret_file = directory / f"{name}-client-secret"
        secret_file.write_text(secret + "\n")
        secret_file.chmod(0o600)
        entries.append({"name": name, "display_name": display, "issuer": provider.issuer, "client_id": client_id,
                        "client_secret_file": str(secret_file), "scopes": ["openid", "email", "profile"]})
    providers_file = directory / "oidc-providers.json"
    providers_file.write_text(json.dumps({"providers": entries}))
    backend = make_backend(args=["--oidc-providers-file", str(providers_file)])
    for name, client_id, secret, _ in (IDP, HOSTILE):
        provider.register_client(client_id, secret, [backend.daemon.url(f"/v1/account/oauth/{name}/callback")])
    backend.provider = provider
    yield backend
    provider.stop()


@contextmanager
def sized(chrome, backend, size):
    with portal_session(chrome, backend) as view:
        chrome.set_window_size(*size)
        yield view


def provider_user(backend, prefix, verified=True):
    """The email of a new person the local provider signs in from now on."""
    email = unique(prefix)
    backend.provider.sign_in_as(sub=f"sub-{uuid.uuid4().hex[:8]}", email=email, email_verified=verified)
    return email


def fits_as_text(view, where):
    """The page fits the window and its hostile strings stayed text."""
    assert view.horizontal_overflow() <= 0, where
    assert_shown_as_text(view, where)


def portal_card(view, backend):
    """The portal's sign-in card, freshly loaded."""
    view.driver.get(backend.daemon.url("/portal"))
    view.wait_ready()
    assert view.on_login_page()


def provider_button(view, name):
    return view.visible(f'#oauth-providers a.oauth-provider[data-provider="{name}"]')


def users_with(backend, email):
    return [u for u in backend.call("GET", f"/v1/admin/users?q={quote(email)}")["users"] if u["email"] == email]


@SIZES
def test_portal_signs_in_through_a_provider(chrome, oidc, size):
    b = oidc
    email = provider_user(b, "oidc.new")
    with sized(chrome, b, size) as view:
        view.allow_failed_request(r"/v1/user/identities/idp", 400)
        portal_card(view, b)
        buttons = view.finds("#oauth-providers a.oauth-provider")
        assert [a.text for a in buttons] == ["Sign in with Test IdP", f"Sign in with {XSS}"]
        href = provider_button(view, "idp").get_attribute("href")
        assert href.endswith("/v1/account/oauth/idp/login?redirect_to=%2Fportal"), href
        fits_as_text(view, "the sign-in card")
        view.screenshot(f"portal-sign-in-providers-{size[0]}")

        provider_button(view, "idp").click()
        view.wait_logged_in(timeout=20)
        assert view.h1() == "Overview"
        assert "oauth_ticket" not in view.driver.current_url and view.driver.current_url.endswith("/portal#/"), view.driver.current_url
        assert view.text("#whoami") == email
        [user] = users_with(b, email)
        assert user["status"] == "UNINITIALIZED"
        token = view.driver.execute_script("return sessionStorage.getItem('tenantry.portal.token');")
        tenant = b.call("GET", "/v1/user/tenants/current", token=token)["tenant"]
        assert view.text("#tenant-name") == tenant["name"]

        # Its only way to sign in cannot be unlinked: the API's message shows.
        view.go("#/account")
        assert [li.get_attribute("data-provider") for li in view.finds("#identities li")] == ["idp", "evil"]
        view.click('.unlink-provider[data-provider="idp"]')
        view.confirm(r"Unlink Test IdP")
        status, _, refusal = b.daemon.request("DELETE", "/v1/user/identities/idp", token=token)
        assert (status, refusal["code"]) == (400, 3), refusal
        view.wait_text("#account-notice", re.escape(refusal["message"]))
        fits_as_text(view, "the account page")


@SIZES
def test_an_unverified_email_lands_with_the_error_as_text(chrome, oidc, size):
    b = oidc
    email = provider_user(b, "oidc.unverified", verified=False)
    with sized(chrome, b, size) as view:
        portal_card(view, b)
        provider_button(view, "evil").click()
        message = view.wait_text("#login-message", r"\S", timeout=20)
        assert view.on_login_page()
        assert "oauth_error" not in view.driver.current_url, view.driver.current_url
        assert "%" not in message and "verif" in message.lower(), message
        assert not view.driver.execute_script("return sessionStorage.getItem('tenantry.portal.token');")
        assert users_with(b, email) == []
        fits_as_text(view, "the refused sign-in")


@SIZES
def test_a_password_user_links_and_unlinks_a_provider(chrome, oidc, size):
    b = oidc
    email = unique("linker")
    token, _ = b.sign_up(email)
    provider_email = unique("linked.at.idp")
    subject = f"sub-{uuid.uuid4().hex[:8]}"
    b.provider.sign_in_as(sub=subject, email=provider_email, email_verified=True)
    with sized(chrome, b, size) as view:
        sign_in(view, b, email, PASSWORD, "#/account")
        assert view.h1() == "Account"
        assert "Not linked" in view.text('#identities li[data-provider="idp"]')
        view.click('.link-provider[data-provider="idp"]')
        view.wait(lambda d: "oauth" not in d.current_url and d.current_url.endswith("/portal#/account"), 20,
                  "did not come back to the account page")
        view.wait_ready()
        assert view.h1() == "Account"
        view.wait_text('#identities li[data-provider="idp"]', re.escape(provider_email))
        [identity] = b.call("GET", "/v1/user/identities", token=token)["identities"]
        assert (identity["provider"], identity["subject"]) == ("idp", subject)
        assert users_with(b, provider_email) == []
        view.screenshot(f"portal-account-linked-{size[0]}")
        fits_as_text(view, "the linked provider")

        with view.navigation():
            view.click('.unlink-provider[data-provider="idp"]')
            view.confirm(r"Unlink Test IdP")
        assert "unlinked" in view.text("#account-notice")
        assert "Not linked" in view.text('#identities li[data-provider="idp"]')
        assert b.call("GET", "/v1/user/identities", token=token)["identities"] == []
        assert_shown_as_text(view, "the account page")


def test_the_console_refuses_a_non_operator_signed_in_through_a_provider(chrome, oidc):
    b = oidc
    email = provider_user(b, "oidc.console")
    with console_session(chrome, b.daemon) as view:
        view.allow_failed_request(r"/v1/admin/jobs", 403)
        view.load("")
        assert view.on_login_page()
        link = provider_button(view, "idp")
        assert link.get_attribute("href").endswith("?redirect_to=%2F")
        link.click()
        message = view.wait_text("#login-message", r"not an operator", timeout=20)
        assert email in message
        assert view.on_login_page() and not view.token()
        assert "oauth_ticket" not in view.driver.current_url

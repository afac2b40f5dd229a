"""The billing portal (/portal) and the sign-up and password-reset pages, in headless Chromium
against the real daemon.

An owner signs in, sees the plan and the credits, subscribes to a PRO price the operator made
(the daemon's redirect_url, without Stripe, is an invoice page: the portal shows its own),
asks to pay (manual instructions with the invoice number and amount), the operator marks it
paid, and the portal shows ACTIVE PRO; cancel then undo; an API key shown once and revoked;
an invitation; a printable receipt. With a coupon, an upgrade's proration credit and a downgrade
scheduled for the period's end (then kept off with "Keep my current plan"), every invoice line
shows. Hostile agent ids, key, user names and price descriptions show as text; the pages fit a
phone. Sign-up and reset run end to end with the codes read from the outbox.

Run with: python3 -m pytest -q Tests/console/test_portal.py
"""
import re
import uuid
from contextlib import contextmanager
from urllib.parse import quote

import pytest

from tenantry_console import PHONE, WIDE, XSS, assert_shown_as_text, trapped_console_session

AI = "USAGE_AI_CREDIT"
PASSWORD = "user password 1"
HOSTILE_AGENT = '"><svg onload=alert(3)>'


@pytest.fixture(scope="module")
def portal_backend(make_backend):
    return make_backend()


@contextmanager
def portal_session(chrome, backend):
    with trapped_console_session(chrome, backend.daemon) as view:
        chrome.execute_script("sessionStorage.clear();")
        yield view
        chrome.execute_script("sessionStorage.clear(); localStorage.clear();")


@pytest.fixture
def portal(chrome, portal_backend):
    with portal_session(chrome, portal_backend) as view:
        yield view


def latest_code(backend, email):
    emails = backend.call("GET", f"/v1/admin/outbox?to={quote(email)}")["emails"]
    for each in emails:  # newest first
        found = re.search(r"\b(\d{6})\b", each["body"])
        if found:
            return found.group(1)
    raise AssertionError(f"no code emailed to {email}: {emails}")


def sign_in(view, backend, email, password=PASSWORD, route=""):
    view.driver.get(backend.daemon.url("/portal" + route))
    view.wait_ready()
    assert view.on_login_page()
    view.fill("#login-email", email)
    view.fill("#login-password", password)
    view.click("#login-submit")
    view.wait_logged_in()


@pytest.fixture(scope="module")
def owner(portal_backend):
    """An owner whose tenant has credits, hostile-named usage and a PRO price on sale."""
    b = portal_backend
    t = uuid.uuid4().hex[:8]
    email = f"owner.{t}@example.com"
    token, tenant_id = b.sign_up(email, name=XSS)
    b.call("POST", f"/v1/admin/tenants/{tenant_id}/credits",
           {"category": AI, "amount": 5000, "expires_at": "2099-01-01T00:00:00Z", "reason": "portal test"})
    b.call("POST", f"/v1/usage/tenants/{tenant_id}/consume",
           {"category": AI, "amount": 42, "agent_id": HOSTILE_AGENT, "idempotency_key": f"portal-{t}"})
    variant = b.call("POST", "/v1/admin/variants", {"kind": "plan", "plan": "PRO", "period": "MONTHLY", "price": "29.00",
                                                    "currency": "USD", "description": f"Pro monthly {t}", "active": True})["variant"]
    return {"email": email, "token": token, "tenant_id": tenant_id, "variant": variant}


def test_owner_subscribes_pays_cancels_and_manages_keys_and_members(portal, portal_backend, owner):
    b, view = portal_backend, portal
    sign_in(view, b, owner["email"])
    assert view.h1() == "Overview"
    subscription = b.call("GET", "/v1/subscription", token=owner["token"])["subscription"]
    assert view.text("#sub-plan") == subscription["plan"]
    assert view.text("#sub-status") == subscription["status"]
    balances = b.call("GET", f"/v1/usage/tenants/{owner['tenant_id']}/balance", token=owner["token"])["balances"]
    ai = next(x for x in balances if x["category"] == AI)
    shown = view.find(f'#balances li[data-category="{AI}"] .balance-value')
    assert shown.get_attribute("data-value") == ai["available"]
    assert view.text("#usage-total") == "42"
    assert HOSTILE_AGENT in view.text("#usage-agents")
    assert view.finds("#usage-daily svg rect.chart-value")
    assert_shown_as_text(view, "overview")

    # Subscribe to PRO: the invoice opens in the portal.
    view.go("#/plans")
    assert "PRO" in view.text("#plan-grid") and "$29.00" in view.text("#plan-grid")
    with view.navigation():
        view.click(f'button.choose-variant[data-variant="{owner["variant"]["id"]}"]')
        view.confirm(r"Subscribe to PRO MONTHLY")
    assert re.search(r"#/invoices/inv_", view.driver.current_url), view.driver.current_url
    invoice_id = re.search(r"#/invoices/([^/?]+)", view.driver.current_url).group(1)
    invoice = b.call("GET", f"/v1/subscription/invoices/{invoice_id}", token=owner["token"])["invoice"]
    assert view.h1() == f"Invoice {invoice['invoice_number']}"
    assert "open" in view.text("#invoice-status")
    assert "$29.00" in view.text("#invoice-total")

    # Pay: without Stripe the provider is manual, and the instructions say what to quote.
    view.click("#pay-invoice")
    view.wait_text("#manual-payment", re.escape(invoice["invoice_number"]))
    assert view.text("#manual-number") == invoice["invoice_number"]
    assert view.text("#manual-amount") == "$29.00"

    b.call("POST", f"/v1/admin/invoices/{invoice_id}/paid", {})
    view.go("#/")
    assert view.text("#sub-plan") == "PRO"
    assert view.text("#sub-status") == "ACTIVE"

    # Stripe's return with a notice.
    view.go(f"#/invoices/{invoice_id}?checkout=success")
    assert "payment went through" in view.text("#checkout-notice")
    view.go(f"#/invoices/{invoice_id}?checkout=canceled")
    assert "canceled" in view.text("#checkout-notice")

    # The receipt, and its print stylesheet.
    view.go(f"#/invoices/{invoice_id}/receipt")
    assert view.h1() == "Receipt"
    assert invoice["invoice_number"] in view.text("#receipt")
    assert invoice["lines"][0]["description"] in view.text("#receipt table")  # "PRO monthly"
    assert "$29.00" in view.text("#receipt")
    assert view.find("#print-receipt").is_displayed()
    view.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not view.find(".sidebar").is_displayed()
        assert not view.find("#print-receipt").is_displayed()
        assert view.find("#receipt").is_displayed()
    finally:
        view.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    # Cancel at period end, then undo.
    view.go("#/plans")
    with view.navigation():
        view.click("#cancel-subscription")
        view.confirm(r"Cancel PRO")
    assert "ends at the end of the period" in view.page_text()
    assert b.call("GET", "/v1/subscription", token=owner["token"])["subscription"]["cancel_at_period_end"] is True
    assert "Cancels at the end of the period" in view.text("#sub-renewal")
    with view.navigation():
        view.click("#resume-subscription")
        view.confirm(r"Keep the subscription")
    assert b.call("GET", "/v1/subscription", token=owner["token"])["subscription"]["cancel_at_period_end"] is False
    assert view.find("#cancel-subscription").is_displayed()

    # An API key: the secret is shown once, then revoked.
    view.go("#/keys")
    view.fill("#key-name", XSS)
    view.click("#key-create")
    secret = view.visible("#key-secret").get_attribute("value")
    assert secret.startswith("tnk_")
    key = next(k for k in b.call("GET", "/v1/tenant/api-keys", token=owner["token"])["api_keys"] if k["name"] == XSS)
    assert b.daemon.request("GET", f"/v1/usage/tenants/{owner['tenant_id']}/balance", token=secret)[0] == 200
    with view.navigation():
        view.click("#key-secret-done")
    assert not view.finds("#key-secret")
    assert secret not in view.page_text()
    assert XSS in view.text("#keys")
    assert_shown_as_text(view, "keys")
    with view.navigation():
        view.click(f'button.revoke-key[data-key="{key["id"]}"]')
        view.confirm(r"Revoke")
    assert "Revoked the key" in view.page_text()
    revoked = next(k for k in b.call("GET", "/v1/tenant/api-keys", token=owner["token"])["api_keys"] if k["id"] == key["id"])
    assert revoked["is_active"] is False
    assert b.daemon.request("GET", f"/v1/usage/tenants/{owner['tenant_id']}/balance", token=secret)[0] == 401

    # Invite a member.
    invitee = f"invitee.{uuid.uuid4().hex[:8]}@example.com"
    view.go("#/members")
    assert XSS in view.text("#members")  # the owner's own (hostile) name
    with view.navigation():
        view.fill("#invite-email", invitee)
        view.click("#invite-submit")
    assert f"Invited {invitee}" in view.page_text()
    members = b.call("GET", "/v1/tenant/members", token=owner["token"])["members"]
    assert any(m["email"] == invitee and m["status"] == "INVITED" for m in members)
    assert invitee in view.text("#members")
    assert_shown_as_text(view, "members")

    # A refusal shows next to the form, in the API's words and code.
    view.allow_failed_request(r"/v1/tenant/members/invite", 409)
    view.allow_failed_request(r"/v1/tenant/members/invite", 400)
    view.fill("#invite-email", owner["email"])
    view.click("#invite-submit")
    view.wait_text("#invite-notice", r"\S")

    # Sign out: back to the sign-in form, the token gone.
    view.click("#logout")
    view.wait(lambda d: view.on_login_page())
    assert view.driver.execute_script("return sessionStorage.getItem('tenantry.portal.token');") is None


@pytest.mark.parametrize("size", [PHONE, WIDE], ids=["phone", "desktop"])
def test_every_page_fits(portal, portal_backend, owner, size):
    b, view = portal_backend, portal
    view.driver.set_window_size(*size)
    sign_in(view, b, owner["email"])
    invoices = b.call("GET", "/v1/subscription/invoices", token=owner["token"])["invoices"]
    routes = ["#/", "#/plans", "#/invoices", "#/keys", "#/members"]
    if invoices:
        routes += [f"#/invoices/{invoices[0]['id']}", f"#/invoices/{invoices[0]['id']}/receipt"]
    for route in routes:
        view.go(route)
        assert view.horizontal_overflow() <= 0, (route, size, view.horizontal_overflow())
        assert view.find("main h1").is_displayed()
    assert_shown_as_text(view, "every page")


def test_sign_in_refused_shows_the_api_error(portal, portal_backend, owner):
    view = portal
    view.allow_failed_request(r"/v1/account/login", 401)
    view.driver.get(portal_backend.daemon.url("/portal"))
    view.wait_ready()
    view.fill("#login-email", owner["email"])
    view.fill("#login-password", "wrong password")
    view.click("#login-submit")
    view.wait_text("#login-message", r"code 16")
    assert view.on_login_page()
    reset_href = view.find("#forgot-link").get_attribute("href")
    assert reset_href.endswith("/password/reset")


@pytest.mark.parametrize("route", ["/portal", "/register/verify", "/password/reset"])
def test_pages_are_served_under_the_strict_csp(portal_backend, route):
    status, headers, body = portal_backend.daemon.request("GET", route)
    assert status == 200, route
    policy = {k.lower(): v for k, v in headers.items()}["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    html = body.decode()
    # No inline script or style: one module script by src, styles from a stylesheet only.
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attributes and not body.strip() for attributes, body in scripts), scripts
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html, re.I)


def wait_page(view, css):
    return view.visible(css)


def test_register_end_to_end(portal, portal_backend):
    b, view = portal_backend, portal
    email = f"new.{uuid.uuid4().hex[:8]}@example.com"
    view.driver.get(b.daemon.url("/register/verify"))
    wait_page(view, "#start-form")
    assert "no sign-up in progress" in view.text("#register-status") or "Enter your email" in view.text("#register-status")
    view.fill("#start-email", email)
    view.click("#start-submit")
    wait_page(view, "#code-form")
    assert view.find("#code-email").get_attribute("value") == email

    # A wrong code: the API's refusal, next to the form.
    view.allow_failed_request(r"/v1/account/register/verify", 400)
    code = latest_code(b, email)
    view.fill("#code-value", "000000" if code != "000000" else "111111")
    view.click("#code-submit")
    view.wait_text("#code-message", r"\(code \d+\)")

    # The email's link opens the page in a new document: the sign-up in progress is found.
    view.driver.get(b.daemon.url("/register/verify"))
    wait_page(view, "#code-form")
    view.fill("#code-value", code)
    view.click("#code-submit")
    wait_page(view, "#password-form")
    view.fill("#password-value", "a brand new password")
    view.fill("#password-confirm", "a brand new password")
    view.click("#password-submit")
    view.wait(lambda d: d.find_elements("id", "shell") and d.find_element("id", "shell").is_displayed(), message="the portal did not open")
    view.wait_ready()
    assert view.h1() == "Overview"
    assert view.text("#whoami") == email
    assert b.daemon.login(email, "a brand new password")


def test_register_link_without_a_sign_up_explains(portal, portal_backend):
    b, view = portal_backend, portal
    view.driver.get(b.daemon.url("/register/verify?email=someone%40example.com"))
    wait_page(view, "#start-form")
    assert "start again" in view.text("#register-status")
    assert view.find("#start-email").get_attribute("value") == "someone@example.com"


def test_password_reset_end_to_end(portal, portal_backend):
    b, view = portal_backend, portal
    email = f"forgetful.{uuid.uuid4().hex[:8]}@example.com"
    b.sign_up(email)
    view.driver.get(b.daemon.url("/password/reset"))
    wait_page(view, "#request-form")
    view.fill("#request-email", email)
    view.click("#request-submit")
    wait_page(view, "#code-form")
    code = latest_code(b, email)
    view.fill("#code-value", "000000" if code != "000000" else "111111")
    view.click("#code-submit")
    view.wait_text("#code-message", "not right")
    view.fill("#code-value", code)
    view.click("#code-submit")
    wait_page(view, "#password-form")
    view.allow_failed_request(r"/v1/account/password/forgot/reset", 400)
    view.fill("#password-value", "the new password 2")
    view.fill("#password-confirm", "the new password 2")
    view.click("#password-submit")
    wait_page(view, "#done")
    assert b.daemon.login(email, "the new password 2")
    status, _, _ = b.daemon.request("POST", "/v1/account/login", {"email": email, "password": PASSWORD})
    assert status == 401

    # Signing in at the portal from the "done" link works with the new password.
    view.click("#done-signin")
    view.wait_ready()
    view.fill("#login-email", email)
    view.fill("#login-password", "the new password 2")
    view.click("#login-submit")
    view.wait_logged_in()
    assert view.h1() == "Overview"


def test_change_a_role_and_remove_a_member(portal, portal_backend, owner):
    from selenium.webdriver.support.select import Select
    b, view = portal_backend, portal
    mate = f"mate.{uuid.uuid4().hex[:8]}@example.com"
    rets = b.call("POST", "/v1/tenant/members/invite", {"members": [{"email": mate, "role": "member"}]}, token=owner["token"])["rets"]
    token = re.search(r"token=([^&]+)", rets[0]["invited_url"]).group(1)
    b.call("POST", "/v1/account/invite/accept", {"invite_token": token, "email": mate, "password": PASSWORD, "tenant_id": owner["tenant_id"]}, token=None)
    sign_in(view, b, owner["email"], route="#/members")
    assert view.h1() == "Members"
    with view.navigation():
        Select(view.find(f'select.role-select[data-email="{mate}"]')).select_by_value("admin")
        view.confirm(r"Make .* admin")
    assert f"{mate} is now admin" in view.page_text()
    assert next(m for m in b.call("GET", "/v1/tenant/members", token=owner["token"])["members"] if m["email"] == mate)["role"] == "admin"
    with view.navigation():
        view.click(f'button.remove-member[data-email="{mate}"]')
        view.confirm(r"Remove")
    assert f"Removed {mate}" in view.page_text()
    assert all(m["email"] != mate for m in b.call("GET", "/v1/tenant/members", token=owner["token"])["members"])


def dollars(amount):
    """An amount as the portal shows it in en-US: "$29.00", "-$5.80"."""
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


@pytest.fixture(scope="module")
def plan_prices(portal_backend):
    """PRO and BUSINESS monthly prices (BUSINESS's description hostile) and the WELCOME coupon."""
    b = portal_backend
    t = uuid.uuid4().hex[:8]
    pro = b.call("POST", "/v1/admin/variants", {"kind": "plan", "plan": "PRO", "period": "MONTHLY", "price": "29.00",
                                                "currency": "USD", "description": f"Pro for switching {t}", "active": True})["variant"]
    business = b.call("POST", "/v1/admin/variants", {"kind": "plan", "plan": "BUSINESS", "period": "MONTHLY", "price": "99.00",
                                                     "currency": "USD", "description": f"Business {XSS}", "active": True})["variant"]
    b.call("POST", "/v1/admin/coupons", {"code": "WELCOME", "discount_type": "percent", "discount_value": "20"})
    return {"pro": pro, "business": business}


def choose(view, variant, title):
    """Presses the price's Subscribe or Switch button and confirms the dialog titled TITLE."""
    view.click(f'button.choose-variant[data-variant="{variant["id"]}"]')
    view.confirm(title)


def opened_invoice(view, backend, token):
    """The invoice whose page the portal shows, as the API answers it."""
    found = re.search(r"#/invoices/(inv_[^/?]+)$", view.driver.current_url)
    assert found, view.driver.current_url
    return backend.call("GET", f"/v1/subscription/invoices/{found.group(1)}", token=token)["invoice"]


@pytest.mark.parametrize("size", [WIDE, PHONE], ids=["desktop", "phone"])
def test_coupon_upgrade_with_proration_and_a_scheduled_downgrade(portal, portal_backend, plan_prices, size):
    b, view = portal_backend, portal
    pro, business = plan_prices["pro"], plan_prices["business"]
    view.driver.set_window_size(*size)
    email = f"switcher.{uuid.uuid4().hex[:8]}@example.com"
    token, _ = b.sign_up(email, name=XSS)
    sign_in(view, b, email, route="#/plans")
    assert view.h1() == "Plans"
    assert f"Business {XSS}" in view.text(f'li.price-row[data-variant="{business["id"]}"]')
    assert view.text(f'button.choose-variant[data-variant="{pro["id"]}"]') == "Subscribe"
    assert_shown_as_text(view, "plans")

    # An unknown coupon: the API's refusal, as text next to the field; no invoice is opened.
    view.allow_failed_request(r"/v1/subscription/create", 400)
    view.fill("#coupon-code", "NOSUCHCODE")
    choose(view, pro, r"^Subscribe to PRO MONTHLY\?$")
    view.wait_text("#coupon-code-error", r"^coupon NOSUCHCODE does not exist \(code 3\)$")
    assert view.find("#coupon-code").get_attribute("aria-invalid") == "true"
    assert b.call("GET", "/v1/subscription/invoices", token=token)["invoices"] == []

    # WELCOME (in any case): the invoice lists the plan and the discount, and the discounted total.
    view.fill("#coupon-code", "welcome")
    with view.navigation():
        choose(view, pro, r"^Subscribe to PRO MONTHLY\?$")
    invoice = opened_invoice(view, b, token)
    assert [line["kind"] for line in invoice["lines"]] == ["plan", "discount"]
    lines = view.text("#invoice-lines table")
    assert "PRO monthly" in lines and "$29.00" in lines
    assert "Coupon WELCOME: 20% off" in lines and "-$5.80" in lines and "Discount" in lines
    assert view.text("#invoice-subtotal") == "$29.00"
    assert view.text("#invoice-credits") == "-$5.80"
    assert view.text("#invoice-tax") == "$0.00"
    assert view.text("#invoice-total") == dollars(invoice["total"]) == "$23.20"
    assert view.text("#pay-invoice") == "Pay $23.20"
    assert view.horizontal_overflow() <= 0
    b.call("POST", f"/v1/admin/invoices/{invoice['id']}/paid", {})

    # Switch to BUSINESS, an upgrade: its invoice credits the unused time on PRO.
    view.go("#/plans")
    assert view.text("#sub-plan") == "PRO" and view.text("#sub-status") == "ACTIVE"
    assert view.text(f'button.choose-variant[data-variant="{business["id"]}"]') == "Switch"
    with view.navigation():
        choose(view, business, r"^Switch to BUSINESS MONTHLY\?$")
    upgrade = opened_invoice(view, b, token)
    credit = next(line for line in upgrade["lines"] if line["kind"] == "proration")
    assert credit["description"].startswith("Unused time on PRO monthly") and credit["amount"] < 0
    lines = view.text("#invoice-lines table")
    assert "BUSINESS monthly" in lines and "$99.00" in lines
    assert credit["description"] in lines and dollars(credit["amount"]) in lines and "Credit" in lines
    assert view.text("#invoice-subtotal") == "$99.00"
    assert view.text("#invoice-credits") == dollars(credit["amount"])
    assert view.text("#invoice-total") == dollars(upgrade["total"])
    assert view.horizontal_overflow() <= 0
    b.call("POST", f"/v1/admin/invoices/{upgrade['id']}/paid", {})

    # The receipt lists every line too.
    view.go(f"#/invoices/{upgrade['id']}/receipt")
    assert view.h1() == "Receipt"
    receipt = view.text("#receipt table")
    assert "BUSINESS monthly" in receipt and credit["description"] in receipt
    assert view.text("#receipt #invoice-total") == dollars(upgrade["total"])
    assert view.horizontal_overflow() <= 0

    # Back to PRO, a downgrade: a coupon is refused (nothing is paid now), then it is scheduled.
    view.go("#/plans")
    assert view.text("#sub-plan") == "BUSINESS"
    view.allow_failed_request(r"/v1/subscription/update", 400)
    view.fill("#coupon-code", "WELCOME")
    choose(view, pro, r"^Switch to PRO MONTHLY\?$")
    view.wait_text("#coupon-code-error", r"coupon applies to a change paid now.*\(code 3\)$")
    view.fill("#coupon-code", "")
    with view.navigation():
        choose(view, pro, r"^Switch to PRO MONTHLY\?$")
    sub = b.call("GET", "/v1/subscription", token=token)["subscription"]
    assert sub["plan"] == "BUSINESS" and sub["scheduled_variant_id"] == pro["id"] and sub["scheduled_at"] == sub["end_at"]
    assert re.search(r"^Your plan changes to PRO on .+\. Nothing to pay now", view.text("#change-notice")), view.text("#change-notice")
    assert view.find("#change-notice time").get_attribute("datetime") == sub["scheduled_at"]
    assert view.text("#sub-scheduled").startswith("Changes BUSINESS → PRO on ")
    assert len(b.call("GET", "/v1/subscription/invoices", token=token)["invoices"]) == 2  # no invoice for a downgrade

    # The overview shows the scheduled change; "Keep my current plan" drops it.
    view.go("#/")
    assert view.text("#sub-scheduled").startswith("Changes BUSINESS → PRO on ")
    assert view.find("#sub-scheduled time").get_attribute("datetime") == sub["scheduled_at"]
    assert "$29.00 / month" in view.text("#scheduled-change")
    assert view.horizontal_overflow() <= 0
    assert_shown_as_text(view, "overview with a scheduled change")
    with view.navigation():
        view.click("#keep-plan")
        view.confirm(r"^Keep BUSINESS\?$")
    assert view.h1() == "Overview"
    assert "You keep BUSINESS: the change to PRO is dropped." in view.page_text()
    assert not view.finds("#scheduled-change")
    sub = b.call("GET", "/v1/subscription", token=token)["subscription"]
    assert sub["plan"] == "BUSINESS" and sub["scheduled_variant_id"] == "" and sub["scheduled_at"] is None
    view.go("#/plans")
    assert not view.finds("#scheduled-change")
    assert_shown_as_text(view, "plans after keeping the plan")

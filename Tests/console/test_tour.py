"""A tour of every page of the console over a realistic month of data: each page renders
its heading without a browser error and without sideways scrolling, at 1280 px and on a
phone. With TENANTRY_SCREENSHOTS=1 the tour also writes docs/screenshots/*.png.

The data: a daemon in test-clock mode lives through 25 days (subscriptions, invoices,
grants, API keys, daily metered usage, trials that end); the browser's clock is moved to
the daemon's so that "in 3 days" reads the same on both sides.

Run with: TENANTRY_SCREENSHOTS=1 python3 -m pytest -q Tests/console/test_tour.py
"""
import re
from datetime import datetime, timedelta, timezone

import pytest
from selenium.webdriver.common.keys import Keys

from tenantry_console import PHONE, WIDE, console_session, instant

DAY = 86400
PASSWORD = "user password 1"
PEOPLE = {
    "ann": ("ann@northwind.io", "Ann Lindqvist"),
    "bo": ("bo@acme.io", "Bo Castillo"),
    "chen": ("chen@lumen.ai", "Chen Wei"),
    "dara": ("dara@fjordlabs.no", "Dara Nilsen"),
    "eli": ("eli@quanta.dev", "Eli Brooks"),
    "fay": ("fay@orbit.studio", "Fay Okafor"),
    "gus": ("gus@brightleaf.co", "Gus Romero"),
    "hana": ("hana@kumo.jp", "Hana Sato"),
    "ivy": ("ivy@pinecrest.org", "Ivy Turner"),
    "jon": ("jon@saltmarsh.io", "Jon Ashby"),
}

# Moves the page's clock by the daemon's test-clock offset (runs before any page script).
SHIFT_DATE = """(() => {
  const offset = %d;
  const RealDate = Date;
  function ShiftedDate(...args) {
    if (!new.target) return new RealDate(RealDate.now() + offset).toString();
    return args.length ? new RealDate(...args) : new RealDate(RealDate.now() + offset);
  }
  ShiftedDate.prototype = RealDate.prototype;
  ShiftedDate.now = () => RealDate.now() + offset;
  ShiftedDate.parse = RealDate.parse;
  ShiftedDate.UTC = RealDate.UTC;
  globalThis.Date = ShiftedDate;
})();"""


class Shop:
    """What the seed made: ids to visit."""


def seed(b):
    shop = Shop()
    shop.backend = b
    op = lambda method, path, body=None: b.call(method, path, body)  # noqa: E731

    def advance(days=1):
        return instant(op("POST", "/v1/admin/clock/advance", {"seconds": days * DAY})["now"])

    def person(key):
        email, name = PEOPLE[key]
        token, tenant_id = b.sign_up(email, name=name)
        setattr(shop, key, tenant_id)
        return token

    def session(key):
        return b.daemon.login(PEOPLE[key][0], PASSWORD)

    def subscribe(key, variant, pay=True):
        b.call("POST", "/v1/subscription/create", {"id": variant}, token=session(key))
        invoice = op("GET", f"/v1/admin/invoices?status=open&tenant_id={getattr(shop, key)}")["invoices"][0]
        if pay:
            op("POST", f"/v1/admin/invoices/{invoice['id']}/paid", {})
        return invoice["id"]

    def consume(tenant_id, key, amount, agent, n):
        status, _, body = b.daemon.request("POST", f"/v1/usage/tenants/{tenant_id}/consume", {
            "category": "USAGE_AI_CREDIT", "amount": amount, "agent_id": agent, "idempotency_key": f"{agent}-{n}"}, token=key)
        assert status == 200, body

    def variant(**fields):
        return op("POST", "/v1/admin/variants", {"currency": "USD", **fields})["variant"]["id"]

    pro_monthly = variant(plan="PRO", period="MONTHLY", price="29.00", description="Pro, billed monthly")
    pro_yearly = variant(plan="PRO", period="YEARLY", price="290.00", description="Pro, billed yearly (two months free)")
    business_monthly = variant(plan="BUSINESS", period="MONTHLY", price="99.00", description="Business, billed monthly")
    business_yearly = variant(plan="BUSINESS", period="YEARLY", price="990.00", description="Business, billed yearly")
    variant(kind="addon", category="USAGE_AI_CREDIT", units=1000, price="5.00", description="1,000 AI credits")
    variant(kind="addon", category="USAGE_VOICE_MINUTES", units=100, price="9.00", description="100 voice minutes", active=False)

    pro = op("GET", "/v1/usage/plans/PRO")["plan"]
    pro["config"]["usage_configs"].append({"category": "USAGE_VOICE_MINUTES", "total_amount": "300"})
    pro["config"]["lead_collections"] = ["LEADCOLLECTION_EMAIL", "LEADCOLLECTION_PHONE"]
    pro["config"]["train_material_types"] = ["TRAINMAT_WEBSITE", "TRAINMAT_PDF"]
    pro["config"]["integration_types"] = ["PLATFORM_SLACK", "PLATFORM_HUBSPOT"]
    op("PUT", "/v1/usage/plans/PRO", {"config": pro["config"], "description": "Pro", "credit_extension": 7})

    ann = person("ann")
    person("bo")
    person("chen")
    subscribe("ann", pro_monthly)
    subscribe("bo", business_monthly)
    ann_key = b.call("POST", "/v1/tenant/api-keys", {"name": "Support bot", "scopes": ["usage.write"]}, token=ann)["plaintext_key"]
    b.call("POST", "/v1/tenant/api-keys", {"name": "Reporting", "scopes": ["usage.read"]}, token=ann)
    bo_key = b.call("POST", "/v1/tenant/api-keys", {"name": "Voice line", "scopes": ["usage.write"]}, token=session("bo"))["plaintext_key"]
    b.call("POST", "/v1/tenant/members/invite", {"members": [
        {"email": "sam@northwind.io", "role": "admin"}, {"email": "lee@northwind.io", "role": "member"}]}, token=ann)
    now = datetime.now(timezone.utc)
    op("POST", f"/v1/admin/tenants/{shop.ann}/credits", {
        "category": "USAGE_AI_CREDIT", "amount": 2000, "reason": "Migration from the legacy plan",
        "expires_at": (now + timedelta(days=75)).isoformat().replace("+00:00", "Z")})

    for day in range(25):
        weekend = day % 7 in (5, 6)
        consume(shop.ann, ann_key, (140 + (day * 37) % 150) // (2 if weekend else 1), "support-bot", day)
        consume(shop.ann, ann_key, (60 + (day * 23) % 90) // (2 if weekend else 1), "sales-assistant", day)
        consume(shop.bo, bo_key, 50 + (day * 53) % 110, "voice-agent", day)
        if day == 4:
            person("dara")
            person("eli")
        if day == 8:
            person("fay")
            subscribe("fay", pro_yearly)
        if day == 12:
            shop.open_invoice = subscribe("eli", pro_monthly, pay=False)
        if day == 15:
            person("gus")
            b.call("POST", "/v1/subscription/addons/purchase", {"purchases": [{"category": "USAGE_AI_CREDIT", "quantity": 2}]}, token=session("ann"))
            addon = op("GET", f"/v1/admin/invoices?status=open&tenant_id={shop.ann}")["invoices"][0]
            op("POST", f"/v1/admin/invoices/{addon['id']}/paid", {})
        if day == 19:
            person("hana")
            person("ivy")
        if day == 22:
            person("jon")
        now = advance()
    consume(shop.ann, ann_key, 210, "support-bot", 99)
    consume(shop.bo, bo_key, 95, "voice-agent", 99)
    subscribe("dara", business_yearly, pay=False)
    for key, days in (("hana", 3), ("ivy", 5)):
        op("POST", f"/v1/admin/tenants/{getattr(shop, key)}/subscription",
           {"new_end_at": (now + timedelta(days=days, hours=2)).isoformat().replace("+00:00", "Z")})
    shop.offset_ms = int((now - datetime.now(timezone.utc)).total_seconds() * 1000)
    return shop


@pytest.fixture(scope="module")
def shop(make_backend):
    return seed(make_backend(["--test-clock"]))


@pytest.fixture
def tour(chrome, shop):
    script = chrome.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SHIFT_DATE % shop.offset_ms})
    try:
        with console_session(chrome, shop.backend.daemon) as view:
            yield view
    finally:
        chrome.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})
        chrome.set_window_size(*WIDE)


def test_every_page_renders_readably_at_1280_px_and_on_a_phone(tour, shop):
    console = tour
    b = shop.backend
    console.load("/")
    assert console.on_login_page()
    console.screenshot("login", full_page=False)
    console.fill("#login-email", b.operator_email)
    console.fill("#login-password", b.operator_password).send_keys(Keys.ENTER)
    console.wait_logged_in()

    def bars_with_usage(c):
        heights = c.driver.execute_script(
            "return [...document.querySelectorAll('#credits-chart .chart-value')].map(r => Number(r.getAttribute('height')));")
        assert len(heights) == 30 and sum(h > 0 for h in heights) >= 25, heights
        assert c.finds("#trials-ending tbody tr"), "two trials end within 7 days"

    def tenant_rows(c):
        assert len(c.finds("#tenant-results tbody tr")) == len(PEOPLE)

    def tenant_page(c):
        assert len(c.finds("#grants tbody tr")) >= 2
        assert len(c.finds("#invoices tbody tr")) >= 2
        assert "support-bot" in c.text("#agents") and "sales-assistant" in c.text("#agents")

    def expand_audit(c):
        toggle = c.find("#audit-results button.diff-toggle")
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        assert c.visible("#audit-results .diff-row .diff-changed")

    def open_invoice(c):
        assert c.visible("#mark-paid")

    pages = [
        ("#/dashboard", "Dashboard", "dashboard", bars_with_usage),
        ("#/tenants", "Tenants", "tenants", tenant_rows),
        (f"#/tenants/{shop.ann}", "ann's workspace", "tenant", tenant_page),
        ("#/plans", "Plans", "plans", None),
        ("#/plans/PRO", "Plan PRO", "plan-editor", None),
        ("#/variants", "Prices & add-ons", "variants", None),
        ("#/invoices", "Invoices", "invoices", None),
        (f"#/invoices/{shop.open_invoice}", r"Invoice #\d+", "invoice", open_invoice),
        ("#/users", "Users", "users", None),
        ("#/audit", "Audit trail", "audit", expand_audit),
        ("#/outbox", "Outbox", "outbox", None),
        ("#/jobs", "Timers", "jobs", None),
    ]
    for route, title, shot, check in pages:
        if route != "#/dashboard":
            console.go(route)
        assert re.fullmatch(title, console.h1()), (route, console.h1())
        assert console.horizontal_overflow() <= 0, route
        if check:
            check(console)
        console.screenshot(shot)

    # The confirmation dialog of a grant, as an operator sees it.
    console.go(f"#/tenants/{shop.ann}")
    console.fill("#grant-amount", "500")
    console.fill("#grant-reason", "Goodwill after the outage of 14 May")
    console.click("#grant-submit")
    console.wait(lambda d: console.dialog_open())
    console.screenshot("tenant-dialog", full_page=False)
    console.cancel_with_escape()

    # A phone.
    console.driver.set_window_size(*PHONE)
    for route, shot in (("#/dashboard", "dashboard-phone"), (f"#/tenants/{shop.ann}", "tenant-phone")):
        console.go(route)
        assert console.horizontal_overflow() <= 0, route
        console.screenshot(shot)

"""The Coupons page (list, create, edit, turn on and off, delete) and the dashboard's revenue
(MRR per currency, revenue by plan, 12 months of revenue), in headless Chromium against the
real daemon. A daemon of this module's own, so that the revenue is this module's only: it
starts empty, then one owner subscribes with a coupon and the operator marks it paid.

Run with: python3 -m pytest -q Tests/console/test_revenue_coupons.py
"""
import re
import uuid
from datetime import datetime, timezone

import pytest
from selenium.webdriver.support.select import Select

from tenantry_console import PHONE, WIDE, XSS, assert_shown_as_text, console_session, trapped_console_session

PRICE = "40.00"  # PRO monthly, USD


def tag():
    return uuid.uuid4().hex[:6].upper()


@pytest.fixture(scope="module")
def revenue_backend(make_backend):
    return make_backend()


# The sessions start on /console/favicon.svg, a document without an icon of its own: Chromium
# may then ask for /favicon.ico (404) and log it after the session's first look at the log.
FAVICON_PROBE = r"/favicon\.ico - Failed to load resource"


@pytest.fixture
def hostile_console(chrome, revenue_backend):
    with trapped_console_session(chrome, revenue_backend.daemon) as view:
        view.allow(FAVICON_PROBE)
        yield view


@pytest.fixture
def revenue_console(chrome, revenue_backend):
    with console_session(chrome, revenue_backend.daemon) as view:
        view.allow(FAVICON_PROBE)
        yield view


def coupon_row(console, code):
    """The list's row of CODE (its first cell), or None."""
    for row in console.finds("#coupons tbody tr"):
        if row.find_element("css selector", "td").text == code:
            return row
    return None


def shows(console, css, pattern):
    """Waits until CSS's text matches PATTERN, reading again when the page re-rendered under it."""
    regex = re.compile(pattern)
    found = []

    def matches(driver):
        found[:] = [text for text in (e.text for e in console.finds(css)) if regex.search(text)]
        return bool(found)
    console.wait(matches, message=f"{css} never matched {pattern!r}")
    return found[0]


def subscribe_and_pay(b, email, coupon=""):
    """An owner subscribes to PRO monthly (with COUPON); the operator marks the invoice paid."""
    variant = next((v for v in b.call("GET", "/v1/admin/variants?kind=plan")["variants"] if v["plan"] == "PRO" and v["active"]), None) or \
        b.call("POST", "/v1/admin/variants", {"kind": "plan", "plan": "PRO", "period": "MONTHLY", "price": PRICE, "currency": "USD", "active": True})["variant"]
    owner, _ = b.sign_up(email)
    invoice_id = b.call("POST", "/v1/subscription/create", {"id": variant["id"], "coupon": coupon}, token=owner)["invoice_id"]
    invoice = b.call("GET", f"/v1/admin/invoices/{invoice_id}")["invoice"]
    b.call("POST", f"/v1/admin/invoices/{invoice_id}/paid", {})
    return invoice


def cell(row, label):
    return row.find_element("css selector", f'td[data-label="{label}"]').text


def api_coupon(backend, code):
    return next((c for c in backend.call("GET", "/v1/admin/coupons")["coupons"] if c["code"] == code), None)


def fill_coupon(console, code, kind, value, currency=None, max_uses="", plans=()):
    console.fill("#coupon-code", code)
    Select(console.find("#coupon-type")).select_by_value(kind)
    console.fill("#coupon-value", value)
    if currency is not None:
        console.fill("#coupon-currency", currency)
    console.fill("#coupon-max-uses", max_uses)
    for plan in plans:
        box = console.find(f'#coupon-plans input[data-plan="{plan}"]')
        if not box.is_selected():
            box.click()


def no_overflow(console, where):
    assert console.horizontal_overflow() <= 0, where


def test_coupons_and_revenue_from_an_empty_daemon_to_a_paid_subscription(hostile_console, revenue_backend):
    console, b = hostile_console, revenue_backend
    t = tag()
    percent_code, fixed_code = f"SAVE-{t}", f"TENOFF_{t}"

    # A hostile plan description (shown beside the plan's checkbox) and price description.
    pro = b.call("GET", "/v1/usage/plans/PRO")["plan"]
    b.call("PUT", "/v1/usage/plans/PRO", {"config": pro["config"], "description": XSS, "credit_extension": pro["credit_extension"]})
    b.call("POST", "/v1/admin/variants", {  # the PRO price subscribe_and_pay uses below
        "kind": "plan", "plan": "PRO", "period": "MONTHLY", "price": PRICE, "currency": "USD", "description": XSS, "active": True})

    # Nothing paid yet: the dashboard says so, and no MRR card is drawn.
    console.login_operator(b)
    assert console.h1() == "Dashboard"
    assert "No revenue yet" in console.visible("#revenue .empty-state").text
    assert console.finds(".mrr-value") == [] and console.finds("#revenue-chart") == []
    assert len([e for e in console.finds(".stat-value") if e.is_displayed()]) == 6

    # The Coupons page, from the sidebar: empty.
    with console.navigation():
        console.click('.nav a[data-section="coupons"]')
    assert console.h1() == "Coupons"
    assert console.find('.nav a[data-section="coupons"]').get_attribute("aria-current") == "page"
    assert console.text("#coupons") == "No coupon yet."

    # A percent coupon for PRO, at most 10 uses. The plan's hostile description is text.
    with console.navigation():
        console.click("#new-coupon")
    assert console.h1() == "New coupon"
    assert XSS in console.text("#coupon-plans")
    assert_shown_as_text(console, "coupon form: plan description")
    assert not console.find("#coupon-currency").is_displayed()  # a percent has no currency
    fill_coupon(console, percent_code, "percent", "25", max_uses="10", plans=["PRO"])
    with console.navigation():
        console.click("#coupon-save")
    assert console.h1() == "Coupons"
    shows(console, "#coupons-notice", f"Created coupon {percent_code}: 25% off")
    saved = api_coupon(b, percent_code)
    assert (saved["discount_type"], saved["discount_value"], saved["currency"], saved["max_uses"], saved["applicable_plans"], saved["is_active"]) == \
        ("percent", 25, "", "10", ["PRO"], True)
    row = coupon_row(console, percent_code)
    assert (cell(row, "Discount"), cell(row, "Uses"), cell(row, "Plans"), cell(row, "State")) == ("25%", "0 / 10", "PRO", "active")
    assert cell(row, "Valid until") == "no end"

    # A fixed amount, no limit, any plan; the currency field appears for it.
    console.go("#/coupons/new")
    Select(console.find("#coupon-type")).select_by_value("fixed")
    assert console.find("#coupon-currency").is_displayed()
    fill_coupon(console, fixed_code, "fixed", "10", currency="usd")
    with console.navigation():
        console.click("#coupon-save")
    shows(console, "#coupons-notice", rf"Created coupon {fixed_code}: 10\.00 USD off")
    saved = api_coupon(b, fixed_code)
    assert (saved["discount_type"], saved["discount_value"], saved["currency"], saved["max_uses"], saved["applicable_plans"]) == \
        ("fixed", 10, "USD", "0", [])
    row = coupon_row(console, fixed_code)
    assert (cell(row, "Discount"), cell(row, "Uses"), cell(row, "Plans")) == ("10.00 USD", "0 / ∞", "any plan")
    # Newest first, as the API lists them.
    codes = [r.find_element("css selector", "td").text for r in console.finds("#coupons tbody tr")]
    assert codes.index(fixed_code) < codes.index(percent_code)

    # The API's refusals show next to the form, as text: a hostile code, a duplicate code,
    # a percent above 100. Nothing is created.
    console.go("#/coupons/new")
    console.allow_failed_request(r"/v1/admin/coupons", 400)
    console.allow_failed_request(r"/v1/admin/coupons", 409)
    fill_coupon(console, XSS, "percent", "5")
    console.click("#coupon-save")
    assert shows(console, "#coupon-notice .notice-error", "code must be") == "code must be 1 to 40 letters, digits, - or _"
    assert_shown_as_text(console, "a hostile code refused")
    fill_coupon(console, percent_code.lower(), "percent", "5")
    console.click("#coupon-save")
    shows(console, "#coupon-notice .notice-error", f"a coupon {percent_code.lower()} exists|exists")
    fill_coupon(console, f"BIG{t}", "percent", "150")
    console.click("#coupon-save")
    shows(console, "#coupon-notice .notice-error", "at most 100")
    # Checked before anything is sent: an empty code, a fixed amount without a currency.
    fill_coupon(console, "", "fixed", "5", currency="")
    console.click("#coupon-save")
    assert "required" in shows(console, "#coupon-code-error", "required")
    assert "3-letter" in console.text("#coupon-currency-error")
    assert {c["code"] for c in b.call("GET", "/v1/admin/coupons")["coupons"]} == {percent_code, fixed_code}

    # Edit the percent coupon: 30% off, at most 5 uses, until a date.
    console.go("#/coupons")
    with console.navigation():
        console.click(f'a[data-edit="{api_coupon(b, percent_code)["id"]}"]')
    assert console.h1() == f"Coupon {percent_code}"
    assert console.find("#coupon-value").get_attribute("value") == "25"
    assert console.find("#coupon-max-uses").get_attribute("value") == "10"
    assert console.find('#coupon-plans input[data-plan="PRO"]').is_selected()
    console.fill("#coupon-value", "30")
    console.fill("#coupon-max-uses", "5")
    console.set_value("#coupon-valid-until", "2099-06-30T12:00")
    with console.navigation():
        console.click("#coupon-save")
    shows(console, "#coupons-notice", f"Saved coupon {percent_code}: 30% off")
    saved = api_coupon(b, percent_code)
    assert (saved["discount_value"], saved["max_uses"], saved["applicable_plans"]) == (30, "5", ["PRO"])
    assert saved["valid_until"].startswith("2099-06-30")
    row = coupon_row(console, percent_code)
    assert (cell(row, "Discount"), cell(row, "Uses")) == ("30%", "0 / 5")
    assert "2099" in cell(row, "Valid until")

    # Deactivate, then activate again: the rest of the coupon stays.
    console.click(f'button[data-toggle="{saved["id"]}"]')
    shows(console, "#coupons-notice", f"Coupon {percent_code} is now inactive")
    assert api_coupon(b, percent_code)["is_active"] is False
    assert cell(coupon_row(console, percent_code), "State") == "inactive"
    assert console.find(f'button[data-toggle="{saved["id"]}"]').text == "Activate"
    console.click(f'button[data-toggle="{saved["id"]}"]')
    shows(console, "#coupons-notice", f"Coupon {percent_code} is now active")
    again = api_coupon(b, percent_code)
    assert {k: again[k] for k in ("discount_value", "max_uses", "valid_until", "applicable_plans", "is_active")} == \
        {"discount_value": 30, "max_uses": "5", "valid_until": saved["valid_until"], "applicable_plans": ["PRO"], "is_active": True}

    # An owner subscribes with the coupon (any case); the operator marks the invoice paid.
    invoice = subscribe_and_pay(b, f"coupon.owner.{t.lower()}@example.com", coupon=percent_code.lower())
    assert invoice["total"] == 28 and [line["kind"] for line in invoice["lines"]] == ["plan", "discount"], invoice

    console.driver.refresh()  # the same route: a reload shows the use
    console.wait_ready()
    assert cell(coupon_row(console, percent_code), "Uses") == "1 / 5"
    assert cell(coupon_row(console, fixed_code), "Uses") == "0 / ∞"

    # A used coupon keeps its code and discount: the editor says so and locks them.
    console.go(f"#/coupons/{saved['id']}")
    assert not console.find("#coupon-code").is_enabled() and not console.find("#coupon-value").is_enabled()
    assert "Used 1 times" in console.text("#coupon-form")

    # The dashboard: MRR at the renewal price (not the discounted invoice), the plan's row,
    # and this month's revenue (the discounted invoice, paid now) in the chart.
    mrr = b.call("GET", "/v1/admin/revenue/mrr")["mrr"]
    assert [(r["currency"], r["total_mrr"], r["active_subscriptions"]) for r in mrr] == [("USD", 40, "1")]
    console.go("#/dashboard")
    card = console.visible("#mrr-USD")
    assert card.find_element("css selector", ".stat-label").text == "MRR · USD"
    assert card.find_element("css selector", ".mrr-value").text == "$40.00"
    assert card.find_element("css selector", ".stat-hint").text.startswith("1 active")
    assert len(console.finds(".mrr-value")) == 1  # one currency, never a sum across them
    assert len([e for e in console.finds(".stat-value") if e.is_displayed()]) == 6
    plan_rows = console.finds("#revenue-by-plan tbody tr")
    assert len(plan_rows) == 1
    assert (cell(plan_rows[0], "Plan"), cell(plan_rows[0], "Subscribers"), cell(plan_rows[0], "Monthly")) == ("PRO", "1", "$40.00")

    month = datetime.now(timezone.utc).strftime("%Y-%m")
    months = b.call("GET", "/v1/admin/revenue/monthly?months=12")["months"]
    assert months[-1]["month"] == month and months[-1]["total_revenue"] == 28, months[-1]
    series = console.find('#revenue-chart .revenue-series[data-currency="USD"]')
    # The chart draws once its width is known, a frame after the page is in place.
    console.wait(lambda driver: len(series.find_elements("css selector", ".chart-bar")) == len(months) == 12, message="the 12 bars of the revenue chart")
    titles = console.driver.execute_script(
        "return [...arguments[0].querySelectorAll('.chart-bar title')].map(t => t.textContent);", series)
    assert re.match(r"^\w{3} \d{2}: \$28\.00 · 1 invoice issued, 1 paid$", titles[-1]), titles[-1]
    label = series.find_element("css selector", "svg").get_attribute("aria-label")
    assert label.startswith("Revenue per month in USD over the last 12 months: $28.00 in total, peak $28.00"), label
    # The figures as a table too (for a screen reader, or to copy).
    series.find_element("css selector", "details summary").click()
    last = series.find_elements("css selector", "tbody tr")[-1]
    assert last.find_element("css selector", f'[data-month="{month}"]')
    assert (cell(last, "Revenue"), cell(last, "Invoices issued"), cell(last, "Paid")) == ("$28.00", "1", "1")
    no_overflow(console, "dashboard with revenue")

    # Deleting the used coupon is refused (code 3), the message next to the list; an unused one goes.
    console.go("#/coupons")
    console.allow_failed_request(r"/v1/admin/coupons/cpn_\w+", 400)
    console.click(f'button[data-delete="{saved["id"]}"]')
    console.confirm(f"Delete coupon {percent_code}")
    assert shows(console, "#coupons-notice .notice-error", "is on invoices") == \
        f"coupon {percent_code} is on invoices: deactivate it (is_active: false) instead"
    assert api_coupon(b, percent_code) is not None
    fixed_id = api_coupon(b, fixed_code)["id"]
    console.click(f'button[data-delete="{fixed_id}"]')
    console.confirm(f"Delete coupon {fixed_code}")
    shows(console, "#coupons-notice", f"Coupon {fixed_code} deleted")
    assert api_coupon(b, fixed_code) is None and coupon_row(console, fixed_code) is None

    # Prices page: the price's hostile description is text too.
    console.go("#/variants")
    assert XSS in console.text("#plan-prices")
    assert_shown_as_text(console, "variants: price description")


def test_coupons_and_revenue_fit_a_phone(revenue_console, revenue_backend):
    console, b = revenue_console, revenue_backend
    t = tag()
    if not b.call("GET", "/v1/admin/revenue/mrr")["mrr"]:  # when run on its own
        subscribe_and_pay(b, f"phone.owner.{t.lower()}@example.com")
    b.call("POST", "/v1/admin/coupons", {"code": f"PHONE{t}", "discount_type": "fixed", "discount_value": 12.5, "currency": "EUR",
                                         "max_uses": 3, "valid_until": "2099-01-01T00:00:00Z", "applicable_plans": ["PRO"]})
    console.login_operator(b, "#/variants")
    for size in (WIDE, PHONE):
        console.driver.set_window_size(*size)
        try:
            for route in ("#/coupons", "#/coupons/new", f"#/coupons/{api_coupon(b, f'PHONE{t}')['id']}", "#/dashboard"):
                console.go(route)
                no_overflow(console, (size, route))
            width = console.driver.execute_script("return window.innerWidth;")
            if size == PHONE:
                assert width <= 420
                charts = "#revenue-chart svg.chart-svg"
                console.wait(lambda d: console.finds(charts) and all(e.size["width"] <= width for e in console.finds(charts)),
                             message=f"the revenue chart is wider than {width}px: {[e.size for e in console.finds(charts)]}")
                cards = [e for e in console.finds(".mrr-value") if e.is_displayed()]
                assert cards and all(e.location["x"] + e.size["width"] <= width for e in cards)
        finally:
            console.driver.set_window_size(*WIDE)
    console.go("#/coupons")
    assert cell(coupon_row(console, f"PHONE{t}"), "Discount") == "12.50 EUR"

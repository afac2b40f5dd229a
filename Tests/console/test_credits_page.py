"""The credit sections of a tenant's page (Credits, Ledger, Caps, Alerts) and the dashboard's
"Low on credits" card, in headless Chromium against the real daemon.

A tenant with a trial grant and two operator grants, a capped agent and a capped API key,
its own alert threshold, debits, a hold, and a threshold that fired: everything is made
through the API, then checked on screen against the API's own answers. The ledger's filters
(category, agent, from, to, order) and pages change its rows in place and stay in the URL;
its CSV download (fetched with the operator's token, saved from a Blob) is the API's CSV.
Agent and dataset ids are hostile HTML, which must only ever be shown as text.

Run with: python3 -m pytest -q Tests/console/test_credits_page.py
"""
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode

import pytest
from selenium.webdriver.support.select import Select

from tenantry_console import PHONE, XSS, assert_shown_as_text, instant, trapped_console_session

AI = "USAGE_AI_CREDIT"
VOICE = "USAGE_VOICE_MINUTES"
HOSTILE_DATASET = '"><script>alert(2)</script>'
CSV_HEADER = "seq,created_at,kind,category,amount,balance_after,held_after,grant_id,source,debit_id,hold_id,agent_id,dataset_id,drawn_from"
PAGE_DEBITS = 20  # with the other entries, more than one page of 20


def future(days):
    """RFC 3339, to the second."""
    return (datetime.now(timezone.utc) + timedelta(days=days)).isoformat(timespec="seconds").replace("+00:00", "Z")


def local_input(moment):
    """A datetime-local value (the browser's local time is this machine's)."""
    return moment.astimezone().strftime("%Y-%m-%dT%H:%M")


@pytest.fixture(scope="module")
def credits_backend(make_backend):
    """A daemon of this module's own, so that the dashboard's counts are this module's."""
    return make_backend()


@pytest.fixture(scope="module")
def scenario(credits_backend):
    """A tenant with grants, caps, an alert threshold, debits, a hold and a fired alert."""
    b = credits_backend
    t = uuid.uuid4().hex[:8]
    owner, tenant_id = b.sign_up(f"credits.{t}@example.com", name="Credits Co")
    base = f"/v1/usage/tenants/{tenant_id}"
    created = b.call("POST", "/v1/tenant/api-keys", {"name": "worker", "scopes": ["usage.read", "usage.write"]}, token=owner)
    key, key_id = created["plaintext_key"], created["api_key"]["id"]

    b.call("POST", f"/v1/admin/tenants/{tenant_id}/credits",
           {"category": AI, "amount": 500, "expires_at": future(20), "reason": "goodwill"})
    b.call("POST", f"/v1/admin/tenants/{tenant_id}/credits",
           {"category": VOICE, "amount": 60, "expires_at": future(30), "reason": "voice pilot"})
    available = int(next(x for x in b.call("GET", f"{base}/balance")["balances"] if x["category"] == AI)["available"])

    # The tenant's own threshold: fires once the first debit below leaves 40 fewer credits.
    alerts = b.call("PUT", f"{base}/alerts", {"thresholds": [{"percent": 0, "remaining": str(available - 40)}], "inherit": False, "email": True})
    assert alerts["settings"]["inherited"] is False, alerts
    caps = b.call("PUT", f"{base}/limits", {"limits": [
        {"scope": "agent", "subject": XSS, "category": AI, "limit": "1000", "window": "day"},
        {"scope": "api_key", "subject": key_id, "category": AI, "limit": 5000, "window": "month"},
    ]})["limits"]
    assert len(caps) == 2, caps

    def consume(amount, agent, dataset, idempotency_key):
        status, _, body = b.daemon.request("POST", f"{base}/consume", {
            "category": AI, "amount": amount, "agent_id": agent, "dataset_id": dataset, "idempotency_key": idempotency_key}, token=key)
        assert status == 200, body

    consume(40, XSS, HOSTILE_DATASET, "debit-xss")
    consume(2, "bot-2", "", "debit-bot-2")
    status, _, held = b.daemon.request("POST", f"{base}/holds", {
        "category": AI, "amount": 25, "agent_id": XSS, "dataset_id": "", "ttl_seconds": 3600, "idempotency_key": "hold-xss"}, token=key)
    assert status == 200, held
    for n in range(PAGE_DEBITS):
        consume(1, "bot-page", "", f"page-{n}")

    fired = b.call("GET", f"{base}/alerts")["alerts"]
    assert fired, "the threshold crossed by the first debit should have fired"
    return {
        "tenant_id": tenant_id, "base": base, "owner": owner, "key": key, "key_id": key_id, "hold": held["hold"],
        "name": b.tenant(tenant_id)["tenant"]["name"],
    }


@pytest.fixture
def console(chrome, credits_backend):
    """The suite's console (a clean browser log, no SEVERE entry allowed), on this module's
    daemon, with alerts trapped in window.__alerts."""
    with trapped_console_session(chrome, credits_backend.daemon) as view:
        yield view



@contextmanager
def ledger_reload(console, timeout=10):
    """Waits, after the block, until the ledger section has loaded again (in place, no navigation)."""
    loads = lambda: int(console.find("#ledger").get_attribute("data-loads") or 0)  # noqa: E731
    before, rendered = loads(), console.rendered()
    yield
    console.wait(lambda d: loads() > before and console.find("#ledger").get_attribute("aria-busy") == "false",
                 timeout, "the ledger did not load again")
    assert console.rendered() == rendered, "the ledger reloads in place, not the whole page"


def ledger(b, scenario, **params):
    query = {"order": "desc", "limit": 20, **{k: v for k, v in params.items() if v not in ("", None)}}
    return b.call("GET", f"{scenario['base']}/ledger?{urlencode(query)}")


def rows_on_screen(console):
    return [r.get_attribute("data-seq") for r in console.finds("#ledger tbody tr.ledger-row")]


def test_the_tenant_page_shows_credits_ledger_caps_and_alerts(console, credits_backend, scenario):
    b, tenant_id = credits_backend, scenario["tenant_id"]
    balances = {x["category"]: x for x in b.call("GET", f"{scenario['base']}/balance")["balances"]}
    limits = b.call("GET", f"{scenario['base']}/limits")["limits"]
    alerts = b.call("GET", f"{scenario['base']}/alerts")
    first = ledger(b, scenario)

    console.login_operator(b, f"#/tenants/{tenant_id}")
    assert console.h1() == scenario["name"]

    # Credits: available, held, granted left and the next expiry of each category.
    ai = balances[AI]
    assert int(ai["held"]) == 25 and int(ai["available"]) == int(ai["granted_left"]) - 25, ai
    for category, balance in balances.items():
        item = console.find(f'#balances li[data-category="{category}"]')
        assert console.find(".balance-value", item).get_attribute("data-value") == balance["available"]
        assert console.find(".balance-held [data-value]", item).get_attribute("data-value") == balance["held"]
        assert console.find(".balance-granted [data-value]", item).get_attribute("data-value") == balance["granted_left"]
        expiry = console.find(".balance-expiry", item)
        if balance["next_expiry_at"]:
            assert instant(console.find("time", expiry).get_attribute("datetime")) == instant(balance["next_expiry_at"])
        else:
            assert expiry.text == "Nothing set to expire."
    assert "text-warn" in console.find(f'#balances li[data-category="{AI}"] .balance-held').get_attribute("class")

    # Ledger: newest first, the API's first page, each entry's figures and grants drawn from.
    assert rows_on_screen(console) == [e["seq"] for e in first["entries"]]
    assert console.text("#ledger .pager").startswith(f"1–20 of {first['page']['total']} entries")
    assert console.text("#ledger-summary") == f"{first['page']['total']} entries"
    everything = ledger(b, scenario, limit=100)["entries"]
    kinds = [e["kind"] for e in everything]
    assert kinds.count("grant") >= 3 and kinds.count("debit") >= 2 + PAGE_DEBITS and kinds.count("hold") == 1, kinds
    # The first debit (40 credits by the hostile agent): its row, as the API has it.
    debit = next(e for e in everything if e["kind"] == "debit" and e["agent_id"] == XSS)
    console.go(f"#/tenants/{tenant_id}?ledger_agent={quote(XSS)}")
    row = console.find(f'#ledger tr.ledger-row[data-seq="{debit["seq"]}"]')
    assert row.get_attribute("data-kind") == "debit"
    assert console.find(".entry-amount", row).get_attribute("data-value") == debit["amount"] == "40"
    assert console.find(".entry-balance", row).get_attribute("data-value") == debit["balance_after"]
    assert console.find(".entry-held", row).get_attribute("data-value") == debit["held_after"]
    assert instant(console.find("time", row).get_attribute("datetime")) == instant(debit["created_at"])
    drawn = [(li.find_element("css selector", "[data-id]").get_attribute("data-id"), li.find_element("css selector", ".num").get_attribute("data-value"))
             for li in console.finds(".drawn-from li", row)]
    assert drawn == [(p["grant_id"], p["amount"]) for p in debit["drawn_from"]] and drawn, debit
    assert console.find('.entry-ref[data-ref="debit"] [data-id]', row).get_attribute("data-id") == debit["debit_id"]
    assert console.find("code.agent-id", row).text == XSS
    assert console.find("code.dataset-id", row).text == HOSTILE_DATASET
    hold = next(e for e in everything if e["kind"] == "hold")
    hold_row = console.find(f'#ledger tr.ledger-row[data-seq="{hold["seq"]}"]')
    assert console.find(".entry-held", hold_row).get_attribute("data-value") == hold["held_after"]
    assert console.find('.entry-ref[data-ref="hold"] [data-id]', hold_row).get_attribute("data-id") == scenario["hold"]["id"] == hold["hold_id"]

    # Caps: scope, subject, category, window, limit and what was used in it.
    assert len(console.finds("#caps tr.cap-row")) == len(limits) == 2
    for cap in limits:
        row = next(r for r in console.finds("#caps tr.cap-row")
                   if r.get_attribute("data-scope") == cap["scope"] and r.get_attribute("data-subject") == cap["subject"])
        assert console.find(".cap-subject", row).text == cap["subject"]
        assert console.find(".cap-window", row).text == cap["window"]
        assert console.find(".cap-limit", row).get_attribute("data-value") == cap["limit"]
        assert console.find(".cap-used [data-value]", row).get_attribute("data-value") == cap["used"]
        assert cap["category"] in row.text
    agent_cap = next(c for c in limits if c["scope"] == "agent")
    key_cap = next(c for c in limits if c["scope"] == "api_key")
    assert (agent_cap["subject"], agent_cap["window"], int(agent_cap["used"])) == (XSS, "day", 40), agent_cap
    assert (key_cap["subject"], key_cap["window"], int(key_cap["used"])) == (scenario["key_id"], "month", 42 + PAGE_DEBITS), key_cap
    assert "worker" in console.find(f'#caps tr.cap-row[data-scope="api_key"]').text  # the key's name next to its id

    # Alerts: the tenant's own threshold, email on, and the one that fired.
    [threshold] = alerts["settings"]["thresholds"]
    assert console.text("#alert-thresholds") == f"{int(threshold['remaining']):,} left"
    assert console.text("#alert-inherited") == "this tenant"
    assert console.text("#alert-email") == "on"
    rows = console.finds("#alerts tr.alert-row")
    assert len(rows) == len(alerts["alerts"]) >= 1
    fired = alerts["alerts"][0]
    assert rows[0].get_attribute("data-event") == fired["event"] == "credits.low"
    assert console.find(".alert-threshold", rows[0]).text == f"{int(threshold['remaining']):,} left"
    assert f"{int(fired['available']):,}" in rows[0].text and fired["category"] in rows[0].text
    assert instant(console.find("time", rows[0]).get_attribute("datetime")) == instant(fired["fired_at"])
    assert_shown_as_text(console, "the tenant's credit sections")

    # Back to the plan's thresholds: the page says so after a reload.
    b.call("PUT", f"{scenario['base']}/alerts", {"inherit": True, "email": False})
    console.driver.refresh()
    console.wait_ready()
    assert console.text("#alert-inherited") == "the plan" and console.text("#alert-email") == "off"
    assert len(console.finds("#alerts tr.alert-row")) == len(alerts["alerts"]), "the history stays"
    b.call("PUT", f"{scenario['base']}/alerts", {"thresholds": alerts["settings"]["thresholds"], "inherit": False, "email": True})

    # A grant from the page reloads the credit sections too (voice minutes: the AI credits
    # stay below their threshold for the dashboard's test).
    console.go(f"#/tenants/{tenant_id}")
    console.fill("#grant-category", VOICE)
    console.fill("#grant-amount", "1000")
    console.fill("#grant-reason", "more for the pilot")
    console.click("#grant-submit")
    console.confirm("Grant credits")
    console.wait_text("#grant-notice", "Granted 1,000")
    after = next(x for x in b.call("GET", f"{scenario['base']}/balance")["balances"] if x["category"] == VOICE)
    assert int(after["available"]) == int(balances[VOICE]["available"]) + 1000
    console.wait(lambda d: console.find(f'#balances li[data-category="{VOICE}"] .balance-value').get_attribute("data-value") == after["available"],
                 message="the balance follows the grant")
    console.wait(lambda d: rows_on_screen(console)[:1] == [ledger(b, scenario)["entries"][0]["seq"]], message="the new grant heads the ledger")
    assert console.find("#ledger tbody tr.ledger-row").get_attribute("data-kind") == "grant"


def test_the_ledgers_filters_and_pages_change_its_rows_and_stay_in_the_url(console, credits_backend, scenario):
    b, tenant_id = credits_backend, scenario["tenant_id"]
    console.login_operator(b, f"#/tenants/{tenant_id}")
    total = ledger(b, scenario)["page"]["total"]
    assert int(total) > 20

    # The next page, in place: the rest of the entries; the page is in the URL.
    with ledger_reload(console):
        console.click('#ledger .pager button[aria-label="Next page"]')
    assert rows_on_screen(console) == [e["seq"] for e in ledger(b, scenario, page=2)["entries"]]
    assert "ledger_page=2" in console.driver.current_url
    assert console.text("#ledger .pager").startswith(f"21–{min(int(total), 40)} of {total} entries")

    # One category: filtering starts again from the first page.
    Select(console.find("#ledger-category")).select_by_value(VOICE)
    with ledger_reload(console):
        console.click("#ledger-filter")
    voice = ledger(b, scenario, category=VOICE)["entries"]
    assert voice and all(e["kind"] == "grant" and e["category"] == VOICE for e in voice), voice
    assert rows_on_screen(console) == [e["seq"] for e in voice]
    assert "ledger_page" not in console.driver.current_url and f"ledger_category={VOICE}" in console.driver.current_url
    assert console.text("#ledger-summary") == (f"{len(voice)} entries match" if len(voice) > 1 else "1 entry match")

    # One agent (a hostile id, shown and sent as text), then oldest first.
    Select(console.find("#ledger-category")).select_by_value("")
    console.fill("#ledger-agent", XSS)
    with ledger_reload(console):
        console.click("#ledger-filter")
    mine = ledger(b, scenario, agent_id=XSS)["entries"]
    assert [e["kind"] for e in mine] == ["hold", "debit"], mine
    assert rows_on_screen(console) == [e["seq"] for e in mine]
    assert all(console.find("code.agent-id", r).text == XSS for r in console.finds("#ledger tbody tr.ledger-row"))
    Select(console.find("#ledger-order")).select_by_value("asc")
    with ledger_reload(console):
        console.click("#ledger-filter")
    assert rows_on_screen(console) == [e["seq"] for e in reversed(mine)]
    assert "ledger_order=asc" in console.driver.current_url
    assert_shown_as_text(console, "the ledger filtered by a hostile agent id")

    # The URL holds the filters: a reload shows the same rows and the same form.
    console.driver.refresh()
    console.wait_ready()
    assert rows_on_screen(console) == [e["seq"] for e in reversed(mine)]
    assert console.find("#ledger-agent").get_attribute("value") == XSS
    assert Select(console.find("#ledger-order")).first_selected_option.get_attribute("value") == "asc"
    assert_shown_as_text(console, "the reloaded ledger")

    # From and to: a window around now holds them all; one starting tomorrow holds none.
    now = datetime.now(timezone.utc)
    console.set_value("#ledger-from", local_input(now - timedelta(days=1)))
    console.set_value("#ledger-to", local_input(now + timedelta(days=1)))
    with ledger_reload(console):
        console.click("#ledger-filter")
    assert rows_on_screen(console) == [e["seq"] for e in reversed(mine)]
    assert "ledger_from=" in console.driver.current_url and "ledger_to=" in console.driver.current_url
    console.set_value("#ledger-from", local_input(now + timedelta(days=1)))
    console.set_value("#ledger-to", local_input(now + timedelta(days=2)))
    with ledger_reload(console):
        console.click("#ledger-filter")
    assert rows_on_screen(console) == []
    assert console.text("#ledger .empty") == "No ledger entry matches these filters."
    later = ledger(b, scenario, agent_id=XSS, **{"from": future(1), "to": future(2)})
    assert later["entries"] == [] and int(later["page"]["total"]) == 0

    # An end before the start is refused in place; nothing is asked of the daemon.
    loads = console.find("#ledger").get_attribute("data-loads")
    console.set_value("#ledger-to", local_input(now))
    console.click("#ledger-filter")
    assert console.wait_text("#ledger-to-error", "after the start") == "The end must come after the start."
    time.sleep(0.3)
    assert console.find("#ledger").get_attribute("data-loads") == loads

    # Clear: every entry again, newest first, and a clean URL.
    with ledger_reload(console):
        console.click("#ledger-clear")
    assert rows_on_screen(console) == [e["seq"] for e in ledger(b, scenario)["entries"]]
    assert console.driver.current_url.endswith(f"#/tenants/{tenant_id}")
    assert console.find("#ledger-agent").get_attribute("value") == "" and console.text("#ledger-to-error") == ""


def download_csv(console, directory):
    """Clicks Download CSV and answers the saved file's bytes, once Chromium has written it."""
    for old in directory.iterdir():
        old.unlink()
    console.click("#ledger-csv")
    notice = console.wait_text("#ledger-notice", "downloaded", timeout=30)
    name = notice.rsplit(" as ", 1)[1].rstrip(".")
    path = directory / name
    deadline = time.time() + 10
    while time.time() < deadline and not (path.exists() and not list(directory.glob("*.crdownload"))):
        time.sleep(0.1)
    assert path.exists(), sorted(p.name for p in directory.iterdir())
    return name, path.read_bytes()


def api_csv(b, scenario, **params):
    """The API's CSV of every page of PARAMS (the API answers one page per request), one header."""
    lines, page = [], 1
    while True:
        status, headers, raw = b.daemon.request(
            "GET", f"{scenario['base']}/ledger?{urlencode({'order': 'desc', **params, 'page': page, 'limit': 100, 'format': 'csv'})}", token=b.op)
        assert status == 200 and headers.get("Content-Type", "").startswith("text/csv"), (status, headers)
        records = raw.decode().split("\r\n")[:-1]
        lines += records if page == 1 else records[1:]
        if len(records) - 1 < 100:
            return ("".join(f"{line}\r\n" for line in lines)).encode()
        page += 1


def test_the_ledger_downloads_as_csv_with_the_filters_on_screen(console, credits_backend, scenario, tmp_path):
    b, tenant_id = credits_backend, scenario["tenant_id"]
    # More entries than one page of CSV (100): the console asks for each page.
    status, _, body = b.daemon.request("POST", f"{scenario['base']}/consume/batch", {"items": [
        {"category": AI, "amount": 1, "agent_id": "bot-batch", "dataset_id": "", "idempotency_key": f"batch-{n}"} for n in range(110)]},
        token=scenario["key"])
    assert status == 200 and all(r["code"] == 0 for r in body["results"]), body
    total = int(ledger(b, scenario)["page"]["total"])
    assert 200 > total > 100

    driver = console.driver
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path), "eventsEnabled": True})
    try:
        # The whole ledger: one header, every entry once, newest first, as the API has them.
        console.login_operator(b, f"#/tenants/{tenant_id}")
        name, saved = download_csv(console, tmp_path)
        assert name.startswith(f"ledger-{tenant_id}-") and name.endswith(".csv"), name
        assert saved == api_csv(b, scenario)
        lines = saved.decode().split("\r\n")[:-1]
        assert lines[0] == CSV_HEADER
        assert len(lines) == total + 1
        assert [line.split(",", 1)[0] for line in lines[1:]] == [str(seq) for seq in sorted((int(line.split(",", 1)[0]) for line in lines[1:]), reverse=True)]

        # The filters on screen (the token was sent: no 401), hostile ids kept as the API wrote them.
        console.go(f"#/tenants/{tenant_id}?ledger_agent={quote(XSS)}&ledger_order=asc")
        name, saved = download_csv(console, tmp_path)
        assert saved == api_csv(b, scenario, agent_id=XSS, order="asc")
        mine = ledger(b, scenario, agent_id=XSS, order="asc")["entries"]
        assert [line.split(",", 1)[0] for line in saved.decode().split("\r\n")[1:-1]] == [e["seq"] for e in mine]
        assert XSS in saved.decode()
        assert "of these filters" in console.text("#ledger-notice")
        assert_shown_as_text(console, "after the download")
    finally:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "default"})


def test_the_dashboard_counts_tenants_below_their_threshold(console, credits_backend, scenario):
    b = credits_backend
    overview = b.call("GET", "/v1/admin/overview")
    assert "tenants_below_threshold" in overview, sorted(overview)
    count = int(overview["tenants_below_threshold"])
    assert count >= 1, overview["tenants_below_threshold"]

    console.login_operator(b)
    card = console.find("#stat-below-threshold")
    assert card.find_element("css selector", ".stat-label").text == "Low on credits"
    assert card.find_element("css selector", ".stat-value").text == f"{count:,}"
    assert "text-warn" in card.find_element("css selector", ".stat-value").get_attribute("class")
    assert "alert threshold" in card.find_element("css selector", ".stat-hint").text
    assert len([e for e in console.finds(".stat-value") if e.is_displayed()]) == 6


def test_the_credit_sections_and_the_dashboard_fit_a_phone(console, credits_backend, scenario):
    b, tenant_id = credits_backend, scenario["tenant_id"]
    console.driver.set_window_size(*PHONE)
    console.login_operator(b, f"#/tenants/{tenant_id}?ledger_agent={quote(XSS)}")
    width = console.driver.execute_script("return window.innerWidth;")
    assert width <= 420
    assert console.horizontal_overflow() <= 0
    for section in ("#balances", "#ledger", "#caps", "#alerts"):
        element = console.find(section)
        assert element.is_displayed() and element.location["x"] >= 0 and element.location["x"] + element.size["width"] <= width, section
    # Wide tables scroll inside their card, not the page; the filters stay usable.
    assert len(console.finds("#ledger tbody tr.ledger-row")) == 2
    console.fill("#ledger-agent", "bot-2")
    with ledger_reload(console):
        console.click("#ledger-filter")
    assert [e["agent_id"] for e in ledger(b, scenario, agent_id="bot-2")["entries"]] == ["bot-2"]
    assert len(rows_on_screen(console)) == 1
    assert console.horizontal_overflow() <= 0
    assert XSS in console.text("#caps")
    assert_shown_as_text(console, "the phone layout")

    console.go("#/dashboard")
    assert console.horizontal_overflow() <= 0
    stats = [e for e in console.finds(".stat-value") if e.is_displayed()]
    assert len(stats) == 6 and all(e.location["x"] + e.size["width"] <= width for e in stats)
    assert console.find("#stat-below-threshold").is_displayed()

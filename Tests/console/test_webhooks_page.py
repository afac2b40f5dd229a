"""The console's Webhooks pages in headless Chromium against the real daemon, delivering to a
real HTTP receiver on loopback (the daemon runs with --webhooks-allow-private for it).

An operator creates an endpoint for all events (its secret is shown once), sends a test and
watches the delivery become delivered, redelivers it, rotates the secret, edits the events,
disables and deletes the endpoint; a failing endpoint shows its error and next retry. The
endpoint's name is hostile HTML, which must only ever be shown as text. Every result is
checked on screen, through the API and at the receiver (signatures included).

Run with: python3 -m pytest -q Tests/console/test_webhooks_page.py
(TENANTRY_SCREENSHOTS=1 also writes docs/screenshots/webhooks.png)
"""
import base64
import hashlib
import hmac
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from selenium.webdriver.common.keys import Keys

from conftest import free_port
from tenantry_console import PHONE, WIDE, XSS, assert_shown_as_text, trapped_console_session

DELIVERY_TIMEOUT = 15  # the deliverWebhooks job runs every 2 s


class Receiver:
    """A loopback HTTP server answering 200 to every POST and recording it."""

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()
        posts, lock = self.posts, self.lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    posts.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                answer = b"received"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/tenantry"

    def received(self):
        with self.lock:
            return list(self.posts)

    def wait_for(self, count, timeout=DELIVERY_TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            posts = self.received()
            if len(posts) >= count:
                return posts
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {len(self.received())} POSTs, not {count}, within {timeout} s")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def signed_by(secret, post):
    """Whether POST carries a Standard Webhooks v1 signature made with SECRET (whsec_…)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    headers = post["headers"]
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + post["body"]
    expected = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return expected in headers["webhook-signature"].split()


@pytest.fixture(scope="module")
def hooks_backend(make_backend):
    """A daemon of this module's own that may deliver to loopback addresses."""
    return make_backend(["--webhooks-allow-private"])


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.stop()


@pytest.fixture
def console(chrome, hooks_backend):
    """The suite's console (a clean browser log, no SEVERE entry allowed), on this module's
    daemon, with alerts trapped in window.__alerts."""
    with trapped_console_session(chrome, hooks_backend.daemon) as view:
        yield view



def delivery_row(console, status=None):
    selector = "#webhook-deliveries tr.delivery-row" + (f'[data-status="{status}"]' if status else "")
    return console.wait(lambda d: next(iter(console.finds(selector)), False), DELIVERY_TIMEOUT, f"no delivery row {selector}")


def test_an_operator_creates_tests_redelivers_rotates_disables_and_deletes_an_endpoint(console, hooks_backend, receiver):
    b = hooks_backend
    catalogue = b.call("GET", "/v1/admin/webhook-events")["events"]
    console.login_operator(b)

    # The Webhooks page, from the navigation.
    with console.navigation():
        console.click('.nav a[data-section="webhooks"]')
    assert console.h1() == "Webhooks"
    assert console.find('.nav a[data-section="webhooks"]').get_attribute("aria-current") == "page"
    assert len(console.finds("#webhook-events tbody tr")) == len(catalogue)
    with console.navigation():
        console.click("#new-webhook")
    assert console.h1() == "New webhook endpoint"

    # One checkbox per event of the catalogue; "All events" is the default and covers them.
    boxes = console.finds('#webhook-form input[name="event"]')
    assert sorted(box.get_attribute("value") for box in boxes) == sorted(e["name"] for e in catalogue)
    assert all(box.is_selected() and not box.is_enabled() for box in boxes)

    # With the keyboard: Space unchecks "All events", frees the list, and nothing is chosen.
    console.fill("#webhook-name", XSS)
    all_events = console.find("#webhook-all-events")
    all_events.send_keys(Keys.SPACE)
    assert not all_events.is_selected()
    assert all(box.is_enabled() and not box.is_selected() for box in console.finds('#webhook-form input[name="event"]'))
    console.fill("#webhook-url", "ftp://example.com/hook")
    console.click("#webhook-save")
    assert console.wait_text("#webhook-url-error", "http:// or https://")
    assert console.wait_text("#webhook-events-field .field-error", "at least one event")
    all_events.send_keys(Keys.SPACE)
    assert all_events.is_selected()

    # A refusal of the daemon's own is shown next to the form, in its words.
    console.allow_failed_request(r"/v1/admin/webhooks", 400)
    console.fill("#webhook-url", "http://someone:secret@127.0.0.1:9/hook")
    console.click("#webhook-save")
    assert "no user or password" in console.wait_text("#webhook-form-notice .notice-error", "url must be")
    assert b.call("GET", "/v1/admin/webhooks")["webhooks"] == []

    # Enter in the URL field creates it: the endpoint's page shows the secret, this once.
    with console.navigation():
        console.fill("#webhook-url", receiver.url).send_keys(Keys.ENTER)
    [webhook] = b.call("GET", "/v1/admin/webhooks")["webhooks"]
    assert (webhook["name"], webhook["url"], webhook["events"], webhook["is_active"]) == (XSS, receiver.url, ["*"], True)
    assert console.driver.current_url.endswith(f"#/webhooks/{webhook['id']}")
    assert console.h1() == XSS
    assert console.wait_text("#webhook-notice", "Created the endpoint") == f"Created the endpoint “{XSS}”."
    assert "you will not see it again" in console.visible("#webhook-secret").text
    secret = console.find("#webhook-secret-value").get_attribute("value")
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]+", secret), secret
    console.click("#webhook-secret-copy")
    assert console.wait_text("#webhook-secret-status", r"Copied|Ctrl\+C")
    assert "all events" in console.text("#webhook-details")
    assert_shown_as_text(console, "the new endpoint's page")

    # Shown once: a reload of the same page no longer has it.
    console.driver.refresh()
    console.wait_ready()
    assert console.h1() == XSS
    assert not console.finds("#webhook-secret")
    assert secret not in console.driver.page_source

    # A test event: the page follows the delivery by itself until it is delivered.
    console.click("#webhook-test")
    console.wait_text("#webhook-notice", "webhook.test event is queued")
    row = delivery_row(console, "delivered")
    assert console.text("#webhook-deliveries tr.delivery-row .delivery-http") == "200"
    assert console.text("#webhook-deliveries tr.delivery-row .delivery-attempt-count") == "1"
    [post] = receiver.wait_for(1)
    [delivery] = b.call("GET", f"/v1/admin/webhooks/{webhook['id']}/deliveries")["deliveries"]
    assert delivery["status"] == "delivered" and row.get_attribute("data-delivery") == delivery["id"]
    assert post["path"] == "/hooks/tenantry"
    assert post["headers"]["webhook-id"] == delivery["message_id"]
    assert json.loads(post["body"])["type"] == "webhook.test"
    assert signed_by(secret, post), "the secret shown is the one that signs"
    console.wait(lambda d: "never" not in console.text("#webhook-last-success"), message="the last success is shown")

    # Its details: the payload sent and every attempt.
    console.click("#webhook-deliveries button.delivery-toggle")
    assert console.find("#webhook-deliveries button.delivery-toggle").get_attribute("aria-expanded") == "true"
    payload = console.visible('#webhook-deliveries pre[data-role="payload"]').text
    assert json.loads(payload) == json.loads(delivery["payload"])
    assert delivery["message_id"] in console.text("#webhook-deliveries .delivery-detail")
    assert "received" in console.text("#webhook-deliveries .delivery-attempts")

    # Redeliver the finished delivery: the same webhook-id and body arrive again.
    console.click(f'#webhook-deliveries button[data-redeliver="{delivery["id"]}"]')
    console.wait_text("#deliveries-notice", "queued again")
    first, again = receiver.wait_for(2)
    assert again["headers"]["webhook-id"] == first["headers"]["webhook-id"] and again["body"] == first["body"]
    console.wait(lambda d: console.text('#webhook-deliveries tr.delivery-row[data-status="delivered"] .delivery-attempt-count') == "2",
                 DELIVERY_TIMEOUT, "the redelivery is shown as a second attempt")
    assert console.visible('#webhook-deliveries pre[data-role="payload"]'), "the open details stay open across refreshes"
    assert len(console.finds("#webhook-deliveries .delivery-attempts tbody tr")) == 2
    assert_shown_as_text(console, "the deliveries")
    console.screenshot("webhooks")

    # Rotate the secret (asked first): the new one is shown once; both sign for a while.
    console.click("#webhook-rotate")
    console.confirm(re.escape(f"Rotate the signing secret of “{XSS}”"))
    console.visible("#webhook-secret")
    assert "New signing secret" in console.text("#webhook-secret")
    assert console.driver.switch_to.active_element.get_attribute("id") == "webhook-secret-value"
    rotated = console.find("#webhook-secret-value").get_attribute("value")
    assert rotated.startswith("whsec_") and rotated != secret
    assert console.visible("#webhook-previous-secret").text.startswith("also signs until")
    console.click("#webhook-test")
    post = receiver.wait_for(3)[2]
    assert signed_by(rotated, post) and signed_by(secret, post)
    console.wait(lambda d: not console.finds('#webhook-deliveries tr.delivery-row[data-status="pending"]'), DELIVERY_TIMEOUT,
                 "the second test is delivered")

    # Edit: from all events to two of them.
    with console.navigation():
        console.click("#webhook-edit")
    assert console.h1() == "Edit webhook endpoint"
    assert console.find("#webhook-name").get_attribute("value") == XSS
    console.click("#webhook-all-events")
    console.click("#webhook-event-tenant-created")
    console.click("#webhook-event-invoice-paid")
    with console.navigation():
        console.click("#webhook-save")
    assert console.wait_text("#webhook-notice", "Saved the endpoint")
    saved = b.call("GET", f"/v1/admin/webhooks/{webhook['id']}")["webhook"]
    assert sorted(saved["events"]) == ["invoice.paid", "tenant.created"] and saved["name"] == XSS
    assert "tenant.created" in console.text("#webhook-details") and "all events" not in console.text("#webhook-details")

    # Disable: Escape changes nothing; confirming turns it off, and the focus stays on the button.
    console.click("#webhook-toggle")
    console.cancel_with_escape()
    assert b.call("GET", f"/v1/admin/webhooks/{webhook['id']}")["webhook"]["is_active"] is True
    console.click("#webhook-toggle")
    console.confirm(re.escape(f"Disable the endpoint “{XSS}”"))
    console.wait_text("#webhook-notice", "is disabled")
    assert "disabled" in console.text("#webhook-state")
    assert b.call("GET", f"/v1/admin/webhooks/{webhook['id']}")["webhook"]["is_active"] is False
    assert console.find("#webhook-toggle").text == "Enable…"
    assert console.driver.switch_to.active_element.get_attribute("id") == "webhook-toggle"

    # The list: name (as text), URL, events, state, failures, last success.
    console.go("#/webhooks")
    row = console.find(f'#webhook-results tr[data-webhook="{webhook["id"]}"]')
    text = row.text
    assert XSS in text and receiver.url in text and "tenant.created" in text and "invoice.paid" in text
    assert "disabled" in text and "never" not in text
    assert_shown_as_text(console, "the list")

    # Enabled again from the list (asked first too).
    with console.navigation():
        console.click(f'#webhook-results button[data-toggle="{webhook["id"]}"]')
        console.confirm(re.escape(f"Enable the endpoint “{XSS}”"))
    assert console.wait_text("#webhooks-notice", "is enabled") == f"The endpoint “{XSS}” is enabled."
    assert "active" in console.find(f'#webhook-results tr[data-webhook="{webhook["id"]}"]').text
    assert b.call("GET", f"/v1/admin/webhooks/{webhook['id']}")["webhook"]["is_active"] is True

    # On a phone, neither page scrolls sideways.
    console.driver.set_window_size(*PHONE)
    try:
        console.driver.refresh()
        console.wait_ready()
        assert console.horizontal_overflow() <= 0
        console.go(f"#/webhooks/{webhook['id']}")
        assert console.h1() == XSS
        assert console.horizontal_overflow() <= 0
    finally:
        console.driver.set_window_size(*WIDE)

    # Delete (asked first): back on the list, gone from the daemon with its deliveries.
    console.click("#webhook-delete")
    with console.navigation():
        console.confirm(re.escape(f"Delete the endpoint “{XSS}”"))
    assert console.h1() == "Webhooks"
    assert console.wait_text("#webhooks-notice", "Deleted the endpoint") == f"Deleted the endpoint “{XSS}”."
    assert not console.finds(f'#webhook-results tr[data-webhook="{webhook["id"]}"]')
    assert webhook["id"] not in [w["id"] for w in b.call("GET", "/v1/admin/webhooks")["webhooks"]]
    b.call("GET", f"/v1/admin/webhooks/{webhook['id']}", expect=404)
    assert_shown_as_text(console, "after deleting")


def test_a_failing_endpoint_shows_the_error_and_the_next_retry_and_cannot_be_redelivered_yet(console, hooks_backend):
    b = hooks_backend
    closed = f"http://127.0.0.1:{free_port()}/nobody-listens"
    webhook = b.call("POST", "/v1/admin/webhooks", {"name": "Down for maintenance", "url": closed, "events": ["invoice.paid"], "is_active": True})["webhook"]
    b.call("POST", f"/v1/admin/webhooks/{webhook['id']}/test", {})

    console.login_operator(b, f"#/webhooks/{webhook['id']}")
    assert console.h1() == "Down for maintenance"
    # The first attempt fails (connection refused): still pending, its error and next retry shown.
    console.wait(lambda d: console.text("#webhook-deliveries tr.delivery-row .delivery-attempt-count") == "1", DELIVERY_TIMEOUT,
                 "the first attempt is shown")
    row = delivery_row(console, "pending")
    assert re.search(r"(?i)connect", row.text), row.text
    assert re.search(r"in \d+ seconds?|in 1 minute", row.text), row.text
    assert not console.finds("#webhook-deliveries button[data-redeliver]"), "a pending delivery is not redelivered"
    assert console.text("#deliveries-live").endswith("this list refreshes by itself.")
    # The failure shows on the endpoint, and in the list.
    console.wait(lambda d: console.text("#webhook-failures") == "1", DELIVERY_TIMEOUT, "the failure count is shown")
    assert "failing" in console.text("#webhook-state")
    console.go("#/webhooks")
    row = console.find(f'#webhook-results tr[data-webhook="{webhook["id"]}"]')
    assert "failing" in row.text and "never" in row.text
    b.call("DELETE", f"/v1/admin/webhooks/{webhook['id']}")

"""Outgoing webhooks against a real receiver (webhook_receiver.py: http.server on a loopback
port, in a thread) that verifies every delivery's Standard Webhooks signature with the
`standardwebhooks` package from PyPI (`make test-deps` installs it).

The contract under test (docs/API.md, "Webhooks"): a change writes one pending delivery per
active endpoint that takes its event, in the change's own transaction; the deliverWebhooks job
(every 2 s, and whenever POST /v1/admin/clock/advance runs due jobs) hands due deliveries to
background threads, which POST `{"type","timestamp","version":1,"data"}` signed with
`webhook-id` (the same on every attempt), `webhook-timestamp` and `webhook-signature`
(one `v1,` signature per live secret). Anything but a 2xx is retried from 30 s (jitter
0.8–1.2), doubling. Deliveries happen off the request, so every test polls, bounded.

Every test has its own database, daemon (`--test-clock --webhooks-allow-private` unless it
says otherwise) and receiver.

Run with: python3 -m pytest -q Tests/integration/test_webhooks.py
"""
import base64
import json
import re
import signal
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

# Run together with Tests/console, "conftest" may name the console's, which re-exports
# these helpers but not ROOT.
from conftest import Daemon, DaemonCalls, current_tenant_id, operator, sign_up
from webhook_receiver import Receiver, WebhookVerificationError, advance_clock, free_port, instant, verify

USER = "hooked@example.com"
USER_PASSWORD = "user password 1"
DAY = 86400
ARGS = ["--test-clock", "--webhooks-allow-private"]
WEBHOOK_ID = re.compile(r"^msg_[a-z2-7]{26}$")  # Secrets.identifier("msg"): 48-bit time + 80 random bits, base32
SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")  # 32 random bytes, base64
PAYLOAD_KEYS = {"type", "timestamp", "version", "data"}
DELIVERY_FIELDS = {"id", "webhook_id", "message_id", "event_type", "payload", "status", "attempt", "created_at", "http_status",
                   "response_body", "error_message", "next_retry_at", "completed_at", "attempts"}
ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "Sources" / "TenantryCore" / "Webhooks" / "WebhookEvents.swift"


# ---------------------------------------------------------------------------------------------
# Set-up


class HookTest(DaemonCalls):
    """One database with an operator; the daemons and receivers it started, all stopped at the end."""

    def __init__(self, tmp_path, args=ARGS, env=None):
        self.db = tmp_path / "tenantry.sqlite"
        self.args = list(args)
        self.env = env
        self.email, self.password = operator(self.db)
        self.daemons = []
        self.receivers = []
        self.daemon = None
        self.token = None
        self.start()

    def start(self):
        """(Re)starts the daemon on the database (same flags) and logs the operator in."""
        self.daemon = Daemon(self.db, args=self.args, env=self.env)
        self.daemons.append(self.daemon)
        self.token = self.daemon.login(self.email, self.password)
        return self.daemon

    def receiver(self, **options):
        receiver = Receiver(**options)
        self.receivers.append(receiver)
        return receiver

    def create_webhook(self, url, events, name="receiver", is_active=True):
        answer = self.ok("POST", "/v1/admin/webhooks", {"name": name, "url": url, "events": events, "is_active": is_active})
        return answer["webhook"], answer["secret"]

    def deliveries(self, webhook_id):
        return self.ok("GET", f"/v1/admin/webhooks/{webhook_id}/deliveries?limit=100")["deliveries"]

    def wait_deliveries(self, webhook_id, predicate, what, timeout=10):
        """Polls the deliveries list (bounded) until PREDICATE(deliveries) holds."""
        deadline = time.time() + timeout
        while True:
            found = self.deliveries(webhook_id)
            if predicate(found):
                return found
            if time.time() >= deadline:
                raise AssertionError(f"{what}: not within {timeout} s; deliveries: {json.dumps(found, indent=1)}\n"
                                     f"daemon log:\n{self.daemon.output()[-3000:]}")
            time.sleep(0.1)

    def advance(self, seconds, receivers=()):
        return advance_clock(self.ok, seconds, receivers)

    def close(self):
        for daemon in self.daemons:
            daemon.stop()
        for receiver in self.receivers:
            receiver.stop()


@pytest.fixture
def hooks(tmp_path):
    test = HookTest(tmp_path)
    yield test
    test.close()


# ---------------------------------------------------------------------------------------------
# Helpers



def payload_of(message):
    payload = json.loads(message.body)
    assert set(payload) == PAYLOAD_KEYS, payload
    assert payload["version"] == 1, payload
    instant(payload["timestamp"])
    assert isinstance(payload["data"], dict), payload
    assert all(isinstance(value, str) for value in payload["data"].values()), payload  # the seed's conventions
    return payload


def assert_signed(message, secret):
    """The delivery is a Standard Webhooks POST that standardwebhooks verifies with SECRET."""
    assert message.checks.get(secret) is not None, f"the receiver did not check {message} with the secret"
    assert message.verified(secret), f"standardwebhooks refused the delivery: {message.checks[secret]}; {message}"
    assert message.verify(secret) == json.loads(message.body)
    assert WEBHOOK_ID.match(message.webhook_id or ""), message.headers
    assert re.fullmatch(r"\d{10}", message.headers.get("webhook-timestamp", "")), message.headers
    assert message.headers.get("content-type", "").startswith("application/json"), message.headers
    assert all(s.startswith("v1,") for s in message.signatures), message.headers
    return payload_of(message)


def assert_refused_by(message, secret):
    with pytest.raises(WebhookVerificationError):
        message.verify(secret)


def another_secret():
    import os
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def assert_delivered_once(delivery, message):
    """A delivery acknowledged at its first attempt, as the list shows it."""
    assert set(delivery) == DELIVERY_FIELDS, delivery
    assert (delivery["status"], delivery["attempt"], delivery["http_status"]) == ("delivered", "1", "200"), delivery
    assert delivery["message_id"] == message.webhook_id, (delivery, message)
    assert delivery["payload"].encode() == message.body, (delivery, message)
    assert delivery["error_message"] == "" and delivery["next_retry_at"] is None, delivery
    assert delivery["completed_at"] is not None, delivery
    [attempt] = delivery["attempts"]
    assert (attempt["attempt"], attempt["http_status"], attempt["error_message"], attempt["next_retry_at"]) == ("1", "200", "", None), attempt
    assert attempt["response_body"] == "ok", attempt


def settle(receiver, seconds=2.5):
    """Gives the 2-second job one more round; answers the messages then."""
    time.sleep(seconds)
    return receiver.received()


# ---------------------------------------------------------------------------------------------
# 1. Signed deliveries of real events


def test_events_are_delivered_signed_once_and_logged(hooks):
    receiver = hooks.receiver()
    webhook, secret = hooks.create_webhook(receiver.url, ["tenant.created", "api_key.created"])
    receiver.secrets = [secret, another_secret()]
    assert SECRET.match(secret), secret
    assert len(base64.b64decode(secret[len("whsec_"):])) == 32
    assert (webhook["url"], webhook["events"], webhook["is_active"], webhook["consecutive_failures"]) == (receiver.url, ["tenant.created", "api_key.created"], True, "0")
    # The secret is shown once: never in a listing or a GET.
    for path in ("/v1/admin/webhooks", f"/v1/admin/webhooks/{webhook['id']}"):
        status, _, raw = hooks.daemon.request("GET", path, token=hooks.token)
        assert status == 200 and secret not in json.dumps(raw) and "whsec_" not in json.dumps(raw), raw

    token = sign_up(hooks.daemon, hooks.token, USER, USER_PASSWORD)
    tenant_id = current_tenant_id(hooks.daemon, token)
    status, _, created = hooks.daemon.request("POST", "/v1/tenant/api-keys", {"name": "chat service", "scopes": ["usage.write"]}, token=token)
    assert status == 200, created
    key = created["api_key"]

    messages = receiver.wait_for(2)
    by_type = {}
    for message in messages:
        payload = assert_signed(message, secret)
        assert not message.verified(receiver.secrets[1]), message  # a wrong secret does not verify
        assert message.path == "/hooks/tenantry", message
        assert message.headers.get("user-agent") == "Tenantry-Webhooks/1", message.headers
        assert abs(int(message.headers["webhook-timestamp"]) - message.received_at) < 60, message.headers
        by_type.setdefault(payload["type"], []).append((message, payload))
    assert sorted(by_type) == ["api_key.created", "tenant.created"], messages
    assert all(len(found) == 1 for found in by_type.values()), by_type
    (tenant_message, tenant_event), = by_type["tenant.created"]
    (key_message, key_event), = by_type["api_key.created"]
    assert tenant_event["data"]["tenant_id"] == tenant_id, tenant_event
    assert set(tenant_event["data"]) == {"tenant_id", "name"}, tenant_event
    assert key_event["data"]["tenant_id"] == tenant_id, key_event
    assert key_event["data"]["api_key_id"] == key["id"], (key_event, key)
    assert key_event["data"]["name"] == "chat service", key_event
    assert created["plaintext_key"].startswith(key_event["data"]["key_prefix"]), (key_event, created)
    assert json.loads(key_event["data"]["scopes"]) == ["usage.write"], key_event
    assert created["plaintext_key"] not in key_message.body.decode()
    assert tenant_message.webhook_id != key_message.webhook_id

    # A tampered body, or another id, does not verify.
    with pytest.raises(WebhookVerificationError):
        verify(secret, key_message.body.replace(b"chat service", b"chat servicf"), key_message.headers)
    with pytest.raises(WebhookVerificationError):
        verify(secret, key_message.body, {**key_message.headers, "webhook-id": tenant_message.webhook_id})

    deliveries = hooks.wait_deliveries(webhook["id"], lambda ds: len(ds) == 2 and all(d["status"] == "delivered" for d in ds), "both delivered")
    by_event = {d["event_type"]: d for d in deliveries}
    assert sorted(by_event) == ["api_key.created", "tenant.created"], deliveries
    assert_delivered_once(by_event["tenant.created"], tenant_message)
    assert_delivered_once(by_event["api_key.created"], key_message)
    assert [d["event_type"] for d in deliveries] == ["api_key.created", "tenant.created"], "newest first"
    assert all(d["webhook_id"] == webhook["id"] for d in deliveries)

    endpoint = hooks.ok("GET", f"/v1/admin/webhooks/{webhook['id']}")["webhook"]
    assert endpoint["consecutive_failures"] == "0" and endpoint["failing_since"] is None, endpoint
    assert endpoint["last_success_at"] is not None and endpoint["last_triggered_at"] is not None, endpoint
    assert len(settle(receiver, 2.2)) == 2, "delivered again"


# ---------------------------------------------------------------------------------------------
# 2. A 500 is retried, with the same webhook-id, once the retry is due


def test_a_500_is_retried_with_the_same_id_until_a_2xx(hooks):
    receiver = hooks.receiver(statuses=[500])
    webhook, secret = hooks.create_webhook(receiver.url, ["webhook.test"])
    receiver.secrets = [secret]
    queued = hooks.ok("POST", f"/v1/admin/webhooks/{webhook['id']}/test")["delivery"]
    assert (queued["status"], queued["attempt"], queued["event_type"]) == ("pending", "0", "webhook.test"), queued

    [first] = receiver.wait_for(1)
    assert first.answered == 500
    assert_signed(first, secret)
    assert first.webhook_id == queued["message_id"], (first, queued)
    [pending] = hooks.wait_deliveries(webhook["id"], lambda ds: ds and ds[0]["attempt"] == "1", "first attempt recorded")
    assert (pending["status"], pending["http_status"]) == ("pending", "500"), pending
    assert "500" in pending["error_message"], pending
    assert pending["response_body"] == "not now", pending
    [attempt] = pending["attempts"]
    assert (attempt["attempt"], attempt["http_status"], attempt["response_body"]) == ("1", "500", "not now"), attempt
    delay = (instant(attempt["next_retry_at"]) - instant(attempt["attempted_at"])).total_seconds()
    assert 24 <= delay <= 36, f"the first retry is 30 s (jitter 0.8–1.2) later, not {delay} s: {attempt}"
    assert pending["next_retry_at"] == attempt["next_retry_at"], pending
    endpoint = hooks.ok("GET", f"/v1/admin/webhooks/{webhook['id']}")["webhook"]
    assert endpoint["consecutive_failures"] == "1" and endpoint["failing_since"] is not None, endpoint
    # A delivery still being tried cannot be redelivered by hand.
    status, _, refused = hooks.request("POST", f"/v1/admin/webhooks/{webhook['id']}/deliveries/{pending['id']}/redeliver")
    assert (status, refused.get("code")) == (400, 3), refused
    assert len(receiver.received()) == 1, "retried before it was due"

    hooks.advance(120, [receiver])
    messages = receiver.wait_for(2)
    second = messages[1]
    assert second.answered == 200
    assert_signed(second, secret)
    assert second.webhook_id == first.webhook_id, (first, second)
    assert second.body == first.body, (first, second)
    [delivered] = hooks.wait_deliveries(webhook["id"], lambda ds: ds and ds[0]["status"] == "delivered", "delivered after the retry")
    assert (delivered["attempt"], delivered["http_status"], delivered["error_message"], delivered["next_retry_at"]) == ("2", "200", "", None), delivered
    assert [(a["attempt"], a["http_status"]) for a in delivered["attempts"]] == [("1", "500"), ("2", "200")], delivered
    assert delivered["attempts"][1]["error_message"] == "", delivered

    # Acknowledged: never sent again, however far the clock moves.
    hooks.advance(6 * 3600, [receiver])
    assert len(settle(receiver, 1)) == 2, receiver.received()
    endpoint = hooks.ok("GET", f"/v1/admin/webhooks/{webhook['id']}")["webhook"]
    assert endpoint["consecutive_failures"] == "0" and endpoint["failing_since"] is None, endpoint


# ---------------------------------------------------------------------------------------------
# 3. A receiver that is down: queued, the error kept, delivered once it is back


def test_a_receiver_that_is_down_gets_the_event_when_it_is_back(hooks):
    port = free_port()
    receiver = hooks.receiver(port=port, start=False)  # nothing listens on the port yet
    webhook, secret = hooks.create_webhook(receiver.url, ["webhook.test"])
    receiver.secrets = [secret]
    queued = hooks.ok("POST", f"/v1/admin/webhooks/{webhook['id']}/test")["delivery"]

    [failed] = hooks.wait_deliveries(webhook["id"], lambda ds: ds and ds[0]["attempt"] == "1", "the refused attempt recorded")
    assert (failed["status"], failed["http_status"]) == ("pending", "0"), failed
    assert failed["error_message"], f"no error recorded: {failed}"
    assert failed["next_retry_at"] is not None and instant(failed["next_retry_at"]) > instant(failed["attempts"][0]["attempted_at"]), failed
    assert failed["attempts"][0]["error_message"] == failed["error_message"], failed

    receiver.start()
    hooks.advance(120, [receiver])
    [message] = receiver.wait_for(1)
    assert_signed(message, secret)
    assert message.webhook_id == queued["message_id"]
    [delivered] = hooks.wait_deliveries(webhook["id"], lambda ds: ds and ds[0]["status"] == "delivered", "delivered once the receiver is up")
    assert (delivered["attempt"], delivered["http_status"], delivered["error_message"]) == ("2", "200", ""), delivered
    assert [a["http_status"] for a in delivered["attempts"]] == ["0", "200"], delivered
    assert delivered["attempts"][0]["error_message"], delivered
    assert delivered["payload"].encode() == message.body
    assert len(settle(receiver, 1)) == 1, receiver.received()


# ---------------------------------------------------------------------------------------------
# 4. kill -9 right after a change: the event is in the database, and goes out after a restart


def test_an_event_survives_kill_9_and_goes_out_once_after_the_restart(hooks):
    receiver = hooks.receiver()
    webhook, secret = hooks.create_webhook(receiver.url, ["tenant.created", "api_key.created"])
    receiver.secrets = [secret]
    token = sign_up(hooks.daemon, hooks.token, USER, USER_PASSWORD)
    [tenant_message] = receiver.wait_for(1, event_type="tenant.created")
    assert_signed(tenant_message, secret)
    hooks.wait_deliveries(webhook["id"], lambda ds: [d["status"] for d in ds] == ["delivered"], "tenant.created delivered")

    status, _, created = hooks.daemon.request("POST", "/v1/tenant/api-keys", {"name": "crash test"}, token=token)
    assert hooks.daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    assert status == 200, created
    sent_before_the_kill = receiver.received("api_key.created")
    with sqlite3.connect(f"file:{hooks.db}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT event_type, status, attempt FROM webhook_delivery ORDER BY created_at").fetchall()
    assert rows == [("tenant.created", "delivered", 1), ("api_key.created", "pending", 0)], (rows, sent_before_the_kill)
    assert sent_before_the_kill == [], "sent before the kill: the test did not kill soon enough"

    hooks.start()
    [message] = receiver.wait_for(1, event_type="api_key.created")
    payload = assert_signed(message, secret)
    assert payload["data"]["api_key_id"] == created["api_key"]["id"], payload
    deliveries = hooks.wait_deliveries(webhook["id"], lambda ds: len(ds) == 2 and all(d["status"] == "delivered" for d in ds), "delivered after the restart")
    key_delivery = next(d for d in deliveries if d["event_type"] == "api_key.created")
    assert_delivered_once(key_delivery, message)
    # Exactly once: neither event again, after another round of the job.
    after = settle(receiver)
    assert [json.loads(m.body)["type"] for m in after] == ["tenant.created", "api_key.created"], after
    assert len({m.webhook_id for m in after}) == 2, after


# ---------------------------------------------------------------------------------------------
# 5. Bad and private URLs are refused when set


def refused(test, url, events=("webhook.test",)):
    status, _, answer = test.request("POST", "/v1/admin/webhooks", {"name": "bad", "url": url, "events": list(events), "is_active": True})
    assert (status, answer.get("code") if isinstance(answer, dict) else None) == (400, 3), (url, events, status, answer)
    return answer["message"]


PRIVATE_URLS = ["http://127.0.0.1:1/x", "http://10.0.0.1/x", "http://169.254.169.254/latest", "http://[::1]/x", "http://localhost/x"]
BAD_URLS = ["ftp://x", "not a url", "http://user:pw@example.com/"]
PUBLIC_URL = "http://93.184.215.14/hooks"  # a public address literal: no DNS needed, never contacted (nothing is sent)


def test_bad_and_private_urls_and_bad_events_are_refused(tmp_path):
    strict = HookTest(tmp_path / "strict", args=["--test-clock"], env={"TENANTRY_WEBHOOKS_ALLOW_PRIVATE": "0"})
    lenient = HookTest(tmp_path / "lenient")
    try:
        for url in PRIVATE_URLS:
            message = refused(strict, url)
            assert "url" in message, message
        # The same addresses are fine with --webhooks-allow-private.
        for url in PRIVATE_URLS:
            lenient.create_webhook(url, ["webhook.test"], name=url)
        # A public address is fine without it.
        public, _ = strict.create_webhook(PUBLIC_URL, ["webhook.test"])
        # …but not a private one, when it is changed.
        status, _, answer = strict.request("PUT", f"/v1/admin/webhooks/{public['id']}", {"name": "x", "url": "http://10.1.2.3/x", "events": ["webhook.test"], "is_active": True})
        assert (status, answer["code"]) == (400, 3), answer

        for test, good_url in ((strict, PUBLIC_URL), (lenient, "http://127.0.0.1:1/x")):
            for url in BAD_URLS:
                refused(test, url)
            assert "unknown event type" in refused(test, good_url, ["tenant.created", "tenant.exploded"])
            assert "events" in refused(test, good_url, [])
        assert [w["url"] for w in strict.ok("GET", "/v1/admin/webhooks")["webhooks"]] == [PUBLIC_URL]
        assert [w["url"] for w in lenient.ok("GET", "/v1/admin/webhooks")["webhooks"]] == PRIVATE_URLS
    finally:
        strict.close()
        lenient.close()


# ---------------------------------------------------------------------------------------------
# 6. Secret rotation: both secrets sign for a day


def test_a_rotated_secret_signs_alongside_the_old_one(hooks):
    receiver = hooks.receiver()
    webhook, old = hooks.create_webhook(receiver.url, ["webhook.test"])
    rotated = hooks.ok("POST", f"/v1/admin/webhooks/{webhook['id']}/rotate-secret")
    new = rotated["secret"]
    assert SECRET.match(new) and new != old, rotated
    expires = instant(rotated["webhook"]["previous_secret_expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - datetime.now(timezone.utc) <= timedelta(hours=24, minutes=1), rotated
    receiver.secrets = [new, old, another_secret()]

    hooks.ok("POST", f"/v1/admin/webhooks/{webhook['id']}/test")
    [message] = receiver.wait_for(1)
    assert len(message.signatures) == 2, message.headers
    payload = assert_signed(message, new)
    assert assert_signed(message, old) == payload
    assert not message.verified(receiver.secrets[2])
    assert_refused_by(message, receiver.secrets[2])
    assert payload["type"] == "webhook.test" and payload["data"]["webhook_id"] == webhook["id"], payload


# ---------------------------------------------------------------------------------------------
# 7. Redelivery by hand: the same id and body again


def test_a_delivered_delivery_is_redelivered_with_the_same_id_and_body(hooks):
    receiver = hooks.receiver()
    webhook, secret = hooks.create_webhook(receiver.url, ["webhook.test"])
    receiver.secrets = [secret]
    hooks.ok("POST", f"/v1/admin/webhooks/{webhook['id']}/test")
    [first] = receiver.wait_for(1)
    assert_signed(first, secret)
    [delivered] = hooks.wait_deliveries(webhook["id"], lambda ds: ds and ds[0]["status"] == "delivered", "delivered")
    assert_delivered_once(delivered, first)

    again = hooks.ok("POST", f"/v1/admin/webhooks/{webhook['id']}/deliveries/{delivered['id']}/redeliver")["delivery"]
    assert (again["id"], again["status"], again["message_id"]) == (delivered["id"], "pending", first.webhook_id), again
    messages = receiver.wait_for(2)
    second = messages[1]
    assert_signed(second, secret)
    assert (second.webhook_id, second.body) == (first.webhook_id, first.body), (first, second)
    [after] = hooks.wait_deliveries(webhook["id"], lambda ds: ds and ds[0]["status"] == "delivered" and ds[0]["attempt"] == "2", "redelivered")
    assert [(a["attempt"], a["http_status"]) for a in after["attempts"]] == [("1", "200"), ("2", "200")], after
    # Unknown deliveries, and another endpoint's, are not found.
    other, _ = hooks.create_webhook(receiver.url, ["webhook.test"], name="other")
    for path in (f"/v1/admin/webhooks/{other['id']}/deliveries/{delivered['id']}/redeliver", f"/v1/admin/webhooks/{webhook['id']}/deliveries/whd_nope/redeliver"):
        status, _, answer = hooks.request("POST", path)
        assert status == 404, (path, answer)
    assert len(settle(receiver, 1)) == 2, receiver.received()


# ---------------------------------------------------------------------------------------------
# 8. The catalogue lists every event the code emits


def test_the_catalogue_lists_every_event_the_code_emits(hooks):
    source = CATALOGUE.read_text()
    block = source[source.index("public static let catalogue"):source.index("public static let names")]
    catalogue = re.findall(r'Kind\(\s*name:\s*"([^"]+)"', block)
    assert len(catalogue) == len(set(catalogue)) >= 15, catalogue
    emitted = set()
    for path in (ROOT / "Sources" / "TenantryCore").rglob("*.swift"):
        for call in re.findall(r"WebhookEvents\.emit\(\s*db,\s*([^,]+),", path.read_text()):
            emitted |= set(re.findall(r'"([a-z_]+\.[a-z_]+)"', call))
    emitted.add("webhook.test")  # sendTest writes it directly
    assert len(emitted) >= 15, emitted
    assert emitted <= set(catalogue), f"emitted but not in the catalogue: {emitted - set(catalogue)}"

    events = hooks.ok("GET", "/v1/admin/webhook-events")["events"]
    assert [e["name"] for e in events] == catalogue
    assert emitted <= {e["name"] for e in events}
    for event in events:
        assert set(event) == {"name", "description", "example"}, event
        assert event["description"].strip(), event
        example = event["example"]
        assert set(example) == PAYLOAD_KEYS and example["type"] == event["name"] and example["version"] == 1, event
        instant(example["timestamp"])
        assert example["data"] and all(isinstance(v, str) for v in example["data"].values()), event
    # Every catalogue name may be subscribed to.
    hooks.create_webhook("http://127.0.0.1:1/x", catalogue, name="all of them")
    status, _, answer = hooks.request("GET", "/v1/admin/webhook-events", token="nope")
    assert status == 401, answer


# ---------------------------------------------------------------------------------------------
# 9. A trial's lifecycle with the clock: trial_will_end, then expired, each once


def test_a_trial_announces_its_end_and_then_expires_once_each(hooks):
    receiver = hooks.receiver()
    webhook, secret = hooks.create_webhook(receiver.url, ["subscription.trial_will_end", "subscription.expired"])
    receiver.secrets = [secret]
    token = sign_up(hooks.daemon, hooks.token, USER, USER_PASSWORD)
    tenant_id = current_tenant_id(hooks.daemon, token)
    status, _, body = hooks.daemon.request("GET", "/v1/subscription", token=token)
    assert status == 200, body
    trial = body["subscription"]
    assert (trial["plan"], trial["status"]) == ("NEW_USER_TRIAL", "TRIALING"), trial
    assert instant(trial["end_at"]) - instant(trial["start_at"]) == timedelta(days=14)

    hooks.advance(12 * DAY, [receiver])
    [warning] = receiver.wait_for(1, event_type="subscription.trial_will_end")
    event = assert_signed(warning, secret)
    assert abs(int(warning.headers["webhook-timestamp"]) - (time.time() + 12 * DAY)) < 120, warning.headers  # the daemon's moved time
    assert event["data"]["subscription_id"] == trial["id"] and event["data"]["tenant_id"] == tenant_id, event
    assert (event["data"]["status"], event["data"]["plan"], event["data"]["end_at"]) == ("TRIALING", "NEW_USER_TRIAL", trial["end_at"]), event
    assert receiver.received("subscription.expired") == []

    hooks.token = hooks.daemon.login(hooks.email, hooks.password)
    hooks.advance(3 * DAY, [receiver])
    [expired] = receiver.wait_for(1, event_type="subscription.expired")
    event = assert_signed(expired, secret)
    assert event["data"]["subscription_id"] == trial["id"] and event["data"]["tenant_id"] == tenant_id, event
    assert (event["data"]["status"], event["data"]["plan"]) == ("EXPIRED", "NEW_USER_TRIAL"), event
    assert expired.webhook_id != warning.webhook_id

    hooks.token = hooks.daemon.login(hooks.email, hooks.password)
    deliveries = hooks.wait_deliveries(webhook["id"], lambda ds: len(ds) == 2 and all(d["status"] == "delivered" for d in ds), "both delivered")
    assert [d["event_type"] for d in deliveries] == ["subscription.expired", "subscription.trial_will_end"], deliveries
    # Each once: more time (and every job) changes nothing.
    hooks.advance(DAY, [receiver])
    after = settle(receiver, 1)
    assert sorted(json.loads(m.body)["type"] for m in after) == ["subscription.expired", "subscription.trial_will_end"], after
    assert all(m.verified(secret) for m in after)

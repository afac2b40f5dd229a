"""A fake Stripe for the integration tests: Python's http.server on a loopback port, in a
thread, standing in for https://api.stripe.com (`serve --stripe-api-base http://127.0.0.1:PORT`),
and the other direction, Stripe's signed webhook events, built and signed as Stripe signs
them and checked with the official `stripe` package (https://pypi.org/project/stripe/,
`make test-deps` installs it) before they are sent.

    stripe_api = FakeStripe(secret_key="sk_test_…")
    ...                                     # the daemon asks for a Checkout Session
    [call] = stripe_api.requests("/v1/checkout/sessions")
    call.form["line_items[0][price_data][unit_amount]"]
    stripe_api.fail_with(402, "card_error", "Your card was declined.")   # every POST fails until reset()

    event = stripe_event("checkout.session.completed", {...})
    body, header = sign(event, "whsec_…")  # checked with stripe.Webhook.construct_event first

What the fake does as Stripe does: it answers 401 without `Authorization: Bearer <the key>`,
answers a repeated `Idempotency-Key` with the first answer (and 400 `idempotency_error` when
the parameters differ), and answers errors as `{"error": {"type", "code", "message", …}}`.
"""
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import urllib.parse

import stripe

from loopback_http import LoopbackServer

__all__ = ["FakeStripe", "Call", "stripe_event", "sign", "signature_header", "stripe_refuses"]

CHECKOUT_HOST = "https://checkout.stripe.test"


def _id(prefix, length=24):
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


class Call:
    """One request the fake got."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body  # bytes, exactly as sent
        # Not strict: a body that is no form must still get an answer (Stripe's 400), not kill the handler.
        text = body.decode("utf-8", errors="replace")
        self.pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)  # in order, repeats kept
        self.form = dict(self.pairs)
        self.answered = None  # (status, JSON)

    def __repr__(self):
        return f"Call({self.method} {self.path} {self.headers.get('idempotency-key')!r} → {self.answered and self.answered[0]})"


class FakeStripe:
    def __init__(self, secret_key):
        self.secret_key = secret_key
        self.lock = threading.Lock()
        self.calls = []
        self.sessions = {}  # id → session
        self.idempotent = {}  # key → (form, status, answer)
        self.failure = None  # (status, error JSON) while failing
        self.delay = 0.0
        self.http = LoopbackServer(self._respond, name="fake-stripe")
        self.port = self.http.port
        self.base = self.http.base

    def _respond(self, method, target, headers, body):
        call = Call(method, target, headers, body)
        status, answer = self.answer(call)
        call.answered = (status, answer)
        with self.lock:
            self.calls.append(call)
        return status, {"Content-Type": "application/json", "Request-Id": _id("req_", 14)}, json.dumps(answer).encode()

    # -- switches

    def fail_with(self, status, error_type, message, code=None):
        """Every following POST fails with STATUS and Stripe's error JSON, until reset()."""
        error = {"type": error_type, "message": message, "request_log_url": "https://dashboard.stripe.com/test/logs/" + _id("req_", 14)}
        if code:
            error["code"] = code
        self.failure = (status, {"error": error})

    def reset(self):
        self.failure = None

    # -- what it saw

    def requests(self, path=None):
        with self.lock:
            return [c for c in self.calls if path is None or c.path == path]

    def stop(self):
        self.http.stop()

    # -- Stripe's behaviour

    def answer(self, call):
        if self.delay:
            time.sleep(self.delay)
        if call.headers.get("authorization") != f"Bearer {self.secret_key}":
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided."}}
        if call.method == "GET" and call.path.startswith("/v1/checkout/sessions/"):
            session = self.sessions.get(call.path.rsplit("/", 1)[1])
            if session is None:
                return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such checkout.session"}}
            return 200, session
        if call.method != "POST" or call.path != "/v1/checkout/sessions":
            return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({call.method}: {call.path})."}}
        key = call.headers.get("idempotency-key")
        with self.lock:
            if key and key in self.idempotent:
                form, status, answer = self.idempotent[key]
                if form != call.form:
                    return 400, {"error": {"type": "idempotency_error",
                                           "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}}
                return status, answer
            if self.failure:
                # fail_with() stands for Stripe turning the request away before any endpoint
                # ran (an outage, rate limiting): Stripe saves no result for the key then, so
                # the same key works once the fake is reset().
                return self.failure
            status, answer = self.create_session(call.form)
            # Stripe saves a key's result once the endpoint ran; a request that failed
            # validation (parameter_missing, …) saves nothing.
            if key and status == 200:
                self.idempotent[key] = (call.form, status, answer)
            return status, answer

    def create_session(self, form):
        for required in ("mode", "success_url", "line_items[0][price_data][currency]", "line_items[0][price_data][unit_amount]"):
            if not form.get(required):
                return 400, {"error": {"type": "invalid_request_error", "code": "parameter_missing", "param": required,
                                       "message": f"Missing required param: {required}."}}
        if not form["line_items[0][price_data][unit_amount]"].isdigit():
            return 400, {"error": {"type": "invalid_request_error", "code": "parameter_invalid_integer", "param": "line_items[0][price_data][unit_amount]",
                                   "message": "Invalid integer"}}
        session_id = _id("cs_test_", 58)
        amount = int(form["line_items[0][price_data][unit_amount]"]) * int(form.get("line_items[0][quantity]", "1"))
        now = int(time.time())
        session = {
            "id": session_id, "object": "checkout.session", "mode": form["mode"], "status": "open", "payment_status": "unpaid",
            "url": f"{CHECKOUT_HOST}/c/pay/{session_id}", "client_reference_id": form.get("client_reference_id"),
            "amount_subtotal": amount, "amount_total": amount, "currency": form["line_items[0][price_data][currency]"],
            "success_url": form["success_url"], "cancel_url": form.get("cancel_url"), "payment_intent": None,
            "metadata": {k[len("metadata["):-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "created": now, "expires_at": now + 86400, "livemode": False,
        }
        self.sessions[session_id] = session
        return 200, session


# ---------------------------------------------------------------------------------------------
# Events, signed as Stripe signs them


def stripe_event(event_type, obj, event_id=None):
    """A Stripe Event object around OBJ (the event's `data.object`)."""
    return {
        "id": event_id or _id("evt_test_", 24), "object": "event", "api_version": "2024-06-20", "created": int(time.time()),
        "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None}, "type": event_type,
    }


def signature_header(body, secret, timestamp=None):
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body" keyed by the whsec_ string>`, as Stripe sends."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def sign(event, secret, timestamp=None):
    """(body bytes, Stripe-Signature header) for EVENT; the stripe package must accept them with
    SECRET (else AssertionError), so the daemon is tested against what real Stripe sends."""
    body = json.dumps(event, separators=(",", ": "), indent=2).encode()
    header = signature_header(body, secret, timestamp)
    checked = stripe.Webhook.construct_event(body, header, secret)
    assert checked["id"] == event["id"] and checked["type"] == event["type"], (checked, event)
    return body, header


def stripe_refuses(body, header, secret):
    """The stripe package refuses (BODY, HEADER) with SECRET: answers its message."""
    try:
        stripe.Webhook.construct_event(body, header, secret)
    except stripe.SignatureVerificationError as error:
        return str(error)
    raise AssertionError(f"the stripe package accepted a delivery meant to be refused: {header}")

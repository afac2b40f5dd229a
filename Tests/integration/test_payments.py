"""Payments through Stripe on the real binary over loopback, against fake_stripe.py (a fake
Stripe API in a thread, `serve --stripe-api-base`) and Stripe's webhook events signed as
Stripe signs them and confirmed with the official `stripe` package before each is sent.

The contract under test (README.md "Stripe", docs/API.md "Subscription" and "Payments"):

- With `--stripe-secret-key-file` and `--stripe-webhook-secret-file`, `POST
  /v1/subscription/create` opens an invoice and answers the Stripe Checkout Session's URL as
  `redirect_url`. The session is made by a form-encoded `POST /v1/checkout/sessions` with
  `Authorization: Bearer <key>`, `Idempotency-Key: tenantry-checkout-<invoice id>`,
  `client_reference_id` = the invoice id, `mode=payment`, the invoice total in minor units and
  success/cancel URLs on the portal's invoice page. `POST /v1/subscription/invoices/{id}/pay`
  answers the same session (`provider: stripe`).
- Stripe failing or unreachable: code 14 (HTTP 503, `Retry-After`), the invoice stays open.
- `POST /v1/payments/stripe/webhook` checks `Stripe-Signature` (`t=…,v1=…`, any line of the
  secret file, `t` within 5 minutes). `checkout.session.completed` with `payment_status` paid
  and the invoice's amount and currency marks it paid (`paid_by` `provider:stripe`, audited):
  the subscription turns ACTIVE and the plan's allowance is granted. A replayed event id, an
  unsigned, mis-signed, tampered or stale delivery is code 3 and changes nothing. A wrong
  amount is taken (200) but leaves the invoice open. `charge.refunded` records `refunded`,
  `charge.dispute.*` records `dispute_status`. Without Stripe configured: code 12 (HTTP 501).

Every test has its own database, fake Stripe and daemon, an operator and a PRO MONTHLY price
of 29.00 USD; owners sign up (their tenant starts on the trial).

Run with: TENANTRYD=… python3 -m pytest -q Tests/integration/test_payments.py
"""
import json
import time
from datetime import datetime, timezone
import urllib.error
import urllib.parse
import urllib.request

import pytest
import stripe

from conftest import Daemon, DaemonCalls, current_tenant_id, operator, sign_up
from webhook_receiver import advance_clock, instant
from fake_stripe import CHECKOUT_HOST, FakeStripe, sign, signature_header, stripe_event, stripe_refuses

SECRET_KEY = "sk_test_tenantry51HrQ7wLkDq0Xb3v"
WHSEC = "whsec_tenantryOldSigningSecret0123456789"
WHSEC_NEW = "whsec_tenantryNewSigningSecret9876543210"
PRICE = "29.00"
MINOR = 2900
WEBHOOK = "/v1/payments/stripe/webhook"
SESSIONS = "/v1/checkout/sessions"


# ---------------------------------------------------------------------------------------------
# Set-up


class PayTest(DaemonCalls):
    """A database with an operator and a PRO price, a fake Stripe, and a daemon that uses it."""

    def __init__(self, tmp_path, secrets=(WHSEC,), stripe=True, args=()):
        self.tmp = tmp_path
        self.db = tmp_path / "tenantry.sqlite"
        self.email, self.password = operator(self.db)
        self.stripe = FakeStripe(secret_key=SECRET_KEY)
        key_file = tmp_path / "stripe-key"
        key_file.write_text(SECRET_KEY + "\n")
        secret_file = tmp_path / "stripe-whsec"
        secret_file.write_text("".join(s + "\n" for s in secrets))
        args = list(args)
        if stripe:
            args += ["--stripe-secret-key-file", key_file, "--stripe-webhook-secret-file", secret_file,
                     "--stripe-api-base", self.stripe.base]
        self.daemon = Daemon(self.db, args=args)
        self.token = self.daemon.login(self.email, self.password)
        self.variant = self.ok("POST", "/v1/admin/variants", {"kind": "plan", "plan": "PRO", "period": "MONTHLY", "price": PRICE,
                                                              "currency": "usd", "description": "Pro monthly", "active": True})["variant"]
        self.allowance = int(next(c["total_amount"] for c in self.ok("GET", "/v1/usage/plans/PRO")["plan"]["config"]["usage_configs"]
                                  if c["category"] == "USAGE_AI_CREDIT"))
        self.owners = 0

    def owner(self):
        """A new owner (session token, tenant id)."""
        self.owners += 1
        token = sign_up(self.daemon, self.token, f"payer{self.owners}@example.com")
        return token, current_tenant_id(self.daemon, token)

    def subscribe(self, token):
        """POST /v1/subscription/create for the PRO price → (redirect_url, the open invoice)."""
        redirect = self.ok("POST", "/v1/subscription/create", {"id": self.variant["id"]}, token=token)["redirect_url"]
        return redirect, self.open_invoice(token)

    def open_invoice(self, token):
        invoices = self.ok("GET", "/v1/subscription/invoices", token=token)["invoices"]
        [invoice] = [i for i in invoices if i["status"] == "open"]
        return invoice

    def invoice(self, invoice_id, token):
        return self.ok("GET", f"/v1/subscription/invoices/{invoice_id}", token=token)["invoice"]

    def available(self, tenant_id):
        balances = self.ok("GET", f"/v1/usage/tenants/{tenant_id}/balance")["balances"]
        return sum(int(b["available"]) for b in balances if b["category"] == "USAGE_AI_CREDIT")

    def audit(self, **filters):
        return self.ok("GET", "/v1/admin/audit?" + urllib.parse.urlencode({"limit": 100, **filters}))["entries"]

    def deliver(self, body, header=None):
        """POSTs BODY to the webhook as Stripe does → (status, JSON answer)."""
        request = urllib.request.Request(self.daemon.url(WEBHOOK), data=body, method="POST")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        if header is not None:
            request.add_header("Stripe-Signature", header)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            raise AssertionError(f"webhook answered {status} with no JSON: {raw[:500]!r}\n{self.daemon.output()[-3000:]}")

    def completed(self, invoice, **fields):
        """completed() for the Checkout Session the fake made for INVOICE."""
        [session] = [s for s in self.stripe.sessions.values() if s["client_reference_id"] == invoice["id"]]
        return completed(invoice, session_id=session["id"], **fields)

    def send(self, event, secret=WHSEC, timestamp=None):
        """Signs EVENT (confirmed by the stripe package) and delivers it."""
        return self.deliver(*sign(event, secret, timestamp))

    def close(self):
        self.daemon.stop()
        self.stripe.stop()


@pytest.fixture
def pay(tmp_path):
    test = PayTest(tmp_path)
    yield test
    test.close()


def completed(invoice, amount=MINOR, currency="usd", payment_status="paid", payment_intent=None, event_id=None, session_id=None):
    """A checkout.session.completed event for INVOICE, as Stripe sends it."""
    session = {"id": session_id or "cs_test_" + invoice["id"][4:], "object": "checkout.session", "mode": "payment", "status": "complete",
               "client_reference_id": invoice["id"], "payment_status": payment_status, "amount_subtotal": amount,
               "amount_total": amount, "currency": currency, "payment_intent": payment_intent or "pi_" + invoice["id"][4:],
               "metadata": {"invoice_id": invoice["id"], "tenant_id": invoice["tenant_id"]}, "livemode": False}
    return stripe_event("checkout.session.completed", session, event_id=event_id)


def refused(answer):
    return answer.get("code") == 3 and isinstance(answer.get("message"), str) and answer["message"]


# ---------------------------------------------------------------------------------------------
# Checkout


def test_subscribing_creates_one_checkout_session_and_paying_reuses_it(pay):
    token, tenant_id = pay.owner()
    redirect, invoice = pay.subscribe(token)
    [call] = pay.stripe.requests(SESSIONS)
    session_id = call.answered[1]["id"]
    assert call.answered[0] == 200
    assert redirect == f"{CHECKOUT_HOST}/c/pay/{session_id}" == invoice["payment_url"]
    assert (invoice["status"], invoice["plan"], invoice["period"], invoice["currency"], invoice["total"], invoice["tenant_id"]) == \
        ("open", "PRO", "MONTHLY", "USD", 29.0, tenant_id)

    # What the daemon asked Stripe for.
    assert call.method == "POST"
    assert call.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert call.headers["idempotency-key"] == f"tenantry-checkout-{invoice['id']}"
    form = call.form
    assert form["mode"] == "payment"
    assert form["client_reference_id"] == invoice["id"]
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["line_items[0][price_data][unit_amount]"] == str(MINOR)
    assert form.get("line_items[0][quantity]", "1") == "1"
    portal = pay.daemon.url(f"/portal#/invoices/{invoice['id']}")
    assert form["success_url"] == f"{portal}?checkout=success"
    assert form["cancel_url"] == f"{portal}?checkout=canceled"
    assert len(call.pairs) == len(form), f"a parameter sent twice: {call.pairs}"

    # Paying the open invoice answers the same session, without a second one.
    answer = pay.ok("POST", f"/v1/subscription/invoices/{invoice['id']}/pay", token=token)
    assert answer == {"redirect_url": redirect, "provider": "stripe"}
    assert [c.answered[1]["id"] for c in pay.stripe.requests(SESSIONS)] == [session_id] * len(pay.stripe.requests(SESSIONS))
    assert len(pay.stripe.sessions) == 1
    assert pay.invoice(invoice["id"], token)["status"] == "open"
    assert pay.ok("GET", "/v1/subscription", token=token)["subscription"]["plan"] != "PRO"


def test_stripe_failing_or_unreachable_is_code_14_and_the_invoice_stays_open(pay):
    token, _ = pay.owner()
    pay.stripe.fail_with(500, "api_error", "An unknown error occurred")
    status, headers, answer = pay.request("POST", "/v1/subscription/create", {"id": pay.variant["id"]}, token=token)
    assert (status, answer.get("code")) == (503, 14), (status, answer)
    assert isinstance(answer["message"], str) and answer["message"]
    assert int(headers["Retry-After"]) > 0
    assert [c.answered[0] for c in pay.stripe.requests(SESSIONS)] == [500]
    invoice = pay.open_invoice(token)
    assert invoice["paid_at"] is None and invoice["paid_by"] == ""
    assert not invoice["payment_url"].startswith(CHECKOUT_HOST), invoice

    # Rate limited: the same.
    pay.stripe.fail_with(429, "rate_limit_error", "Too many requests", code="rate_limit")
    status, headers, answer = pay.request("POST", f"/v1/subscription/invoices/{invoice['id']}/pay", token=token)
    assert (status, answer.get("code")) == (503, 14), (status, answer)
    assert int(headers["Retry-After"]) > 0
    assert pay.invoice(invoice["id"], token)["status"] == "open"

    # Stripe back: paying works, under the same idempotency key.
    pay.stripe.reset()
    answer = pay.ok("POST", f"/v1/subscription/invoices/{invoice['id']}/pay", token=token)
    session = pay.stripe.requests(SESSIONS)[-1].answered[1]
    assert answer == {"redirect_url": session["url"], "provider": "stripe"}
    assert session["client_reference_id"] == invoice["id"]
    assert {c.headers["idempotency-key"] for c in pay.stripe.requests(SESSIONS)} == {f"tenantry-checkout-{invoice['id']}"}

    # Stripe gone (nothing listening): code 14 again, for another tenant.
    other, _ = pay.owner()
    pay.stripe.stop()
    status, headers, answer = pay.request("POST", "/v1/subscription/create", {"id": pay.variant["id"]}, token=other)
    assert (status, answer.get("code")) == (503, 14), (status, answer)
    assert int(headers["Retry-After"]) > 0
    assert pay.open_invoice(other)["status"] == "open"


# ---------------------------------------------------------------------------------------------
# Webhook events


def test_a_signed_checkout_completed_pays_the_invoice_once(pay):
    token, tenant_id = pay.owner()
    _, invoice = pay.subscribe(token)
    before = pay.available(tenant_id)
    event = pay.completed(invoice)

    status, answer = pay.send(event)
    assert status == 200, (answer, pay.daemon.output()[-3000:])
    assert isinstance(answer["outcome"], str) and answer["outcome"]
    paid = pay.invoice(invoice["id"], token)
    assert (paid["status"], paid["paid_by"]) == ("paid", "provider:stripe")
    assert paid["paid_at"] is not None
    subscription = pay.ok("GET", "/v1/subscription", token=token)["subscription"]
    assert (subscription["status"], subscription["plan"], subscription["period"]) == ("ACTIVE", "PRO", "MONTHLY")
    assert pay.available(tenant_id) == before + pay.allowance
    [entry] = entries = pay.audit(actor="provider:stripe")
    assert (entry["actor_email"], entry["action"], entry["target_type"], entry["target_id"], entry["tenant_id"]) == \
        ("provider:stripe", "invoice.paid", "invoice", invoice["id"], tenant_id), entry
    assert (entry["before"]["status"], entry["after"]["status"], entry["after"]["paid_by"]) == ("open", "paid", "provider:stripe")
    # `before` is the invoice as it was: the event's payment appears only after.
    assert entry["before"].get("payment_intent_id") is None and entry["after"]["payment_intent_id"] == event["data"]["object"]["payment_intent"], entry

    # The same event again (Stripe retries): refused, nothing changes.
    status, answer = pay.send(event)
    assert status == 400 and refused(answer), answer
    assert pay.invoice(invoice["id"], token) == paid
    assert pay.available(tenant_id) == before + pay.allowance
    assert pay.audit(actor="provider:stripe") == entries
    # Also under a new event id for the same session: the invoice is paid once.
    status, answer = pay.send(pay.completed(invoice))
    assert status == 200 and answer["outcome"] != "paid", answer
    assert pay.audit(actor="provider:stripe") == entries
    assert pay.invoice(invoice["id"], token)["paid_at"] == paid["paid_at"]
    assert pay.available(tenant_id) == before + pay.allowance

    # A paid invoice is not paid again.
    status, _, answer = pay.request("POST", f"/v1/subscription/invoices/{invoice['id']}/pay", token=token)
    assert status == 400 and refused(answer), answer


def test_unsigned_mis_signed_tampered_or_stale_deliveries_are_refused(pay):
    token, tenant_id = pay.owner()
    _, invoice = pay.subscribe(token)
    before = pay.available(tenant_id)
    event = pay.completed(invoice)
    body, header = sign(event, WHSEC)
    now = int(time.time())
    wrong = signature_header(body, "whsec_notTheEndpointsSecret")
    tampered = body.replace(b'"amount_total": 2900', b'"amount_total": 2901')
    assert tampered != body
    stale = signature_header(body, WHSEC, now - 6 * 60)
    future = signature_header(body, WHSEC, now + 6 * 60)
    v0_only = signature_header(body, WHSEC).replace("v1=", "v0=")
    deliveries = {"unsigned": (body, None), "empty header": (body, ""), "wrong secret": (body, wrong),
                  "tampered body": (tampered, header), "stale timestamp": (body, stale), "future timestamp": (body, future),
                  "v0 scheme only": (body, v0_only), "garbage header": (body, "not a signature")}
    for what, (sent, sig) in deliveries.items():
        if what != "future timestamp":  # stripe-python checks only the past
            assert stripe_refuses(sent, sig or "", WHSEC), what
        status, answer = pay.deliver(sent, sig)
        assert status == 400 and refused(answer), (what, status, answer)
        current = pay.invoice(invoice["id"], token)
        assert (current["status"], current["paid_at"], current["paid_by"]) == ("open", None, ""), what
    assert pay.available(tenant_id) == before
    assert pay.audit(actor="provider:stripe") == []
    assert pay.ok("GET", "/v1/subscription", token=token)["subscription"]["plan"] != "PRO"

    # The refusals did not use up the event id: the genuine delivery pays, signed 4 minutes
    # ago (inside the 5 minutes).
    status, answer = pay.deliver(*sign(event, WHSEC, now - 4 * 60))
    assert status == 200, answer
    assert pay.invoice(invoice["id"], token)["status"] == "paid"
    assert pay.available(tenant_id) == before + pay.allowance


def test_either_secret_of_a_rotation_is_accepted(tmp_path):
    pay = PayTest(tmp_path, secrets=(WHSEC, WHSEC_NEW))
    try:
        invoices = []
        for _ in range(3):
            token, tenant_id = pay.owner()
            invoices.append((token, tenant_id, pay.subscribe(token)[1], pay.available(tenant_id)))
        # The old secret, the new one, and a header with both (Stripe sends one v1 per secret).
        (t1, _, i1, _), (t2, _, i2, _), (t3, _, i3, _) = invoices
        assert pay.send(pay.completed(i1), WHSEC)[0] == 200
        assert pay.send(pay.completed(i2), WHSEC_NEW)[0] == 200
        body, header = sign(pay.completed(i3), WHSEC_NEW)
        stamp = header.split(",")[0][2:]
        both = signature_header(body, WHSEC, stamp) + "," + header.split(",")[1]
        stripe.Webhook.construct_event(body, both, WHSEC)
        stripe.Webhook.construct_event(body, both, WHSEC_NEW)
        status, answer = pay.deliver(body, both)
        assert status == 200, answer
        for token, tenant_id, invoice, before in invoices:
            assert pay.invoice(invoice["id"], token)["status"] == "paid"
            assert pay.available(tenant_id) == before + pay.allowance
        # A secret that is neither: refused.
        token, _ = pay.owner()
        _, invoice = pay.subscribe(token)
        body = json.dumps(pay.completed(invoice)).encode()
        status, answer = pay.deliver(body, signature_header(body, "whsec_someOtherEndpoint"))
        assert status == 400 and refused(answer), answer
        assert pay.invoice(invoice["id"], token)["status"] == "open"
    finally:
        pay.close()


def test_a_payment_of_the_wrong_amount_or_currency_or_for_a_void_invoice_leaves_it_open(pay):
    token, tenant_id = pay.owner()
    _, invoice = pay.subscribe(token)
    before = pay.available(tenant_id)
    for fields, outcome in (({"amount": MINOR - 1}, "refund it"), ({"amount": MINOR * 10}, "refund it"),
                            ({"currency": "eur"}, "refund it"), ({"payment_status": "unpaid"}, "not paid")):
        status, answer = pay.send(pay.completed(invoice, **fields))
        assert status == 200 and answer["outcome"].startswith(outcome), (fields, status, answer)
        current = pay.invoice(invoice["id"], token)
        assert (current["status"], current["paid_at"], current["paid_by"]) == ("open", None, ""), fields
    assert pay.available(tenant_id) == before
    assert pay.audit(actor="provider:stripe") == []
    # An event of another type is taken and ignored.
    status, answer = pay.send(stripe_event("customer.created", {"id": "cus_test_1", "object": "customer"}))
    assert status == 200, answer
    # The right amount then pays (the async variant of the event, for a delayed payment method).
    event = pay.completed(invoice)
    event["type"] = "checkout.session.async_payment_succeeded"
    assert pay.send(event) == (200, {"outcome": "paid"})
    assert pay.invoice(invoice["id"], token)["status"] == "paid"
    assert pay.available(tenant_id) == before + pay.allowance

    # An invoice replaced by a newer one (void) that Stripe then reports paid: refund it, the
    # void invoice stays void and the newer one open.
    other, other_tenant = pay.owner()
    _, stale = pay.subscribe(other)
    late = pay.completed(stale)
    pay.ok("POST", "/v1/subscription/create", {"id": pay.variant["id"]}, token=other)
    status, answer = pay.send(late)
    assert status == 200 and answer["outcome"].startswith("refund it"), answer
    assert pay.invoice(stale["id"], other)["status"] == "void"
    assert pay.open_invoice(other)["id"] != stale["id"]
    assert pay.ok("GET", "/v1/subscription", token=other)["subscription"]["plan"] != "PRO"


def test_refunds_and_disputes_are_recorded_on_the_invoice(pay):
    token, _ = pay.owner()
    _, invoice = pay.subscribe(token)
    intent = "pi_test_" + invoice["id"][4:]
    assert pay.send(pay.completed(invoice, payment_intent=intent))[0] == 200
    assert pay.invoice(invoice["id"], token)["refunded"] == 0

    charge = {"id": "ch_test_1", "object": "charge", "payment_intent": intent, "amount": MINOR, "amount_captured": MINOR,
              "amount_refunded": 1000, "currency": "usd", "refunded": False, "status": "succeeded"}
    status, answer = pay.send(stripe_event("charge.refunded", charge))
    assert status == 200, answer
    assert pay.invoice(invoice["id"], token)["refunded"] == 10.0
    status, answer = pay.send(stripe_event("charge.refunded", {**charge, "amount_refunded": MINOR, "refunded": True}))
    assert status == 200, answer
    refunded = pay.invoice(invoice["id"], token)
    assert refunded["refunded"] == 29.0
    assert refunded["status"] == "paid" and refunded["dispute_status"] == ""
    # A negative refund is refused before anything is written; one past the total counts as the whole.
    status, answer = pay.send(stripe_event("charge.refunded", {**charge, "amount_refunded": -5}))
    assert (status, answer["code"]) == (400, 3), answer
    assert "must not be negative" in answer["message"]
    status, answer = pay.send(stripe_event("charge.refunded", {**charge, "amount_refunded": 999999}))
    assert status == 200, answer
    assert pay.invoice(invoice["id"], token)["refunded"] == 29.0

    dispute = {"id": "dp_test_1", "object": "dispute", "charge": "ch_test_1", "payment_intent": intent, "amount": MINOR,
               "currency": "usd", "reason": "fraudulent", "status": "needs_response"}
    status, answer = pay.send(stripe_event("charge.dispute.created", dispute))
    assert status == 200, answer
    assert pay.invoice(invoice["id"], token)["dispute_status"] == "needs_response"
    status, answer = pay.send(stripe_event("charge.dispute.closed", {**dispute, "status": "lost"}))
    assert status == 200, answer
    assert pay.invoice(invoice["id"], token)["dispute_status"] == "lost"


def test_the_webhook_without_stripe_configured_is_code_12(tmp_path):
    pay = PayTest(tmp_path, stripe=False)
    try:
        token, _ = pay.owner()
        redirect, invoice = pay.subscribe(token)
        assert redirect == pay.daemon.url(f"/portal#/invoices/{invoice['id']}")
        assert pay.ok("POST", f"/v1/subscription/invoices/{invoice['id']}/pay", token=token)["provider"] == "manual"
        for sig in (None, "signed"):
            body, header = sign(completed(invoice), WHSEC)
            status, answer = pay.deliver(body, header if sig else None)
            assert (status, answer.get("code")) == (501, 12), answer
            assert isinstance(answer["message"], str) and answer["message"]
        assert pay.invoice(invoice["id"], token)["status"] == "open"
        assert pay.stripe.requests() == []
    finally:
        pay.close()


def test_the_customer_journey_from_sign_up_to_free(tmp_path):
    """Sign up → subscribe with a coupon → pay through Stripe → credits granted → cancel → FREE
    at the period's end, on a daemon whose clock the test moves."""
    pay = PayTest(tmp_path, args=["--test-clock"])
    try:
        pay.ok("POST", "/v1/admin/coupons", {"code": "LAUNCH20", "discount_type": "percent", "discount_value": "20", "max_uses": 100})
        token, tenant_id = pay.owner()  # signed up with the code emailed to them; on the trial
        assert pay.ok("GET", "/v1/subscription", token=token)["subscription"]["status"] == "TRIALING"
        trial_credits = pay.available(tenant_id)

        change = pay.ok("POST", "/v1/subscription/create", {"id": pay.variant["id"], "coupon": "launch20"}, token=token)
        invoice = pay.invoice(change["invoice_id"], token)
        assert [(line["kind"], line["amount"]) for line in invoice["lines"]] == [("plan", 29.0), ("discount", -5.8)]
        assert invoice["lines"][1]["description"] == "Coupon LAUNCH20: 20% off"
        assert (invoice["subtotal"], invoice["total"], invoice["status"]) == (29.0, 23.2, "open")
        [call] = pay.stripe.requests(SESSIONS)
        assert call.form["line_items[0][price_data][unit_amount]"] == "2320"
        assert change["redirect_url"] == invoice["payment_url"] and change["redirect_url"].startswith(CHECKOUT_HOST)

        # The customer pays on Stripe's page; Stripe tells Tenantry.
        status, answer = pay.send(pay.completed(invoice, amount=2320))
        assert (status, answer["outcome"]) == (200, "paid"), answer
        subscription = pay.ok("GET", "/v1/subscription", token=token)["subscription"]
        assert (subscription["status"], subscription["plan"]) == ("ACTIVE", "PRO")
        assert pay.available(tenant_id) == trial_credits + pay.allowance
        coupon = pay.ok("GET", "/v1/admin/coupons")["coupons"][0]
        assert coupon["current_uses"] == "1"

        canceled = pay.ok("POST", "/v1/subscription/cancel", {}, token=token)["subscription"]
        assert canceled["cancel_at_period_end"] is True
        period_end = instant(canceled["end_at"])
        # The test clock starts at the real time: a day past the period's end is enough.
        advance_clock(pay.ok, (period_end - datetime.now(timezone.utc)).total_seconds() + 86400)
        # Sessions have expired by then: the operator signs in again and looks.
        pay.token = pay.daemon.login(pay.email, pay.password)
        after = pay.ok("GET", f"/v1/admin/tenants/{tenant_id}")["tenant"]["subscription"]
        assert (after["plan"], after["status"], after["period"]) == ("FREE", "ACTIVE", "NOT_DEFINE"), after
        assert instant(after["start_at"]) == period_end
        # No renewal was billed, and the operator sees the month's revenue.
        assert [i["kind"] for i in pay.ok("GET", f"/v1/admin/invoices?tenant_id={tenant_id}")["invoices"]] == ["subscription"]
        months = pay.ok("GET", "/v1/admin/revenue/monthly?months=3")["months"]
        assert sum(m["total_revenue"] for m in months) == 23.2
    finally:
        pay.close()


"""A real webhook receiver for the integration tests: Python's http.server on a loopback
port, in a thread, that checks every delivery's signature with the `standardwebhooks`
package (https://pypi.org/project/standardwebhooks/, `make test-deps` installs it).

    receiver = Receiver(statuses=[500])   # answers 500 once, then 200
    receiver.secrets = [secret]           # every POST is verified with each of these
    ...
    [message] = receiver.wait_for(1)
    assert message.verified(secret)

Under `serve --test-clock` the daemon signs with its moved clock, and standardwebhooks
refuses a `webhook-timestamp` more than 5 minutes from *its* now; `clock_offset` (seconds,
the daemon's now minus the real one) makes the verification use the daemon's time, as a
receiver living in the daemon's time would.
"""
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks.webhooks as _standardwebhooks
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["Message", "Receiver", "WebhookVerificationError", "free_port", "verify"]

_clock_lock = threading.Lock()


def instant(text):
    """An RFC 3339 UTC date-time of the daemon ("…Z") as an aware datetime."""
    assert isinstance(text, str) and text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1] + "+00:00")


def advance_clock(ok, seconds, receivers=()):
    """Moves a --test-clock daemon's clock through OK (a call answering the JSON of a 2xx); due
    jobs run before the answer. Receivers verify signatures in the daemon's time, and a
    delivery can arrive before the answer does: their clocks move first, and are set exactly
    to the daemon's after."""
    for receiver in receivers:
        receiver.clock_offset += seconds
    now = instant(ok("POST", "/v1/admin/clock/advance", {"seconds": int(seconds)})["now"])
    for receiver in receivers:
        receiver.clock_offset = (now - datetime.now(timezone.utc)).total_seconds()
    return now


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def verify(secret, body, headers, now=None):
    """`Webhook(secret).verify(body, headers)`; with NOW (an aware datetime) the timestamp
    tolerance is checked against NOW instead of the real clock. Raises WebhookVerificationError."""
    if now is None:
        return Webhook(secret).verify(body, headers)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return now if tz is None else now.astimezone(tz)

    with _clock_lock:
        original = _standardwebhooks.datetime
        _standardwebhooks.datetime = Frozen
        try:
            return Webhook(secret).verify(body, headers)
        finally:
            _standardwebhooks.datetime = original


class Message:
    """One POST the receiver got."""

    def __init__(self, path, headers, body, answered, clock_offset):
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body  # bytes, exactly as sent
        self.answered = answered  # the status the receiver answered
        self.received_at = time.time()
        self.clock_offset = clock_offset
        # secret → the verified payload, or the WebhookVerificationError's text
        self.checks = {}

    @property
    def webhook_id(self):
        return self.headers.get("webhook-id")

    @property
    def signatures(self):
        return self.headers.get("webhook-signature", "").split(" ")

    @property
    def daemon_now(self):
        """The daemon's time when this arrived (None when the clock was not moved)."""
        if not self.clock_offset:
            return None
        return datetime.fromtimestamp(self.received_at, tz=timezone.utc) + timedelta(seconds=self.clock_offset)

    def verify(self, secret):
        """The payload standardwebhooks verified with SECRET; raises WebhookVerificationError."""
        return verify(secret, self.body, self.headers, now=self.daemon_now)

    def verified(self, secret):
        """Whether the check at receipt passed with SECRET."""
        return isinstance(self.checks.get(secret), dict)

    def __repr__(self):
        return f"<Message {self.webhook_id} {self.answered} {self.body[:200]!r} checks={self.checks}>"


class Receiver:
    def __init__(self, port=None, statuses=(), start=True):
        self.port = port or free_port()
        self.statuses = list(statuses)  # answered in turn; 200 once they run out
        self.secrets = []
        self.clock_offset = 0.0
        self.messages = []
        self.other_requests = []
        self._lock = threading.Condition()
        self._server = None
        self._thread = None
        if start:
            self.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/tenantry"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    answered = receiver.statuses.pop(0) if receiver.statuses else 200
                    secrets = list(receiver.secrets)
                    offset = receiver.clock_offset
                message = Message(self.path, headers, body, answered, offset)
                for secret in secrets:
                    try:
                        message.checks[secret] = message.verify(secret)
                    except WebhookVerificationError as error:
                        message.checks[secret] = f"{type(error).__name__}: {error}"
                reply = b"ok" if answered < 300 else b"not now"
                self.send_response(answered)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(reply)
                self.close_connection = True
                with receiver._lock:
                    receiver.messages.append(message)
                    receiver._lock.notify_all()

            def do_GET(self):
                with receiver._lock:
                    receiver.other_requests.append(("GET", self.path))
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def received(self, event_type=None):
        """A copy of the messages so far, optionally only those whose body says EVENT_TYPE."""
        import json
        with self._lock:
            messages = list(self.messages)
        if event_type is None:
            return messages
        return [m for m in messages if json.loads(m.body).get("type") == event_type]

    def wait_for(self, count, timeout=10, event_type=None):
        """Waits (bounded) until at least COUNT messages (of EVENT_TYPE) arrived; answers them all."""
        deadline = time.time() + timeout
        while True:
            messages = self.received(event_type)
            if len(messages) >= count or time.time() >= deadline:
                break
            with self._lock:
                self._lock.wait(timeout=min(0.1, max(0.0, deadline - time.time())))
        assert len(messages) >= count, f"the receiver got {len(messages)} of {count} {event_type or 'deliveries'} in {timeout} s: {messages}"
        return messages

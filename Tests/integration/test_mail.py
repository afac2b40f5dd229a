"""Real email delivery: `serve --mail-transport smtp` against a real SMTP server (aiosmtpd, see
smtp_server.py) with AUTH and STARTTLS on a certificate of the test's own CA.

The contract under test: emails are queued in the outbox and sent by the `deliverMail` job
(every 5 s, and whenever POST /v1/admin/clock/advance runs due jobs under --test-clock); a
transient failure (4xx, refused or dropped connection, timeout) is retried with backoff from
30 s (due at next_attempt_at) for up to 24 hours after queueing, then fails; a permanent one
(5xx) fails at once. GET /v1/admin/outbox shows each email's status, attempts, last_error,
next_attempt_at, sent_at and body.

Most tests move the daemon's clock (--test-clock) to make a retry due at once; `deliver()`
advances 6 s, past deliverMail's 5-second interval.

Run with: python3 -m pytest -q Tests/integration/test_mail.py
"""
import base64
import math
import re
import secrets
import subprocess
import time
import urllib.parse
from datetime import datetime
from email.headerregistry import Address
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

import aiosmtpd  # noqa: E402,F401  (make test-deps installs it)

from conftest import BINARY, Daemon, free_port, operator  # noqa: E402
from smtp_server import Certificates, SMTPServer  # noqa: E402

SMTP_USER = "tenantry-mailer"
MAIL_FROM_NAME, MAIL_FROM_ADDRESS = "Tenantry Test", "noreply@example.com"
MAIL_FROM = f"{MAIL_FROM_NAME} <{MAIL_FROM_ADDRESS}>"
USER_PASSWORD = "user password 1"
HOUR = 3600
OUTBOX_FIELDS = {"id", "to", "subject", "status", "attempts", "last_error", "next_attempt_at", "created_at", "sent_at", "body"}


# ---------------------------------------------------------------------------------------------
# Set-up: one database with an operator, SMTP servers and daemons, all torn down after the test


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return Certificates.create(tmp_path_factory.mktemp("tls"))


class MailTest:
    def __init__(self, tmp_path, certificates):
        self.tmp = tmp_path
        self.db = tmp_path / "tenantry.sqlite"
        self.certificates = certificates
        # Distinctive, so that finding it in a log means it leaked; the file ends with a newline
        # that the daemon must strip.
        self.password = "smtp-pw-" + secrets.token_urlsafe(24)
        self.password_file = tmp_path / "smtp-password"
        self.password_file.write_text(self.password + "\n")
        self.password_file.chmod(0o600)
        self.operator_email, self.operator_password = operator(self.db)
        self.servers = []
        self.daemons = []

    def server(self, **options):
        options.setdefault("certificates", self.certificates)
        options.setdefault("user", SMTP_USER)
        options.setdefault("password", self.password)
        server = SMTPServer(**options)
        self.servers.append(server)
        return server

    def mail_args(self, server, *, timeout=5, starttls=None):
        """The mail flags for SERVER; starttls None leaves --smtp-starttls at its default (required)."""
        args = ["--mail-transport", "smtp", "--smtp-url", server.url, "--smtp-user", SMTP_USER,
                "--smtp-password-file", str(self.password_file), "--smtp-ca-file", str(self.certificates.ca_file),
                "--mail-from", MAIL_FROM, "--smtp-timeout-seconds", str(timeout)]
        if starttls is not None:
            args += ["--smtp-starttls", starttls]
        return args

    def start(self, server=None, *extra, test_clock=True, env=None, **mail_options):
        """Starts tenantryd on the test's database (mail flags for SERVER unless None) and
        answers (daemon, operator session token)."""
        args = (["--test-clock"] if test_clock else []) + (self.mail_args(server, **mail_options) if server else []) + list(extra)
        daemon = Daemon(self.db, args=args, env=env)
        self.daemons.append(daemon)
        return daemon, daemon.login(self.operator_email, self.operator_password)

    def close(self):
        for daemon in self.daemons:
            daemon.stop()
        for server in self.servers:
            server.close()


@pytest.fixture
def mail(tmp_path, certificates):
    test = MailTest(tmp_path, certificates)
    yield test
    test.close()


# ---------------------------------------------------------------------------------------------
# Helpers


def instant(text):
    assert isinstance(text, str) and text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1] + "+00:00")


def advance(daemon, token, seconds):
    """Moves the daemon's clock; due jobs (deliverMail among them) run before the answer."""
    status, _, body = daemon.request("POST", "/v1/admin/clock/advance", {"seconds": int(seconds)}, token=token)
    assert status == 200, body
    return instant(body["now"])


def deliver(daemon, token):
    """Makes deliverMail due now (its interval is 5 s) and lets it run."""
    return advance(daemon, token, 6)


def advance_past_next_attempt(daemon, token, email):
    """Moves the clock just past the email's next_attempt_at (and at least past deliverMail's interval)."""
    due = instant(email["next_attempt_at"])
    now = advance(daemon, token, 1)
    return advance(daemon, token, max(6, math.ceil((due - now).total_seconds()) + 1))


def outbox(daemon, token, to):
    status, _, body = daemon.request("GET", "/v1/admin/outbox?to=" + urllib.parse.quote(to), token=token)
    assert status == 200, body
    return body["emails"]


def the_email(daemon, token, to):
    emails = outbox(daemon, token, to)
    assert len(emails) == 1, emails
    return emails[0]


def wait_for_email(daemon, token, to, predicate, what, timeout=15, server=None):
    """Polls the outbox until the one email to TO satisfies PREDICATE; fails saying WHAT was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        email = the_email(daemon, token, to)
        if predicate(email):
            return email
        if time.monotonic() > deadline:
            transcripts = server.transcripts() if server else ""
            pytest.fail(f"waited {timeout} s for {what}; the email is {email}\n"
                        f"--- daemon log (tail) ---\n{daemon.output()[-4000:]}\n--- SMTP ---\n{transcripts}")
        time.sleep(0.1)


def attempted(email):
    return int(email["attempts"]) >= 1 and email["last_error"] != ""


def register(daemon, address):
    status, _, body = daemon.request("POST", "/v1/account/register", {"email": address})
    assert status == 200, body
    return body["token"]


def six_digit_numbers(text):
    # Not "#333333" (a colour in HTML), not part of a longer number.
    return set(re.findall(r"(?<![\d#])(\d{6})(?!\d)", text))


def parts(received):
    parsed = received.message
    return {part.get_content_type(): part for part in parsed.iter_parts()}


def text_of(received, content_type="text/plain"):
    return parts(received)[content_type].get_content()


def code_in(received):
    """The registration code in a received message: the one 6-digit number of its text part,
    present in its HTML part too."""
    in_text = six_digit_numbers(text_of(received))
    assert len(in_text) == 1, text_of(received)
    code, = in_text
    assert code in six_digit_numbers(text_of(received, "text/html")), text_of(received, "text/html")
    return code


def assert_well_formed(received, to, subject):
    """A real MIME message with the contract's headers: From as --mail-from, To, Subject, Date,
    Message-ID, MIME-Version 1.0, multipart/alternative of text/plain then text/html in UTF-8."""
    raw = received.raw_headers
    try:
        raw.decode("ascii")
    except UnicodeDecodeError:
        pytest.fail(f"non-ASCII bytes in the header section (a non-ASCII header must be RFC 2047-encoded): {raw!r}")
    parsed = received.message
    for name in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"):
        assert len(parsed.get_all(name) or []) == 1, f"{name} should appear once: {raw!r}"
    assert parsed["From"].addresses == (Address(MAIL_FROM_NAME, addr_spec=MAIL_FROM_ADDRESS),), parsed["From"]
    assert [a.addr_spec for a in parsed["To"].addresses] == [to], parsed["To"]
    assert parsed["Subject"] == subject, (parsed["Subject"], subject)
    parsedate_to_datetime(str(parsed["Date"]))  # raises unless an RFC 5322 date
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(parsed["Message-ID"]).strip()), parsed["Message-ID"]
    assert str(parsed["MIME-Version"]).strip() == "1.0", parsed["MIME-Version"]
    assert parsed.get_content_type() == "multipart/alternative", parsed["Content-Type"]
    # RFC 2046 §5.1.4: alternatives from plainest to richest; readers show the last one they can.
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"], raw
    for part in parsed.iter_parts():
        assert part.get_content_charset() == "utf-8", (part.get_content_type(), part["Content-Type"])
        assert part.get_content().strip(), f"empty {part.get_content_type()} part"
    return parsed


def database_bytes(db):
    """The database as it rests on disk: the main file, its WAL and shared memory."""
    return b"".join(Path(f"{db}{suffix}").read_bytes() for suffix in ("", "-wal", "-shm") if Path(f"{db}{suffix}").exists())


def verify(daemon, address, code, token):
    return daemon.request("POST", "/v1/account/register/verify", {"email": address, "code": code, "token": token})


# ---------------------------------------------------------------------------------------------
# 1. Delivered over STARTTLS with AUTH


def test_a_registration_email_is_delivered_over_starttls_with_auth_and_its_code_works(mail):
    server = mail.server()
    daemon, token = mail.start(server)
    address = "new.user@example.com"
    registration = register(daemon, address)
    deliver(daemon, token)
    email = wait_for_email(daemon, token, address, lambda e: e["status"] == "sent", "the email to be sent", server=server)

    assert OUTBOX_FIELDS <= set(email), sorted(email)
    assert email["attempts"] == "1", email
    assert email["last_error"] == "", email
    assert instant(email["sent_at"]) >= instant(email["created_at"]), email
    received, = server.messages
    assert received.rcpt_tos == [address], received
    assert received.mail_from == MAIL_FROM_ADDRESS, received
    assert received.tls, f"the message came without TLS:\n{server.transcripts()}"
    assert received.auth_user == SMTP_USER, received
    connection = server.connections[received.connection]
    assert connection.commands.index("STARTTLS") < connection.commands.index("AUTH"), connection.transcript
    assert_well_formed(received, address, email["subject"])

    code = code_in(received)
    assert code in email["body"], "the outbox and the message disagree on the code"
    # Codes never rest in plain text in the database (only their HMAC), nor in the log
    # (the mailer never logs a body: it may hold a secret).
    assert code.encode() not in database_bytes(mail.db), "the code is in the database in plain text"
    assert code not in daemon.output(), "the code is in the daemon's log"

    # The code in the message is the right one: it completes the registration.
    status, _, body = verify(daemon, address, code, registration)
    assert status == 200, body
    status, _, body = daemon.request("POST", "/v1/user/initial", {"password": USER_PASSWORD}, token=body["token"])
    assert status == 200, body
    user = body["token"]

    # A non-ASCII subject is RFC 2047-encoded: the invitation's subject names the inviter.
    status, _, body = daemon.request("POST", "/v1/user/name", {"name": "Zoë Ångström 日本"}, token=user)
    assert status == 200, body
    friend = "friend@example.com"
    status, _, body = daemon.request("POST", "/v1/tenant/members/invite", {"members": [{"email": friend, "role": "member"}]}, token=user)
    assert status == 200 and body["rets"][0]["status"] == "SC_OK", body
    link = body["rets"][0]["invited_url"]
    deliver(daemon, token)
    invitation = wait_for_email(daemon, token, friend, lambda e: e["status"] == "sent", "the invitation to be sent", server=server)
    assert "Zoë Ångström 日本" in invitation["subject"], invitation
    received, = server.messages_to(friend)
    subject_lines = re.findall(rb"^Subject:.*(?:\r?\n[ \t].*)*", received.raw_headers, re.M)
    assert len(subject_lines) == 1 and re.search(rb"=\?utf-8\?[bq]\?", subject_lines[0], re.I), received.raw_headers
    assert_well_formed(received, friend, invitation["subject"])
    assert link in text_of(received), "the invitation link is not in the message"

    # Exactly once each: later runs of deliverMail send nothing again.
    advance(daemon, token, 120)
    assert [m.rcpt_tos for m in server.messages] == [[address], [friend]], server.transcripts()
    assert the_email(daemon, token, address)["attempts"] == "1"


def test_implicit_tls_with_an_smtps_url(mail):
    server = mail.server(tls="implicit")
    daemon, token = mail.start(server)
    address = "smtps@example.com"
    register(daemon, address)
    deliver(daemon, token)
    wait_for_email(daemon, token, address, lambda e: e["status"] == "sent", "the email to be sent", server=server)
    received, = server.messages
    assert received.tls and received.auth_user == SMTP_USER, received
    assert_well_formed(received, address, the_email(daemon, token, address)["subject"])


# ---------------------------------------------------------------------------------------------
# 2. Down, then back


def test_the_server_is_down_then_back_and_the_email_is_delivered_once(mail):
    server = mail.server(start=False)  # its port, refusing connections
    daemon, token = mail.start(server)
    address = "patient@example.com"
    registration = register(daemon, address)
    attempt_time = deliver(daemon, token)
    email = wait_for_email(daemon, token, address, attempted, "a failed attempt")
    assert email["status"] == "queued", email
    assert email["sent_at"] is None, email
    assert instant(email["next_attempt_at"]) > attempt_time, email
    assert server.connections == []

    server.start()
    advance_past_next_attempt(daemon, token, email)
    email = wait_for_email(daemon, token, address, lambda e: e["status"] == "sent", "the retry to deliver", server=server)
    assert int(email["attempts"]) >= 2, email
    received, = server.messages
    assert received.tls and received.auth_user == SMTP_USER
    status, _, body = verify(daemon, address, code_in(received), registration)
    assert status == 200, body

    advance(daemon, token, 600)
    assert len(server.messages) == 1, server.transcripts()


# ---------------------------------------------------------------------------------------------
# 3. Permanent failure: no retry


@pytest.mark.parametrize("stage, reply", [("RCPT", "550 5.1.1 No such user here"), ("DATA", "554 5.7.1 Message refused")])
def test_a_permanent_refusal_fails_at_once_and_is_never_retried(mail, stage, reply):
    server = mail.server()
    server.fail(stage, reply)
    daemon, token = mail.start(server)
    address = "nobody@example.com"
    register(daemon, address)
    deliver(daemon, token)
    email = wait_for_email(daemon, token, address, lambda e: e["status"] == "failed", f"the {reply[:3]} to fail the email", server=server)
    assert email["attempts"] == "1", email
    assert reply[:3] in email["last_error"], email
    assert email["sent_at"] is None, email
    connections = len(server.connections)

    # Even with the server willing now, and hours later, nothing is tried again.
    server.clear_failures()
    advance(daemon, token, 3 * HOUR)
    advance(daemon, token, 6 * HOUR)
    email = the_email(daemon, token, address)
    assert (email["status"], email["attempts"]) == ("failed", "1"), email
    assert len(server.connections) == connections, server.transcripts()
    assert server.messages == []


# ---------------------------------------------------------------------------------------------
# 4. Transient failure: retried


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_a_transient_refusal_is_retried_with_backoff_then_delivered_once(mail, stage):
    server = mail.server()
    server.fail(stage, "451 4.3.0 Try again later")
    daemon, token = mail.start(server)
    address = "later@example.com"
    registration = register(daemon, address)
    first_attempt = deliver(daemon, token)
    email = wait_for_email(daemon, token, address, attempted, "a first attempt", server=server)
    assert (email["status"], email["attempts"]) == ("queued", "1"), email
    assert "451" in email["last_error"], email
    # Backoff from 30 s, with jitter: neither at once nor far away.
    wait = (instant(email["next_attempt_at"]) - first_attempt).total_seconds()
    assert 15 <= wait <= 120, f"the first retry is due {wait} s after the attempt: {email}"

    # Still refused: a second attempt, still queued.
    advance_past_next_attempt(daemon, token, email)
    email = wait_for_email(daemon, token, address, lambda e: int(e["attempts"]) >= 2, "a second attempt", server=server)
    assert email["status"] == "queued" and "451" in email["last_error"], email
    assert server.messages == []

    server.clear_failures()
    advance_past_next_attempt(daemon, token, email)
    email = wait_for_email(daemon, token, address, lambda e: e["status"] == "sent", "the delivery", server=server)
    assert int(email["attempts"]) >= 3, email
    received, = server.messages
    assert received.rcpt_tos == [address] and received.tls
    status, _, body = verify(daemon, address, code_in(received), registration)
    assert status == 200, body
    advance(daemon, token, 300)
    assert len(server.messages) == 1, server.transcripts()


def test_a_transient_failure_gives_up_24_hours_after_the_email_was_queued(mail):
    server = mail.server(start=False)
    daemon, token = mail.start(server)
    # An address with an account gets the "you already have an account" email: no code in it,
    # so nothing expires before the 24 hours do.
    register(daemon, mail.operator_email)
    deliver(daemon, token)
    email = wait_for_email(daemon, token, mail.operator_email, attempted, "a first attempt")
    assert email["status"] == "queued", email
    advance(daemon, token, 12 * HOUR)
    email = the_email(daemon, token, mail.operator_email)
    assert email["status"] == "queued", f"gave up before 24 hours: {email}"
    assert int(email["attempts"]) >= 2, email
    advance(daemon, token, 12 * HOUR + 120)
    email = wait_for_email(daemon, token, mail.operator_email, lambda e: e["status"] == "failed", "the email to fail after 24 hours")
    assert email["last_error"] != "" and email["sent_at"] is None, email
    server.start()
    advance(daemon, token, HOUR)
    assert server.messages == []


# ---------------------------------------------------------------------------------------------
# 5. A stalled server blocks nothing else


def test_a_stalled_server_times_out_without_blocking_the_daemon(mail):
    server = mail.server()
    server.stall()  # accepts, never greets
    daemon, token = mail.start(server, timeout=2)
    address = "stalled@example.com"
    register(daemon, address)
    # The scheduler (every 5 s) picks the email up: no advance, so no request is tied to the job.
    held = server.wait_for(lambda s: s.stalled, timeout=15)
    assert held, f"the daemon never connected:\n{daemon.output()[-3000:]}"

    # While the connection hangs, the daemon answers: a liveness probe, an operator's read and
    # a write (so delivery holds neither the polling threads nor the database writer).
    status, _, _ = daemon.request("GET", "/healthz", timeout=5)
    assert status == 200
    status, _, body = daemon.request("GET", "/v1/admin/jobs", token=token, timeout=5)
    assert status == 200 and "deliverMail" in {job["id"] for job in body["jobs"]}, body
    status, _, body = daemon.request("POST", "/v1/account/register", {"email": "meanwhile@example.com"}, timeout=5)
    assert status == 200, body
    answered = time.time()
    # Not a stopwatch: the answers came before the daemon let go of the stalled connection (its
    # 2-second timeout), not after it, which is what "while it stalls" means.
    released = held[0].closed_at
    assert released is None or released > answered, (
        f"the requests were answered {answered - released:.2f} s after the daemon gave up on the stalled server: "
        "they waited for the delivery")

    email = wait_for_email(daemon, token, address, attempted, "the attempt to time out", server=server)
    assert email["status"] == "queued", email
    assert re.search(r"time[sd]?[ -]?out", email["last_error"], re.I), email
    assert server.messages == []

    # Once the server answers again, the retry delivers it.
    server.unstall()
    advance_past_next_attempt(daemon, token, email)
    wait_for_email(daemon, token, address, lambda e: e["status"] == "sent", "the retry to deliver", server=server)
    assert len(server.messages_to(address)) == 1


# ---------------------------------------------------------------------------------------------
# 6. STARTTLS required, none offered; and a certificate nobody vouched for


def test_starttls_required_but_not_offered_sends_nothing(mail):
    server = mail.server(tls=None)  # plain SMTP; AUTH offered in clear, to catch a careless client
    daemon, token = mail.start(server)  # --smtp-starttls left at its default: required
    address = "cleartext@example.com"
    register(daemon, address)
    deliver(daemon, token)
    email = wait_for_email(daemon, token, address, attempted, "the attempt to be refused", server=server)
    assert email["status"] != "sent", email
    assert re.search(r"tls|ssl", email["last_error"], re.I), email
    assert server.messages == []
    assert server.connections, "the daemon never asked the server"
    for connection in server.connections:
        assert "AUTH" not in connection.commands, f"the password went out in clear:\n{server.transcripts()}"
        assert "MAIL" not in connection.commands, server.transcripts()


def test_starttls_off_sends_over_a_plain_connection(mail):
    server = mail.server(tls=None)
    daemon, token = mail.start(server, starttls="off")
    address = "plain@example.com"
    register(daemon, address)
    deliver(daemon, token)
    wait_for_email(daemon, token, address, lambda e: e["status"] == "sent", "the email to be sent", server=server)
    received, = server.messages
    assert not received.tls and received.auth_user == SMTP_USER, received


def test_a_certificate_from_an_unknown_ca_is_refused(mail, tmp_path):
    server = mail.server(certificates=Certificates.create(tmp_path / "stranger", name="Stranger CA"))
    daemon, token = mail.start(server)  # trusts the test's CA only
    address = "mitm@example.com"
    register(daemon, address)
    deliver(daemon, token)
    email = wait_for_email(daemon, token, address, attempted, "the attempt to be refused", server=server)
    assert email["status"] != "sent", email
    assert server.messages == []
    for connection in server.connections:
        assert "AUTH" not in connection.commands, f"the password went to an unverified server:\n{server.transcripts()}"


# ---------------------------------------------------------------------------------------------
# 7. The SMTP password stays secret


def leaked_forms(user, password):
    """The password as it could appear: plain, URL-encoded, and in AUTH PLAIN / AUTH LOGIN's base64."""
    def b64(text):
        return base64.b64encode(text.encode()).decode()
    return {password, urllib.parse.quote(password, safe=""), b64(password), b64(f"\0{user}\0{password}"), b64(f"{user}\0{password}")}


def test_the_smtp_password_never_appears_in_the_log(mail):
    server = mail.server()
    server.password = "not the daemon's password"  # first, the server refuses the daemon's login
    # Configured from the environment this time (TENANTRY_<FLAG>), at the most verbose log level.
    env = {
        "TENANTRY_MAIL_TRANSPORT": "smtp", "TENANTRY_SMTP_URL": server.url, "TENANTRY_SMTP_USER": SMTP_USER,
        "TENANTRY_SMTP_PASSWORD_FILE": str(mail.password_file), "TENANTRY_SMTP_CA_FILE": str(mail.certificates.ca_file),
        "TENANTRY_SMTP_TIMEOUT_SECONDS": "5", "TENANTRY_LOG_LEVEL": "trace",
    }
    daemon, token = mail.start(None, env=env)
    register(daemon, "refused@example.com")
    deliver(daemon, token)
    refused = wait_for_email(daemon, token, "refused@example.com", attempted, "the refused login", server=server)
    assert refused["status"] != "sent", refused
    assert server.connections[0].auth_attempts and not server.connections[0].auth_attempts[0][2], server.transcripts()

    server.password = mail.password  # the trailing newline of the file is not part of it
    register(daemon, "accepted@example.com")
    deliver(daemon, token)
    wait_for_email(daemon, token, "accepted@example.com", lambda e: e["status"] == "sent", "the email to be sent", server=server)
    received = server.messages_to("accepted@example.com")[0]
    assert received.auth_user == SMTP_USER
    # --mail-from not given: the default sender.
    assert received.message["From"].addresses == (Address("Tenantry", addr_spec="tenantry@localhost"),), received.message["From"]

    _, _, jobs = daemon.request("GET", "/v1/admin/jobs", token=token)
    _, _, emails = daemon.request("GET", "/v1/admin/outbox", token=token)
    assert daemon.stop() == 0
    seen = {"the daemon's log": daemon.output(), "GET /v1/admin/jobs": str(jobs), "GET /v1/admin/outbox": str(emails)}
    for where, text in seen.items():
        for form in leaked_forms(SMTP_USER, mail.password):
            assert form not in text, f"the SMTP password ({form!r}) is in {where}"


def test_no_flag_takes_the_smtp_password_itself(tmp_path):
    command = [str(BINARY), "serve", "--db", str(tmp_path / "t.sqlite"), "--listen", f"127.0.0.1:{free_port()}",
               "--mail-transport", "smtp", "--smtp-url", "smtp://127.0.0.1:25", "--smtp-password", "hunter2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("serve accepted --smtp-password and started")
    assert process.returncode != 0, output
    assert "--smtp-password" in output, output


# ---------------------------------------------------------------------------------------------
# 8. A restart loses the codes held in memory: those emails fail, visibly, and are never sent blank


def test_after_a_restart_a_queued_code_email_fails_and_is_never_sent_blank(mail):
    server = mail.server(start=False)
    daemon, token = mail.start(server)
    address = "restarted@example.com"
    register(daemon, address)
    register(daemon, mail.operator_email)  # "you already have an account": nothing secret in it
    deliver(daemon, token)
    wait_for_email(daemon, token, address, attempted, "a failed attempt")
    wait_for_email(daemon, token, mail.operator_email, attempted, "a failed attempt")
    assert daemon.stop() == 0

    server.start()
    daemon, token = mail.start(server)
    email = the_email(daemon, token, address)
    if email["status"] == "queued":
        advance_past_next_attempt(daemon, token, email)
    email = wait_for_email(daemon, token, address, lambda e: e["status"] == "failed", "the code email to fail", server=server)
    assert re.search(r"code|expired|lost|secret", email["last_error"], re.I), email
    assert email["sent_at"] is None, email

    # The email without a secret still goes: the server was reachable, and nothing else came.
    other = the_email(daemon, token, mail.operator_email)
    if other["status"] == "queued":
        advance_past_next_attempt(daemon, token, other)
    wait_for_email(daemon, token, mail.operator_email, lambda e: e["status"] == "sent", "the other email to be sent", server=server)
    advance(daemon, token, HOUR)
    assert [m.rcpt_tos for m in server.messages] == [[mail.operator_email]], server.transcripts()
    assert server.messages_to(address) == []
    assert the_email(daemon, token, address)["status"] == "failed"

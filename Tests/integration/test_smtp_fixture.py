"""The SMTP fixture itself (smtp_server.py), checked with Python's smtplib and with curl (the
same libcurl and OpenSSL the daemon uses), so that test_mail.py's failures are the daemon's.

Run with: python3 -m pytest -q Tests/integration/test_smtp_fixture.py
"""
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
from email.message import EmailMessage

import pytest

import aiosmtpd  # noqa: E402,F401  (make test-deps installs it)

from smtp_server import Certificates, SMTPServer  # noqa: E402

USER, PASSWORD = "mailer", "fixture pass:word%+"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return Certificates.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(certificates):
    with SMTPServer(certificates=certificates, user=USER, password=PASSWORD) as started:
        yield started


def message(to="someone@example.com", subject="Hello ✓", body="Body with ünïcode\n"):
    built = EmailMessage()
    built["From"] = "Sender <sender@example.com>"
    built["To"] = to
    built["Subject"] = subject
    built.set_content(body)
    built.add_alternative(f"<p>{body}</p>", subtype="html")
    return built


def client(server, certificates, login=True, timeout=5):
    connection = smtplib.SMTP(server.host, server.port, timeout=timeout)
    connection.ehlo()
    assert connection.has_extn("starttls")
    assert not connection.has_extn("auth"), "AUTH must not be offered before STARTTLS"
    connection.starttls(context=certificates.client_context())
    connection.ehlo()
    assert connection.has_extn("auth")
    if login:
        connection.login(USER, PASSWORD)
    return connection


def test_starttls_and_login_are_recorded(server, certificates):
    with client(server, certificates) as connection:
        assert connection.send_message(message(to="a@example.com")) == {}
    received, = server.wait_for_messages(1)
    assert received.mail_from == "sender@example.com"
    assert received.rcpt_tos == ["a@example.com"]
    assert received.tls and received.tls_version.startswith("TLSv1."), received
    assert received.auth_user == USER
    parsed = received.message
    assert parsed["Subject"] == "Hello ✓"
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert re.search(rb"^Subject: .*=\?utf-8\?[bq]\?", received.raw_headers, re.I | re.M), received.raw_headers
    record = server.connections[received.connection]
    assert record.tls and record.auth_user == USER
    assert record.commands[:4] == ["EHLO", "STARTTLS", "EHLO", "AUTH"], record.transcript
    assert [attempt[1:] for attempt in record.auth_attempts] == [(USER, True, True)], record.auth_attempts
    assert not any(PASSWORD in line for line in record.transcript)


def test_wrong_password_and_no_login_are_refused(server, certificates):
    with client(server, certificates, login=False) as connection:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            connection.login(USER, "wrong")
        assert refused.value.smtp_code == 535
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            connection.send_message(message())
        assert refused.value.smtp_code == 530
    assert server.messages == []
    assert server.connections[0].auth_attempts[0][1:3] == (USER, False)


def test_plain_server_offers_no_starttls_but_auth_in_clear(certificates):
    with SMTPServer(tls=None, user=USER, password=PASSWORD) as plain:
        with smtplib.SMTP(plain.host, plain.port, timeout=5) as connection:
            connection.ehlo()
            assert not connection.has_extn("starttls")
            assert connection.has_extn("auth")
            connection.login(USER, PASSWORD)
            connection.send_message(message())
        received, = plain.wait_for_messages(1)
        assert not received.tls and received.tls_version is None
        assert received.auth_user == USER
        assert "STARTTLS" not in plain.connections[0].commands


def test_implicit_tls(certificates):
    with SMTPServer(tls="implicit", certificates=certificates, user=USER, password=PASSWORD) as smtps:
        assert smtps.url == f"smtps://127.0.0.1:{smtps.port}"
        with smtplib.SMTP_SSL(smtps.host, smtps.port, context=certificates.client_context(), timeout=5) as connection:
            connection.login(USER, PASSWORD)
            connection.send_message(message())
        received, = smtps.wait_for_messages(1)
        assert received.tls and received.auth_user == USER


def test_the_certificate_names_localhost_and_127_0_0_1_and_a_stranger_is_not_trusted(server, certificates, tmp_path):
    for host in ("127.0.0.1", "localhost"):
        context = certificates.client_context()
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            raw.recv(1024)
            raw.sendall(b"EHLO client\r\n")
            time.sleep(0.2)
            raw.recv(4096)
            raw.sendall(b"STARTTLS\r\n")
            assert raw.recv(1024).startswith(b"220")
            with context.wrap_socket(raw, server_hostname=host) as tls:
                assert tls.version().startswith("TLSv1.")
    stranger = Certificates.create(tmp_path / "stranger")
    with pytest.raises(ssl.SSLCertVerificationError):
        with smtplib.SMTP(server.host, server.port, timeout=5) as connection:
            connection.starttls(context=stranger.client_context())


def test_scripted_replies_550_and_451(server, certificates):
    server.fail("RCPT", "550 5.1.1 No such user here")
    with client(server, certificates) as connection:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            connection.send_message(message())
        assert refused.value.recipients["someone@example.com"][0] == 550
    server.clear_failures()
    server.fail("DATA", "451 4.3.0 Try again later", times=1)
    with client(server, certificates) as connection:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            connection.send_message(message())
        assert refused.value.smtp_code == 451
        # times=1: the next one is accepted.
        assert connection.send_message(message(to="second@example.com")) == {}
    assert [m.rcpt_tos for m in server.messages] == [["second@example.com"]]
    assert [m.rcpt_tos for m in server.rejected] == [["someone@example.com"]]


def test_down_then_up_on_the_same_port(server, certificates):
    port = server.port
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, port), timeout=2)
    server.start()
    assert server.port == port
    with client(server, certificates) as connection:
        connection.send_message(message())
    assert len(server.wait_for_messages(1)) == 1
    # Stop cuts live connections too.
    connection = client(server, certificates)
    server.stop()
    with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError, ssl.SSLError)):
        connection.send_message(message())
    server.start()


def test_stall_at_connect_then_unstall(server, certificates):
    server.stall()
    started = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout, smtplib.SMTPServerDisconnected)) as stalled:
        smtplib.SMTP(server.host, server.port, timeout=1)
    assert "timed out" in str(stalled.value)
    assert time.monotonic() - started < 5
    assert [c.stalled for c in server.stalled] == ["connect"]
    server.unstall()
    with client(server, certificates) as connection:
        connection.send_message(message())
    assert len(server.wait_for_messages(1)) == 1


def test_stall_at_data_never_answers_the_message(server, certificates):
    server.stall(at="DATA")
    connection = client(server, certificates, timeout=1)
    with pytest.raises((TimeoutError, socket.timeout, smtplib.SMTPServerDisconnected)):
        connection.send_message(message())
    connection.close()
    assert server.wait_for(lambda s: s.connections[0].closed_at)
    server.unstall()
    time.sleep(0.1)
    assert server.messages == [], "a message whose client gave up must not count as delivered"
    assert server.stalled[0].stalled == "DATA"


def test_drop(server):
    server.drop()
    with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError)):
        smtplib.SMTP(server.host, server.port, timeout=2)
    server.normal()
    with smtplib.SMTP(server.host, server.port, timeout=2) as connection:
        assert connection.noop()[0] == 250


CURL = shutil.which("curl")


def curl(server, certificates, *extra, password=PASSWORD, timeout=10):
    return subprocess.run(
        [CURL, "--silent", "--show-error", "--url", server.url, "--ssl-reqd", "--cacert", str(certificates.ca_file),
         "--user", f"{USER}:{password}", "--mail-from", "sender@example.com", "--mail-rcpt", "curl@example.com",
         "--upload-file", "-", *extra],
        input=message(to="curl@example.com").as_bytes(), capture_output=True, timeout=timeout,
    )


@pytest.mark.skipif(CURL is None, reason="no curl")
@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_libcurl_delivers_over_tls_with_auth(certificates, tls):
    """What the daemon does, done by the curl tool: the certificates and AUTH suit libcurl."""
    with SMTPServer(tls=tls, certificates=certificates, user=USER, password=PASSWORD) as server:
        done = curl(server, certificates)
        assert done.returncode == 0, done.stderr.decode() + server.transcripts()
        received, = server.wait_for_messages(1)
        assert received.tls and received.auth_user == USER and received.rcpt_tos == ["curl@example.com"]


@pytest.mark.skipif(CURL is None, reason="no curl")
def test_libcurl_sees_the_scripted_failures_and_the_stall(server, certificates):
    server.fail("RCPT", "550 5.1.1 No such user here")
    done = curl(server, certificates)
    assert done.returncode != 0 and b"550" in done.stderr, done.stderr
    server.clear_failures()
    server.stall()
    started = time.monotonic()
    done = curl(server, certificates, "--max-time", "2")
    assert done.returncode == 28, done.stderr  # CURLE_OPERATION_TIMEDOUT
    assert time.monotonic() - started < 8
    server.unstall()
    server.stop()
    done = curl(server, certificates)
    assert done.returncode == 7, done.stderr  # CURLE_COULDNT_CONNECT
    assert server.messages == []


@pytest.mark.skipif(CURL is None, reason="no curl")
def test_libcurl_refuses_a_plain_server_when_tls_is_required(certificates):
    with SMTPServer(tls=None, user=USER, password=PASSWORD) as plain:
        done = curl(plain, certificates)
        assert done.returncode == 64, done.stderr  # CURLE_USE_SSL_FAILED
        assert plain.messages == [] and all("AUTH" not in c.commands for c in plain.connections), plain.transcripts()

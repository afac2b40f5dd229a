"""A real SMTP server for the integration tests: aiosmtpd on a loopback port, in a thread.

    certificates = Certificates.create(tmp_path / "tls")        # a CA of the test's own + a server cert
    server = SMTPServer(certificates=certificates, user="mailer", password="s3cret")
    server.url                  # smtp://127.0.0.1:PORT (smtps://… with tls="implicit")
    server.messages             # every message accepted (250 after DATA), oldest first
    server.connections          # every connection, with its transcript (AUTH data redacted)
    server.stop(); server.start()               # down (connections refused) / up again, same port
    server.fail("RCPT", "550 5.1.1 No such user")   # answer that instead, until clear_failures()
    server.fail("DATA", "451 4.3.0 Try later", times=1)
    server.stall()              # accept connections, never say a word (or stall(at="DATA"), …)
    server.unstall()
    server.drop()               # accept connections and close them at once
    server.close()

Each `Message` keeps its envelope (mail_from, rcpt_tos), its raw bytes, whether TLS was active
on the connection when it arrived (from the transport's ssl_object, so it holds for STARTTLS and
implicit TLS alike), the TLS version and the user that logged in with AUTH on that connection.

The server requires AUTH for MAIL when it has a user. AUTH is offered only after STARTTLS on a
STARTTLS server; on a plain server (tls=None) it is offered in clear on purpose, so a client
that sends its password without TLS is caught (see `Connection.commands`).
"""
from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import functools
import ipaddress
import logging
import socket
import ssl
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# aiosmtpd logs every command at INFO and warns about its own deprecated login_data; keep quiet.
logging.getLogger("mail.log").setLevel(logging.ERROR)

STAGES = ("MAIL", "RCPT", "DATA")
STALL_POINTS = ("connect",) + STAGES


# ---------------------------------------------------------------------------------------------
# Certificates


@dataclass
class Certificates:
    """A self-signed CA and a server certificate it signed, as PEM files in a directory."""
    directory: Path
    ca_file: Path
    cert_file: Path
    key_file: Path

    @classmethod
    def create(cls, directory, hosts=("localhost", "127.0.0.1"), name="Tenantry Test CA"):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        # Wide validity on both sides: the daemon under --test-clock does not move the TLS
        # library's clock, but a test machine's clock may be off by a little.
        not_before, not_after = now - datetime.timedelta(days=2), now + datetime.timedelta(days=3650)

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name).issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ca_ski, critical=False)
            .sign(ca_key, hashes.SHA256())
        )

        key = ec.generate_private_key(ec.SECP256R1())
        names = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256())
        )

        pem = serialization.Encoding.PEM
        ca_file, cert_file, key_file = directory / "ca.pem", directory / "server.pem", directory / "server.key"
        ca_file.write_bytes(ca_cert.public_bytes(pem))
        cert_file.write_bytes(cert.public_bytes(pem))
        key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        key_file.chmod(0o600)
        return cls(directory, ca_file, cert_file, key_file)

    def server_context(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self):
        """A client context that trusts this CA only (and checks the host name)."""
        return ssl.create_default_context(cafile=str(self.ca_file))


# ---------------------------------------------------------------------------------------------
# What the server saw


@dataclass
class Message:
    """One message the server accepted."""
    mail_from: str
    rcpt_tos: list
    data: bytes
    tls: bool
    tls_version: Optional[str]
    auth_user: Optional[str]
    peer: tuple
    connection: int  # index into SMTPServer.connections
    received_at: float

    @property
    def message(self):
        """The message parsed with the modern email API (headers decoded, parts walkable)."""
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @property
    def raw_headers(self):
        """The header section exactly as it came, as bytes."""
        head, _, _ = self.data.partition(b"\r\n\r\n")
        if head == self.data:
            head, _, _ = self.data.partition(b"\n\n")
        return head


@dataclass
class Connection:
    """One connection: what was said (AUTH arguments redacted), whether TLS came up, who logged in."""
    peer: tuple
    opened_at: float
    transcript: list = field(default_factory=list)  # "C: MAIL FROM:<a@b>", "S: 250 OK", …
    commands: list = field(default_factory=list)    # the verbs only: ["EHLO", "STARTTLS", …]
    tls: bool = False
    auth_attempts: list = field(default_factory=list)  # [(mechanism, user, ok, tls)]
    auth_user: Optional[str] = None
    stalled: Optional[str] = None  # where it was held, if it was ("connect", "DATA", …)
    closed_at: Optional[float] = None

    @property
    def replies(self):
        return [line[3:] for line in self.transcript if line.startswith("S: ")]


# ---------------------------------------------------------------------------------------------
# The server


class SMTPServer:
    """aiosmtpd on 127.0.0.1, run by an event loop in a daemon thread; see the module docstring.

    tls: "starttls" (default; needs certificates), "implicit" (TLS from the first byte, smtps://)
    or None (plain SMTP, no STARTTLS offered). user/password: the one account AUTH accepts;
    with user=None no AUTH is required (nor accepted).
    """

    def __init__(self, *, tls="starttls", certificates=None, user="mailer", password="mailer password",
                 require_starttls=False, host="127.0.0.1", port=0, start=True, hostname="mail.test.invalid"):
        assert tls in ("starttls", "implicit", None), tls
        if tls and certificates is None:
            raise ValueError("a TLS server needs certificates (Certificates.create(directory))")
        self.tls = tls
        self.certificates = certificates
        self.user = user
        self.password = password
        self.require_starttls = require_starttls
        self.host = host
        self.hostname = hostname
        self._tls_context = certificates.server_context() if tls else None
        self._lock = threading.Lock()
        self._messages = []
        self._rejected = []
        self._connections = []
        self._failures = {}   # stage -> [reply, remaining or None]
        self._mode = "normal"  # normal | stall | drop
        self._stall_at = None
        self._open = set()    # live protocols
        self._server = None
        self._loop = asyncio.new_event_loop()
        self._release = None
        self._thread = threading.Thread(target=self._run, name="smtp-server", daemon=True)
        self._thread.start()
        self._call(self._make_release())
        if port == 0:
            port = _free_port(host)
        self.port = port
        if start:
            self.start()

    # -- lifecycle ---------------------------------------------------------------------------

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _call(self, coroutine, timeout=10):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _make_release(self):
        self._release = asyncio.Event()

    @property
    def running(self):
        return self._server is not None

    def start(self):
        """Listens on the port (the same one after a stop)."""
        if self._server is not None:
            raise RuntimeError("the SMTP server is already running")
        deadline = time.monotonic() + 5
        while True:
            try:
                self._call(self._listen())
                return self
            except OSError:
                # The port may linger for a moment after a stop; not for long with SO_REUSEADDR.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    async def _listen(self):
        self._server = await self._loop.create_server(
            self._protocol, host=self.host, port=self.port, reuse_address=True,
            ssl=self._tls_context if self.tls == "implicit" else None,
        )

    def stop(self):
        """Stops listening and cuts every open connection: connections are refused until start()."""
        if self._server is None:
            return self
        self._call(self._shutdown())
        return self

    async def _shutdown(self):
        server, self._server = self._server, None
        server.close()
        for protocol in list(self._open):
            protocol.abort()
        try:
            await asyncio.wait_for(server.wait_closed(), 5)
        except asyncio.TimeoutError:
            pass

    def close(self):
        if self._loop.is_closed():
            return
        self.stop()
        self._call(self._cancel_tasks())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _cancel_tasks(self):
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    @property
    def url(self):
        return f"{'smtps' if self.tls == 'implicit' else 'smtp'}://{self.host}:{self.port}"

    # -- behaviours ---------------------------------------------------------------------------

    def fail(self, stage, reply, times=None):
        """Answers REPLY (e.g. "550 5.1.1 No such user", "451 4.3.0 Try again later") to STAGE
        (MAIL, RCPT or DATA; for DATA after the message was read), TIMES times or until
        clear_failures()."""
        stage = stage.upper()
        assert stage in STAGES, stage
        assert len(reply) >= 3 and reply[:3].isdigit(), reply
        with self._lock:
            self._failures[stage] = [reply, times]
        return self

    def clear_failures(self):
        with self._lock:
            self._failures.clear()
        return self

    def stall(self, at="connect"):
        """Holds connections without answering: at "connect" no greeting is ever sent; at MAIL,
        RCPT or DATA (after the message was read) that command's reply never comes. Held
        connections stay open until unstall() (a held command then goes on normally, a
        connection held at connect is closed) or stop()."""
        assert at in STALL_POINTS, at
        self._call(self._set_stall(at))
        return self

    def unstall(self):
        self._call(self._set_stall(None))
        return self

    async def _set_stall(self, at):
        # On the loop, so that no connection sees half of the change.
        if at is None:
            if self._mode == "stall":
                self._mode = "normal"
            self._stall_at = None
            self._release.set()
        else:
            self._release.clear()
            self._stall_at = at
            self._mode = "stall"

    def drop(self):
        """Accepts connections and closes them at once, without a greeting (until normal())."""
        self.unstall()
        self._mode = "drop"
        return self

    def normal(self):
        """Back to normal service: no stall, no drop, no scripted failures."""
        self.clear_failures()
        self.unstall()
        self._mode = "normal"
        return self

    # -- what it saw ----------------------------------------------------------------------------

    @property
    def messages(self):
        with self._lock:
            return list(self._messages)

    @property
    def rejected(self):
        """Messages whose content was read but then refused by a scripted DATA failure."""
        with self._lock:
            return list(self._rejected)

    @property
    def connections(self):
        with self._lock:
            return list(self._connections)

    @property
    def stalled(self):
        """Connections held by a stall so far."""
        with self._lock:
            return [c for c in self._connections if c.stalled]

    def messages_to(self, address):
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, predicate, timeout=10, interval=0.05):
        """Waits until PREDICATE(self) is true; answers its last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    def wait_for_messages(self, count=1, timeout=10):
        self.wait_for(lambda s: len(s.messages) >= count, timeout)
        return self.messages

    def transcripts(self):
        """Every connection's transcript, for assertion messages."""
        return "\n\n".join(f"connection {i} from {c.peer}:\n" + "\n".join(c.transcript)
                           for i, c in enumerate(self.connections))

    def reset(self):
        """Forgets what was seen (messages, connections); behaviours stay."""
        with self._lock:
            self._messages.clear()
            self._rejected.clear()
            self._connections.clear()

    # -- internals ----------------------------------------------------------------------------

    def _protocol(self):
        if self._mode == "stall" and self._stall_at == "connect":
            return _HeldProtocol(self, "connect")
        if self._mode == "drop":
            return _HeldProtocol(self, None)
        with warnings.catch_warnings():
            # "Requiring AUTH while not requiring TLS": wanted for tls=None and implicit TLS.
            warnings.simplefilter("ignore")
            return _RecordingSMTP(
                self,
                hostname=self.hostname,
                tls_context=self._tls_context if self.tls == "starttls" else None,
                require_starttls=self.require_starttls and self.tls == "starttls",
                auth_required=self.user is not None,
                # aiosmtpd counts only STARTTLS as TLS: implicit TLS must not be refused AUTH,
                # and a plain server offers AUTH in clear so that a careless client shows.
                auth_require_tls=self.tls == "starttls",
                authenticator=self._authenticate,
                enable_SMTPUTF8=False,
                decode_data=False,
                loop=self._loop,
            )

    def _register(self, record):
        with self._lock:
            self._connections.append(record)
            return len(self._connections) - 1

    def _take_failure(self, stage):
        with self._lock:
            entry = self._failures.get(stage)
            if entry is None:
                return None
            reply, remaining = entry
            if remaining is not None:
                if remaining <= 1:
                    del self._failures[stage]
                else:
                    entry[1] = remaining - 1
            return reply

    async def _maybe_stall(self, stage, record):
        if self._mode == "stall" and self._stall_at == stage:
            record.stalled = stage
            await self._release.wait()

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        ok = login == self.user and auth_data.password == self.password.encode()
        record = server.record
        record.auth_attempts.append((mechanism, login, ok, record.tls))
        if ok:
            record.auth_user = login
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    # aiosmtpd handler hooks (called with the SMTP instance first)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self._take_failure("MAIL")
        await self._maybe_stall("MAIL", server.record)
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self._take_failure("RCPT")
        await self._maybe_stall("RCPT", server.record)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = self._take_failure("DATA")
        await self._maybe_stall("DATA", server.record)
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        message = Message(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), data=bytes(envelope.original_content),
            tls=ssl_object is not None, tls_version=ssl_object.version() if ssl_object else None,
            auth_user=session.auth_data if session.authenticated else None,
            peer=session.peer, connection=server.index, received_at=time.time(),
        )
        with self._lock:
            (self._rejected if reply else self._messages).append(message)
        return reply or "250 OK: queued"


def _free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _HeldProtocol(asyncio.Protocol):
    """A connection that is held without a word (stall at connect) or closed at once (drop)."""

    def __init__(self, owner, stall_at):
        self.owner = owner
        self.stall_at = stall_at
        self.transport = None
        self.record = None

    def connection_made(self, transport):
        self.transport = transport
        self.record = Connection(peer=transport.get_extra_info("peername"), opened_at=time.time(), stalled=self.stall_at)
        self.owner._register(self.record)
        if self.stall_at is None:
            self.record.transcript.append("S: (connection dropped)")
            transport.abort()
            return
        self.owner._open.add(self)
        self.record.transcript.append("S: (stalled: no greeting)")
        asyncio.ensure_future(self._wait_for_release())

    async def _wait_for_release(self):
        await self.owner._release.wait()
        self.abort()

    def data_received(self, data):
        self.record.transcript.append(f"C: ({len(data)} bytes, unanswered)")

    def connection_lost(self, error):
        self.owner._open.discard(self)
        if self.record:
            self.record.closed_at = time.time()

    def abort(self):
        if self.transport is not None:
            self.transport.abort()


class _RecordingSMTP(SMTP):
    """aiosmtpd's SMTP, recording each connection; the owner is also the handler."""

    def __init__(self, owner, **kwargs):
        super().__init__(owner, **kwargs)
        self.owner = owner
        self.record = None
        self.index = None

    def connection_made(self, transport):
        upgrading = self.transport is not None  # the second call, after STARTTLS
        super().connection_made(transport)
        if upgrading:
            self.record.tls = True
            self.record.transcript.append("   (TLS established: %s)" % (transport.get_extra_info("ssl_object").version(),))
        else:
            self.record = Connection(peer=transport.get_extra_info("peername"), opened_at=time.time(),
                                     tls=transport.get_extra_info("ssl_object") is not None)
            self.index = self.owner._register(self.record)
            self.owner._open.add(self)

    def connection_lost(self, error):
        self.owner._open.discard(self)
        if self.record:
            self.record.closed_at = time.time()
        super().connection_lost(error)

    def abort(self):
        transport = self._original_transport or self.transport
        if transport is not None:
            transport.abort()

    async def push(self, status):
        if self.record is not None:
            text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
            self.record.transcript.append("S: " + (text if not text.startswith("334 ") else "334 (challenge)"))
        await super().push(status)

    async def handle_exception(self, error):
        # Into the transcript rather than aiosmtpd's log (a failed TLS handshake is expected in
        # some tests); the connection is closed by aiosmtpd for a TLS failure, else gets a 500.
        cause = error.__cause__ or error
        self.record.transcript.append(f"   (exception: {type(cause).__name__}: {cause})")
        return f"500 Error: ({type(error).__name__}) {error}"

    def _note(self, verb, arg):
        self.record.commands.append(verb)
        if verb == "AUTH":
            # Never the initial response: it holds the password.
            arg = (arg or "").split(" ", 1)[0] + " (…)"
        self.record.transcript.append(f"C: {verb}" + (f" {arg}" if arg else ""))


def _recorded(verb):
    base = getattr(SMTP, "smtp_" + verb)

    @functools.wraps(base)
    async def method(self, arg):
        self._note(verb, arg)
        return await base(self, arg)
    return method


for _verb in ("HELO", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "HELP", "EXPN"):
    setattr(_RecordingSMTP, "smtp_" + _verb, _recorded(_verb))

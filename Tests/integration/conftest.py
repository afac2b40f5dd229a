"""Starts the real tenantryd binary on loopback ports for the integration tests."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("TENANTRYD", ROOT / ".build" / "debug" / "tenantryd"))
# Cheap password hashing keeps the suite fast; one test uses the real parameters.
FAST_ARGON2 = ["--argon2-memory-kib", "256", "--argon2-iterations", "1"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args, stdin=None, env=None, check=True):
    """Runs `tenantryd ARGS…` and answers the completed process."""
    result = subprocess.run(
        [str(BINARY), *map(str, args)], input=stdin, capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tenantryd {' '.join(map(str, args))} exited {result.returncode}: {result.stdout}{result.stderr}")
    return result


class Daemon:
    def __init__(self, db, args=(), env=None):
        self.db = Path(db)
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        command = [str(BINARY), "serve", "--db", str(self.db), "--listen", f"127.0.0.1:{self.port}",
                   "--public", str(ROOT / "Public"), *FAST_ARGON2, *args]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"tenantryd exited early: {self.output()}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"tenantryd did not start: {self.output()}")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method, path, body=None, token=None, timeout=30):
        """Answers (status, headers, decoded JSON or raw bytes)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url(path), data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, headers, raw = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, dict(error.headers), error.read()
        if headers.get("Content-Type", "").startswith("application/json"):
            return status, headers, json.loads(raw)
        return status, headers, raw

    def login(self, email, password):
        status, _, body = self.request("POST", "/v1/account/login", {"email": email, "password": password})
        assert status == 200, body
        return body["token"]

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=timeout)
        return self.process.returncode

    def output(self):
        self.log.flush()
        return Path(self.log.name).read_text()


class DaemonCalls:
    """request() and ok() on a test's `self.daemon`, with `self.token` (none by default)
    unless a call names another credential."""

    token = None

    def request(self, method, path, body=None, token=None):
        return self.daemon.request(method, path, body, token=token or self.token)

    def ok(self, method, path, body=None, token=None):
        status, _, answer = self.request(method, path, body, token)
        assert status == 200, (method, path, status, answer, self.daemon.output()[-3000:])
        return answer


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


@pytest.fixture
def daemon(tmp_path):
    started = Daemon(tmp_path / "tenantry.sqlite")
    yield started
    started.stop()


def operator(db, email="ops@example.com", password="operator password"):
    run_cli("admin", "create", "--email", email, "--password-stdin", "--db", db, stdin=password + "\n")
    return email, password


def sign_up(daemon, operator_token, email, password="user password 1"):
    """Registers EMAIL the way a person does (code read from the outbox), sets PASSWORD,
    and answers the session token; the user owns a new personal tenant."""
    import re
    status, _, body = daemon.request("POST", "/v1/account/register", {"email": email})
    assert status == 200, body
    registration = body["token"]
    status, _, outbox = daemon.request("GET", f"/v1/admin/outbox?to={urllib.request.quote(email)}", token=operator_token)
    assert status == 200 and outbox["emails"], outbox
    code = re.search(r"\b(\d{6})\b", outbox["emails"][0]["body"]).group(1)
    status, _, body = daemon.request("POST", "/v1/account/register/verify", {"email": email, "code": code, "token": registration})
    assert status == 200, body
    status, _, body = daemon.request("POST", "/v1/user/initial", {"password": password}, token=body["token"])
    assert status == 200, body
    return body["token"]


def current_tenant_id(daemon, token):
    status, _, body = daemon.request("GET", "/v1/user/tenants/current", token=token)
    assert status == 200, body
    return body["tenant"]["id"]

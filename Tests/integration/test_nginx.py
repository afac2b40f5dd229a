"""A real nginx in front of tenantryd: `auth_request` to GET /v1/auth/check, the caller's tenant,
user, plan and balance forwarded to an upstream, and a metered location that debits one credit
per request. The nginx configuration is the one docs/nginx.md tells operators to use.

Run with: python3 -m pytest -q Tests/integration/test_nginx.py
"""
import grp
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import Daemon, current_tenant_id, free_port, operator, sign_up


def nginx_binary():
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


NGINX = nginx_binary()
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian: apt install nginx-light; `make test-deps` does it)")


class Upstream:
    """The protected service: answers every request with what it received, as JSON."""

    def __init__(self):
        self.requests = []
        upstream = self

        class Echo(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                received = {
                    "method": self.command, "path": self.path,
                    "headers": {name.lower(): value for name, value in self.headers.items()},
                    "body": self.rfile.read(length).decode() if length else "",
                }
                upstream.requests.append(received)
                raw = json.dumps(received).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_DELETE = answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def nginx_conf(prefix, port, daemon_port, upstream_port):
    """The configuration of docs/nginx.md, made self-contained: every path inside PREFIX."""
    configure = subprocess.run([NGINX, "-V"], capture_output=True, text=True).stderr
    temp_paths = "\n".join(
        f"    {module}_temp_path {prefix / module};"
        for module in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        if f"--without-http_{module}_module" not in configure
    )
    # As root the workers would otherwise run as `nobody`, who cannot enter pytest's 0700 tmp_path.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};" if os.geteuid() == 0 else ""
    return f"""
{user}
worker_processes 1;
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{ worker_connections 256; }}

http {{
    access_log {prefix / "access.log"};
{temp_paths}

    upstream tenantryd {{ server 127.0.0.1:{daemon_port}; }}
    upstream app {{ server 127.0.0.1:{upstream_port}; }}

    server {{
        listen 127.0.0.1:{port};

        # Authenticated, not metered.
        location /api/ {{
            auth_request /_auth;
            auth_request_set $tenant_id $upstream_http_x_tenant_id;
            auth_request_set $user_id $upstream_http_x_user_id;
            auth_request_set $plan $upstream_http_x_plan;
            auth_request_set $credits $upstream_http_x_credits_remaining;
            proxy_set_header X-Tenant-Id $tenant_id;
            proxy_set_header X-User-Id $user_id;
            proxy_set_header X-Plan $plan;
            proxy_set_header X-Credits-Remaining $credits;
            proxy_pass http://app;
        }}

        # Authenticated and metered: one USAGE_AI_CREDIT per request.
        location /metered/ {{
            auth_request /_auth_metered;
            auth_request_set $tenant_id $upstream_http_x_tenant_id;
            auth_request_set $user_id $upstream_http_x_user_id;
            auth_request_set $plan $upstream_http_x_plan;
            auth_request_set $credits $upstream_http_x_credits_remaining;
            proxy_set_header X-Tenant-Id $tenant_id;
            proxy_set_header X-User-Id $user_id;
            proxy_set_header X-Plan $plan;
            proxy_set_header X-Credits-Remaining $credits;
            proxy_set_header X-Request-Id $request_id;
            proxy_pass http://app;
        }}

        # tenantryd's own API and console (sign-up, login, …), for browsers and the product's front end.
        location / {{
            proxy_pass http://tenantryd;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}

        # Relayed by nginx, every request reaches tenantryd from loopback, which /metrics trusts.
        location = /metrics {{ return 404; }}

        location = /_auth {{
            internal;
            proxy_pass http://tenantryd/v1/auth/check;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Authorization $http_authorization;
            proxy_set_header X-Usage-Category USAGE_AI_CREDIT;
            proxy_set_header X-Usage-Amount "";
            proxy_set_header X-Idempotency-Key "";
        }}

        location = /_auth_metered {{
            internal;
            proxy_pass http://tenantryd/v1/auth/check;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Authorization $http_authorization;
            proxy_set_header X-Usage-Category USAGE_AI_CREDIT;
            proxy_set_header X-Usage-Amount 1;
            proxy_set_header X-Idempotency-Key $request_id;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, prefix, daemon_port, upstream_port):
        self.prefix = Path(prefix)
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(nginx_conf(self.prefix, self.port, daemon_port, upstream_port))
        self.command = [NGINX, "-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.prefix / "error.log")]
        tested = subprocess.run([*self.command, "-t"], capture_output=True, text=True)
        assert tested.returncode == 0, f"nginx -t refused the configuration:\n{tested.stderr}\n{self.conf.read_text()}"
        self.output = open(self.prefix / "stderr.log", "w+")
        self.process = subprocess.Popen(self.command, stdout=self.output, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"nginx exited {self.process.returncode}: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"nginx did not listen on {self.port}: {self.log()}")

    def request(self, method, path, token=None, body=None, headers=None):
        """Answers (status, headers, decoded JSON or text)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, answer_headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, raw = error.code, error.headers, error.read()
        if (answer_headers.get("Content-Type") or "").startswith("application/json"):
            return status, answer_headers, json.loads(raw)
        return status, answer_headers, raw.decode(errors="replace")

    def log(self):
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.prefix / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text()}")
        return "\n".join(parts)

    def stop(self):
        if self.process.poll() is None:
            stopped = subprocess.run([*self.command, "-s", "quit"], capture_output=True, text=True)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            assert stopped.returncode == 0 or self.process.returncode is not None, stopped.stderr
        self.output.close()


@pytest.fixture
def stack(tmp_path):
    """tenantryd, an operator, a signed-up owner with an API key, the echo upstream and nginx."""
    db = tmp_path / "tenantry.sqlite"
    email, password = operator(db)
    daemon = Daemon(db)
    upstream = Upstream()
    proxy = None
    try:
        operator_token = daemon.login(email, password)
        session = sign_up(daemon, operator_token, "owner@example.com")
        tenant_id = current_tenant_id(daemon, session)
        status, _, user = daemon.request("GET", "/v1/user", token=session)
        assert status == 200, user
        status, _, created = daemon.request(
            "POST", "/v1/tenant/api-keys", {"name": "proxy test", "scopes": ["usage.read", "usage.write"]}, token=session)
        assert status == 200, created
        proxy = Nginx(tmp_path / "nginx", daemon.port, upstream.port)
        yield {
            "daemon": daemon, "nginx": proxy, "upstream": upstream, "operator": operator_token, "session": session,
            "tenant_id": tenant_id, "user_id": user["user"]["id"], "key": created["plaintext_key"], "key_id": created["api_key"]["id"],
        }
    finally:
        if proxy is not None:
            proxy.stop()
        upstream.stop()
        daemon.stop()


def remaining(stack):
    """The tenant's USAGE_AI_CREDIT balance, asked of tenantryd directly."""
    status, _, body = stack["daemon"].request("GET", f"/v1/usage/tenants/{stack['tenant_id']}/current", token=stack["session"])
    assert status == 200, body
    (config,) = [c for c in body["config"]["usage_configs"] if c["category"] == "USAGE_AI_CREDIT"]
    return int(config["total_amount"]) - int(config["used_amount"])


def consume(stack, amount, key):
    status, _, body = stack["daemon"].request(
        "POST", f"/v1/usage/tenants/{stack['tenant_id']}/consume",
        {"category": "USAGE_AI_CREDIT", "amount": amount, "agent_id": "", "dataset_id": "", "idempotency_key": key}, token=stack["key"])
    assert status == 200, body
    return int(body["remaining"])


def test_without_or_with_bad_credentials_nginx_answers_401_and_the_upstream_is_not_called(stack):
    nginx, upstream = stack["nginx"], stack["upstream"]
    for path in ("/api/things", "/metered/things"):
        status, headers, _ = nginx.request("GET", path)
        assert status == 401, nginx.log()
        assert headers.get("WWW-Authenticate") == "Bearer", "nginx passes the challenge of a 401 on"
        for token in ("not-a-token", "tns_forged0000000000000000000000000000000000", "tnk_forged0000000000000000000000000000000000"):
            status, _, _ = nginx.request("GET", path, token=token)
            assert status == 401, (path, token)
    assert upstream.requests == []


def test_a_session_token_passes_with_its_tenant_user_plan_and_balance_forwarded(stack):
    nginx, upstream = stack["nginx"], stack["upstream"]
    before = remaining(stack)
    status, _, echoed = nginx.request("GET", "/api/things?page=2", token=stack["session"])
    assert status == 200, nginx.log()
    assert echoed["path"] == "/api/things?page=2"
    assert echoed["headers"]["x-tenant-id"] == stack["tenant_id"]
    assert echoed["headers"]["x-user-id"] == stack["user_id"]
    assert echoed["headers"]["x-plan"] == "NEW_USER_TRIAL"
    assert echoed["headers"]["x-credits-remaining"] == str(before) == "10000"
    assert echoed["headers"]["authorization"] == f"Bearer {stack['session']}"
    # A request body reaches the upstream; the auth subrequest never sees it.
    status, _, echoed = nginx.request("POST", "/api/things", token=stack["session"], body=b'{"hello": "world"}',
                                      headers={"Content-Type": "application/json"})
    assert status == 200, nginx.log()
    assert (echoed["method"], echoed["body"]) == ("POST", '{"hello": "world"}')
    assert echoed["headers"]["x-tenant-id"] == stack["tenant_id"]
    assert len(upstream.requests) == 2
    assert remaining(stack) == before, "/api/ is not metered"


def test_an_api_key_passes_and_the_client_cannot_forge_identity_or_a_debit(stack):
    nginx = stack["nginx"]
    status, _, echoed = nginx.request("GET", "/api/x", token=stack["key"])
    assert status == 200, nginx.log()
    assert echoed["headers"]["x-tenant-id"] == stack["tenant_id"]
    assert echoed["headers"].get("x-user-id", "") == "", "an API key belongs to no user"
    assert echoed["headers"]["x-plan"] == "NEW_USER_TRIAL"
    # Headers the client sends itself are replaced by what tenantryd answered, and
    # usage headers never reach /v1/auth/check from a non-metered location.
    status, _, echoed = nginx.request("GET", "/api/x", token=stack["key"], headers={
        "X-Tenant-Id": "tnt_someone_else", "X-User-Id": "usr_forged", "X-Plan": "BUSINESS", "X-Credits-Remaining": "999999",
        "X-Usage-Amount": "5", "X-Idempotency-Key": "mine"})
    assert status == 200, nginx.log()
    assert (echoed["headers"]["x-tenant-id"], echoed["headers"]["x-plan"]) == (stack["tenant_id"], "NEW_USER_TRIAL")
    assert echoed["headers"]["x-credits-remaining"] == "10000"
    assert "x-user-id" not in echoed["headers"], "an empty X-User-Id is dropped, never the client's own"
    assert remaining(stack) == 10000


def test_each_metered_request_debits_exactly_one_credit(stack):
    nginx, upstream = stack["nginx"], stack["upstream"]
    before = remaining(stack)
    seen = []
    for token in (stack["session"], stack["key"], stack["session"]):
        status, _, echoed = nginx.request("GET", "/metered/answer", token=token,
                                          headers={"X-Usage-Amount": "50", "X-Idempotency-Key": "same-every-time"})
        assert status == 200, nginx.log()
        assert echoed["headers"]["x-tenant-id"] == stack["tenant_id"]
        seen.append(int(echoed["headers"]["x-credits-remaining"]))
    assert seen == [before - 1, before - 2, before - 3], "the client's own usage headers are ignored"
    assert remaining(stack) == before - 3
    # Concurrent requests: each debits once, none is lost or doubled.
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: nginx.request("GET", "/metered/answer", token=stack["key"]), range(24)))
    assert [status for status, _, _ in answers] == [200] * 24, nginx.log()
    after = sorted(int(echoed["headers"]["x-credits-remaining"]) for _, _, echoed in answers)
    assert after == list(range(before - 27, before - 3)), after
    assert remaining(stack) == before - 27
    assert len(upstream.requests) == 27


def test_an_exhausted_balance_gets_403_from_nginx(stack):
    nginx, upstream = stack["nginx"], stack["upstream"]
    consume(stack, remaining(stack) - 2, "leave-two")
    assert remaining(stack) == 2
    for left in (1, 0):
        status, _, echoed = nginx.request("GET", "/metered/answer", token=stack["key"])
        assert status == 200, nginx.log()
        assert echoed["headers"]["x-credits-remaining"] == str(left)
    calls = len(upstream.requests)
    for token in (stack["key"], stack["session"]):
        status, _, body = nginx.request("GET", "/metered/answer", token=token)
        assert status == 403, (status, body, nginx.log())
    assert len(upstream.requests) == calls, "a refused request never reaches the upstream"
    assert remaining(stack) == 0
    # Not metered: still allowed, and the upstream learns the balance is empty.
    status, _, echoed = nginx.request("GET", "/api/x", token=stack["key"])
    assert status == 200
    assert echoed["headers"]["x-credits-remaining"] == "0"


def test_a_key_without_usage_write_reads_but_is_not_metered(stack):
    nginx = stack["nginx"]
    status, _, created = stack["daemon"].request(
        "POST", "/v1/tenant/api-keys", {"name": "read only", "scopes": ["usage.read"]}, token=stack["session"])
    assert status == 200, created
    before = remaining(stack)
    assert nginx.request("GET", "/api/x", token=created["plaintext_key"])[0] == 200
    assert nginx.request("GET", "/metered/x", token=created["plaintext_key"])[0] == 403
    assert remaining(stack) == before


def test_a_revoked_api_key_gets_401(stack):
    nginx, daemon = stack["nginx"], stack["daemon"]
    assert nginx.request("GET", "/api/x", token=stack["key"])[0] == 200
    status, _, body = daemon.request("DELETE", f"/v1/tenant/api-keys/{stack['key_id']}", token=stack["session"])
    assert status == 200, body
    calls = len(stack["upstream"].requests)
    for path in ("/api/x", "/metered/x"):
        assert nginx.request("GET", path, token=stack["key"])[0] == 401, path
    assert len(stack["upstream"].requests) == calls
    assert nginx.request("GET", "/api/x", token=stack["session"])[0] == 200, "the owner's session still works"


def test_a_logged_out_session_gets_401(stack):
    nginx, daemon = stack["nginx"], stack["daemon"]
    assert nginx.request("GET", "/api/x", token=stack["session"])[0] == 200
    status, _, body = daemon.request("POST", "/v1/account/logout", {}, token=stack["session"])
    assert status == 200, body
    assert nginx.request("GET", "/api/x", token=stack["session"])[0] == 401


def test_tenantryd_down_fails_closed(stack):
    """Anything but 2xx/401/403 from the auth request, or no answer at all, is a 500: never a pass."""
    nginx, upstream = stack["nginx"], stack["upstream"]
    assert stack["daemon"].stop() == 0
    for path in ("/api/x", "/metered/x"):
        assert nginx.request("GET", path, token=stack["key"])[0] == 500
    assert upstream.requests == []


def test_tenantryd_api_through_nginx_and_metrics_kept_private(stack):
    nginx, daemon = stack["nginx"], stack["daemon"]
    assert nginx.request("GET", "/healthz")[0] == 200
    status, _, document = nginx.request("GET", "/v1/openapi.json")
    assert status == 200 and "/v1/auth/check" in document["paths"]
    status, _, body = nginx.request("GET", "/v1/user", token=stack["session"])
    assert status == 200 and body["user"]["email"] == "owner@example.com"
    # Straight on loopback /metrics is served without credentials; through nginx it must not be.
    assert daemon.request("GET", "/metrics")[0] == 200
    assert nginx.request("GET", "/metrics")[0] == 404


def login_from(address, port, email, password):
    """POST /v1/account/login from the loopback source ADDRESS (127.0.0.0/8 is all local on Linux)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, source_address=(address, 0), timeout=30)
    try:
        connection.request("POST", "/v1/account/login", body=json.dumps({"email": email, "password": password}),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


@pytest.mark.parametrize("via", ["tenantryd", "nginx"])
def test_a_strangers_failed_logins_do_not_lock_the_owner_out(stack, via):
    """LoginThrottle: "a stranger cannot lock an owner out from one address". Straight to tenantryd
    the stranger (127.0.0.2) is throttled and the owner (127.0.0.3) logs in. Behind the reverse
    proxy docs/systemd.md tells operators to use, tenantryd sees nginx's 127.0.0.1 as every
    client's address and ignores X-Real-IP / X-Forwarded-For, so five wrong passwords from
    anyone lock the owner out everywhere for 15 minutes (and 30 lock out every login)."""
    port = stack["nginx"].port if via == "nginx" else stack["daemon"].port
    for _ in range(5):
        assert login_from("127.0.0.2", port, "owner@example.com", "not the password")[0] == 401
    assert login_from("127.0.0.2", port, "owner@example.com", "not the password")[0] == 429
    status, body = login_from("127.0.0.3", port, "owner@example.com", "user password 1")
    assert status == 200, f"the owner, from another address, is locked out by a stranger's attempts through {via}: {status} {body}"

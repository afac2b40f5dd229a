"""Creates tenants through the daemon's API for bench/run.sh's consume over many tenants.

    python3 bench/make-tenants.py BASE_URL OPERATOR_TOKEN COUNT OUT_FILE [EMAIL_PREFIX]

Each tenant is a user's personal tenant, made as a person would (the API creates a tenant
only with its user): POST /v1/account/register, the code read from the operator's outbox
(GET /v1/admin/outbox?to=), POST /v1/account/register/verify (the user, their tenant and its
starting subscription, and a session), GET /v1/user/tenants/current for its id, POST
/v1/tenant/api-keys (usage.write and usage.read), and the operator's POST
/v1/admin/tenants/{id}/credits (1e9 USAGE_AI_CREDIT, as for the bench's other tenants).
Every registration says it comes from a client of its own (X-Forwarded-For 10.201.x.y: the
daemon trusts loopback as a proxy by default), so the per-client email throttle (30 an hour)
does not refuse the 31st. A few threads, one keep-alive connection each.

Writes one "TENANT_ID API_KEY" line per tenant to OUT_FILE, in creation order; prints the
seconds it took on stdout. Any non-2xx answer stops it (exit 1).
"""
import http.client
import json
import re
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

base, ops_token, count, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
prefix = sys.argv[5] if len(sys.argv) > 5 else "spread"
url = urllib.parse.urlsplit(base)
local = threading.local()


def call(method, path, body=None, token=None, client=None):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    if client:
        headers["X-Forwarded-For"] = client
    for attempt in (1, 2):
        try:
            local.conn.request(method, path, body=data, headers=headers)
            resp = local.conn.getresponse()
            raw = resp.read()
            break
        except (http.client.HTTPException, ConnectionError):
            # The server closed the kept-alive connection: once more on a new one.
            local.conn.close()
            local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            if attempt == 2:
                raise
    if not 200 <= resp.status <= 299:
        raise SystemExit(f"make-tenants: {method} {path} answered {resp.status}: {raw[:300]!r}")
    return json.loads(raw) if raw else {}


def make(i):
    email = f"{prefix}-{i}@bench.test"
    client = f"10.201.{i // 256 % 256}.{i % 256}"
    reg = call("POST", "/v1/account/register", {"email": email}, client=client)["token"]
    code = None
    for _ in range(100):
        for e in call("GET", "/v1/admin/outbox?to=" + urllib.parse.quote(email), token=ops_token)["emails"]:
            m = re.search(r"\b(\d{6})\b", e["body"])
            if m:
                code = m.group(1)
                break
        if code:
            break
        time.sleep(0.05)
    if not code:
        raise SystemExit(f"make-tenants: no verification code in the outbox for {email}")
    session = call("POST", "/v1/account/register/verify", {"email": email, "code": code, "token": reg}, client=client)["token"]
    tenant = call("GET", "/v1/user/tenants/current", token=session)["tenant"]["id"]
    key = call("POST", "/v1/tenant/api-keys", {"name": "bench", "scopes": ["usage.write", "usage.read"]}, token=session)["plaintext_key"]
    call("POST", f"/v1/admin/tenants/{tenant}/credits",
         {"category": "USAGE_AI_CREDIT", "amount": "1000000000", "expires_at": "2100-01-01T00:00:00Z", "reason": "bench"},
         token=ops_token)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", tenant) or not re.fullmatch(r"[A-Za-z0-9_-]+", key):
        raise SystemExit(f"make-tenants: odd tenant id or key: {tenant!r} {key!r}")
    return tenant, key


start = time.monotonic()
with ThreadPoolExecutor(max_workers=8) as pool:
    made = list(pool.map(make, range(count)))
if len({t for t, _ in made}) != count:
    raise SystemExit("make-tenants: some tenant ids repeat")
with open(out_path, "w") as f:
    for tenant, key in made:
        f.write(f"{tenant} {key}\n")
print(f"{time.monotonic() - start:.1f}")

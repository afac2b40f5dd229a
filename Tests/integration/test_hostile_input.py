"""Hostile values in every field of every route, driven by the daemon's own OpenAPI document.

Every route GET /v1/openapi.json lists is called as an operator and as the owner of a tenant
(and with that tenant's API key where keys are accepted), with the other fields filled with
plausible values, and one field at a time replaced by a hostile value: int64 extremes (as
strings and as JSON numbers, 1e308, -0) in int64/integer fields, and NUL, control characters,
a lone surrogate (raw JSON text "\\ud800"), 100 kB, traversal, markup and SQL in string fields,
path parameters, query parameters and the request headers a route's summary names. No answer
may be a 5xx, every 4xx must be the {"code": int, "message": str} error with the document's
code -> status table, the daemon must stay alive, and `tenantryd check` must pass on the
database at the end.

A crashed daemon is recorded (with the runtime failure and the first Sources/ frame of its
backtrace, from its log) and restarted on the same database, so that one run finds every
failure; the last test fails if any crash happened.

Run with: TENANTRYD=.build/debug/tenantryd python3 -m pytest -q Tests/integration/test_hostile_input.py
"""
import copy
import http.client
import json
import re
import signal
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from conftest import Daemon, current_tenant_id, operator, run_cli, sign_up

# Whole module: requests stop being sent once this many seconds have gone by.
TIME_BUDGET = 80
REQUEST_TIMEOUT = 10
MAX_RESTARTS = 25
OWNER_PASSWORD = "user password 1"


class Hostile:
    """A hostile value: how it reads in a report, its raw JSON text for bodies, and its
    percent-encoded form for paths and query strings (None: not sent there)."""

    def __init__(self, label, json_text, url_text):
        self.label, self.json_text, self.url_text = label, json_text, url_text


def _string(label, value, url=None):
    return Hostile(label, json.dumps(value, ensure_ascii=True),
                   url if url is not None else urllib.parse.quote(value.encode("utf-8", "surrogatepass"), safe=""))


HOSTILE_STRINGS = [
    _string('"\\u0000"', "\u0000"),
    _string('"a\\u0000b"', "a\u0000b"),
    _string('"\\u001f"', "\u001f"),
    _string('"\\u007f"', "\u007f"),
    # The raw JSON text "\ud800" (a lone surrogate escape); in a URL its CESU-8 bytes, invalid UTF-8.
    Hostile('"\\ud800" (lone surrogate)', '"\\ud800"', "%ED%A0%80"),
    _string("100 kB string", "x" * 100_000),
    _string('"../../etc/passwd"', "../../etc/passwd"),
    _string('"<img src=x onerror=alert(1)>"', "<img src=x onerror=alert(1)>"),
    _string("\"' OR 1=1 --\"", "' OR 1=1 --"),
    _string('"%00"', "%00"),
]
# Path parameters also get these unencoded.
RAW_PATH_VALUES = [Hostile("raw ../../etc/passwd", None, "../../etc/passwd"), Hostile("raw %00", None, "%00")]

INT64_TEXTS = ["-9223372036854775808", "-1", "0", "9007199254740991", "9007199254740992",
               "9223372036854775807", "9223372036854775808"]
HOSTILE_INTS = (
    [Hostile(f'"{text}"', json.dumps(text), text) for text in INT64_TEXTS]
    + [Hostile(text, text, None) for text in INT64_TEXTS]
    + [Hostile("1e308", "1e308", None), Hostile("-0", "-0", None)]
)
# Query parameters are strings in the document, but some are read as integers (page, limit).
HOSTILE_QUERY = HOSTILE_STRINGS + [Hostile(f"query {text}", None, text) for text in INT64_TEXTS]

# Header values go as bytes: the hostile strings in UTF-8 (the surrogate as CESU-8), and int64 texts.
HOSTILE_HEADER_VALUES = (
    [Hostile(h.label, None, urllib.parse.unquote_to_bytes(h.url_text)) for h in HOSTILE_STRINGS]
    + [Hostile(f"header {text}", None, text.encode()) for text in INT64_TEXTS]
)
# Valid values of the request headers a summary may name (X-Response-Headers are not sent).
HEADER_DEFAULTS = {
    "x-usage-category": lambda: b"USAGE_AI_CREDIT", "x-usage-amount": lambda: b"1",
    "x-idempotency-key": lambda: ("hostile-" + uuid.uuid4().hex).encode(),
}

SENTINEL = "\u0001HOSTILE\u0001"

# Routes the main sessions never call: they end or delete the caller. Throwaway sessions do.
THROWAWAY_ROUTES = {("POST", "/v1/user/password"), ("POST", "/v1/user/initial")}
LAST_ROUTES = {("POST", "/v1/account/logout"), ("DELETE", "/v1/user")}
# Swept by tests of their own, after the main sweep: they change state other routes read.
SEPARATE_ROUTES = {("POST", "/v1/admin/tenants/{tenant_id}/credits"), ("POST", "/v1/admin/clock/advance")}


def rfc3339(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def start(db):
    """The daemon on DB, waiting up to a minute while its binary is being rebuilt."""
    deadline = time.time() + 60
    while True:
        try:
            return Daemon(db, args=["--test-clock"])
        except OSError:
            # Missing or "text file busy": the binary is being relinked.
            if time.time() > deadline:
                raise
            time.sleep(2)


class Environment:
    """The module's daemon, its callers and what they created, and every failure seen."""

    def __init__(self, db):
        self.db = db
        self.failures = []
        self.crashes = []
        self.requests = 0
        self.restarts = 0
        self.log_offset = 0
        self.baselines = {}
        self.daemon = start(db)
        self.started = time.time()

    # -- sending -------------------------------------------------------------------------

    def out_of_time(self):
        return time.time() - self.started > TIME_BUDGET

    def raw(self, method, target, body=None, token=None, headers=()):
        """Sends one request; answers (status, headers, raw bytes) or raises OSError/HTTPException."""
        self.requests += 1
        connection = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            if token:
                connection.putheader("Authorization", f"Bearer {token}")
            for name, value in headers:
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("Content-Type", "application/json")
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def probe(self, test, method, target, body_bytes, token, route, where, value, caller, headers=()):
        """Sends a request and records what is wrong with its answer; answers (status, body) or None."""
        try:
            status, headers, raw = self.raw(method, target, body_bytes, token, headers)
        except (OSError, http.client.HTTPException) as error:
            outcome = self.diagnose(error)
            # A request line or headers past libmicrohttpd's 64 KiB are refused (414/431) as
            # they arrive; a client still sending its body then sees the connection reset.
            refused_early = len(target) + sum(len(v) for _, v in headers) > 64 * 1024 and body_bytes
            if not (refused_early and outcome.endswith("daemon still alive")):
                self.record(test, method, route, caller, where, value, outcome)
            return None
        problem = judge(status, headers, raw, self.status_by_code)
        if problem and status >= 500:
            problem += f" (logged: {logged_error(self.new_log())})"
        if problem:
            self.record(test, method, route, caller, where, value, problem)
        try:
            decoded = json.loads(raw) if headers.get("Content-Type", "").startswith("application/json") else raw
        except ValueError:
            decoded = raw
        return status, decoded

    def record(self, test, method, route, caller, where, value, outcome):
        self.failures.append({"test": test, "method": method, "route": route, "caller": caller,
                              "where": where, "value": value, "outcome": outcome})

    def new_log(self):
        text = self.daemon.output()
        fresh, self.log_offset = text[self.log_offset:], len(text)
        return fresh

    def diagnose(self, error):
        """After a broken connection: a crash (restarting the daemon), a hang, or a dropped connection."""
        deadline = time.time() + 3
        while self.daemon.process.poll() is None and time.time() < deadline:
            try:
                if self.raw("GET", "/healthz")[0] == 200:
                    return f"no answer ({type(error).__name__}: {error}); daemon still alive"
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
        if self.daemon.process.poll() is None:
            self.daemon.stop(sig=signal.SIGKILL)
            outcome = f"daemon hung ({type(error).__name__}), killed"
        else:
            outcome = f"daemon CRASHED (exit {self.daemon.process.returncode}): {crash_site(self.new_log())}"
        self.crashes.append(outcome)
        self.restart()
        return outcome

    def restart(self):
        if self.restarts >= MAX_RESTARTS:
            raise RuntimeError(f"the daemon crashed more than {MAX_RESTARTS} times; giving up")
        self.restarts += 1
        self.log_offset = 0
        self.daemon = start(self.db)

    # -- the report ------------------------------------------------------------------------

    def report(self, test):
        """The failures of TEST grouped by cause (the same outcome), then by route and field."""
        failures = [f for f in self.failures if f["test"] == test]
        causes = {}
        for failure in failures:
            places = causes.setdefault(shorten(failure["outcome"]), {})
            entry = places.setdefault((failure["method"], failure["route"], failure["where"]), ([], set()))
            if failure["value"] not in entry[0]:
                entry[0].append(failure["value"])
            entry[1].add(failure["caller"])
        lines = [f"{len(failures)} failing requests ({self.requests} sent so far), {len(causes)} distinct outcomes:"]
        for outcome, places in causes.items():
            lines.append(f"* {outcome}")
            for (method, route, where), (values, callers) in places.items():
                lines.append(f"    {method} {route} [{where}] as {'/'.join(sorted(callers))}: {', '.join(values)}")
        return "\n".join(lines)


def crash_site(log):
    """The runtime failure and the first frame in Sources/ of a crashed daemon's backtrace."""
    reason = re.search(r"(Fatal error[^\n]*|Swift runtime failure: [^\n*]*)", log)
    frame = re.search(r"\d+ (?:\[\w+\] )*\s*0x[0-9a-f]+ (.+?) \+ \d+ in \S+ at \S*?(Sources/[^\s]+)", log)
    parts = [reason.group(1).strip() if reason else "no runtime failure in the log"]
    if frame:
        parts.append(f"at {frame.group(2)} in {frame.group(1)}")
    return " ".join(parts)


def logged_error(log):
    """The last error the daemon logged (the cause behind a 500)."""
    at = log.rfind(" error tenantry: ")
    if at < 0:
        return "nothing"
    return re.sub(r"\s+", " ", log[at + len(" error tenantry: "):].split(" [Tenantry", 1)[0])[:300]


def shorten(outcome):
    outcome = re.sub(r"x{40,}", "xxx…", outcome)
    return outcome if len(outcome) <= 300 else outcome[:300] + "…"


def judge(status, headers, raw, status_by_code):
    """What is wrong with an answer, or None."""
    text = raw[:300].decode("utf-8", "replace")
    # 501 (code 12) is an answer, not a crash: a feature the daemon was started without
    # (Stripe's webhook with no Stripe configured). Its shape is checked below.
    if status >= 500 and status != 501:
        return f"HTTP {status}: {text}"
    if status in (414, 431):
        # libmicrohttpd itself refuses a request line or headers past the connection's
        # memory (64 KiB), before any handler runs: a correct status, in its own words.
        return None
    if 400 <= status < 500 or status == 501:
        if not headers.get("Content-Type", "").startswith("application/json"):
            return f"HTTP {status} not JSON (Content-Type {headers.get('Content-Type')!r}): {text}"
        try:
            body = json.loads(raw)
        except ValueError as error:
            return f"HTTP {status} with malformed JSON ({error}): {text}"
        if not (isinstance(body, dict) and set(body) == {"code", "message"}
                and type(body["code"]) is int and isinstance(body["message"], str)):
            return f"HTTP {status} not the {{code, message}} shape: {text}"
        if status_by_code.get(body["code"]) != status:
            return f"HTTP {status} with code {body['code']}, which the document maps to {status_by_code.get(body['code'])}"
    return None


# -- the document ------------------------------------------------------------------------------


def resolve(schema, document):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def types_of(schema):
    kind = schema.get("type", [])
    return set(kind if isinstance(kind, list) else [kind])


def kind_of(schema):
    kinds = types_of(schema)
    if schema.get("format") == "int64" or "integer" in kinds:
        return "int"
    if "object" in kinds:
        return "object"
    if "array" in kinds:
        return "array"
    if "string" in kinds:
        return "string"
    return "other"


def leaves(schema, document, path=()):
    """Every int and string field of a request schema, as (path, kind); array items at index 0."""
    schema = resolve(schema, document)
    kind = kind_of(schema)
    if kind == "object":
        for name, child in schema.get("properties", {}).items():
            yield from leaves(child, document, path + (name,))
    elif kind == "array":
        yield from leaves(schema["items"], document, path + (0,))
    elif kind in ("int", "string"):
        yield path, kind


class Defaults:
    """Plausible valid values, so that the hostile value is what a request tests."""

    INTS = {"amount": 1, "quantity": 1, "units": 1, "total_amount": 100, "seconds": 1, "trial_days": 14,
            "credit_extension": 0, "team_members": 0}

    def __init__(self, env):
        self.env = env
        self.future = rfc3339(datetime.now(timezone.utc) + timedelta(days=30))

    def value(self, schema, document, name, route):
        schema = resolve(schema, document)
        kind = kind_of(schema)
        if kind == "object":
            return {key: self.value(child, document, key, route) for key, child in schema.get("properties", {}).items()}
        if kind == "array":
            return [self.value(schema["items"], document, name, route)]
        if kind == "int":
            return self.INTS.get(name, 1)
        if "boolean" in types_of(schema):
            return name == "active"
        if kind != "string":
            return None
        return self.string(schema, name, route)

    def string(self, schema, name, route):
        env = self.env
        preferred = {"role": "member", "kind": "addon", "period": "MONTHLY", "status": "ACTIVE"}
        if "enum" in schema:
            return preferred.get(name) if preferred.get(name) in schema["enum"] else schema["enum"][0]
        if schema.get("format") == "date-time":
            return self.future
        pattern = re.match(r"([A-Z]+_)\[A-Z0-9_\]\+", schema.get("description", ""))
        if pattern:
            return "USAGE_AI_CREDIT" if pattern.group(1) == "USAGE_" else pattern.group(1) + "TEST"
        if name == "idempotency_key":
            return "hostile-" + uuid.uuid4().hex
        if name == "tenant_id":
            return env.owner_tenant
        if name in ("id", "new_id"):
            return env.plan_variant
        if name == "plan_name":
            return env.sink_tenant
        if name == "email" and route == "/v1/tenant/members/delete":
            return "nobody@example.com"  # the member stays for the role change
        if name == "email" and route == "/v1/tenant/members/role":
            return "member@example.com"
        if name == "category" and route == "/v1/admin/variants":
            return "USAGE_H" + uuid.uuid4().hex.upper()  # one add-on per category: a new one each time
        return {
            "email": "invitee@example.com", "password": OWNER_PASSWORD, "old_password": OWNER_PASSWORD,
            "new_password": "new password 1", "password_confirm": "new password 1", "code": "123456",
            "token": "not-a-token", "invite_token": "not-an-invite", "from_link": "", "country": "US",
            "timezone": "UTC", "name": "Hostile Test", "category": "USAGE_AI_CREDIT", "reason": "hostile input test",
            "agent_id": "agent-1", "dataset_id": "dataset-1", "price": "1.00", "currency": "USD", "plan": "",
            "description": "hostile input test",
        }.get(name, "plausible")

    def path_parameter(self, name, route):
        env = self.env
        if name == "tenant_id":
            return env.sink_tenant if route.startswith("/v1/admin/") else env.owner_tenant
        if name == "plan_name":
            return env.sink_tenant
        if name == "agent_id":
            return "agent-1"
        if name == "path":
            return "index.html"
        if route.startswith("/v1/admin/variants/"):
            return env.sink_variant
        if route.startswith("/v1/admin/users/"):
            return env.victim_id
        if route.startswith("/v1/subscription/variants/"):
            return env.plan_variant
        return "nope"


def set_at(value, path, replacement):
    value = copy.deepcopy(value)
    target = value
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = replacement
    return value


def body_text(body, path=None, hostile=None):
    """The request body as bytes, with the hostile raw JSON text at PATH."""
    if path is None:
        return json.dumps(body, ensure_ascii=True).encode()
    text = json.dumps(set_at(body, path, SENTINEL), ensure_ascii=True)
    marker = json.dumps(SENTINEL, ensure_ascii=True)
    assert text.count(marker) == 1
    return text.replace(marker, hostile.json_text).encode()


def target_of(route, parameters, path_values, query=None):
    target = route
    for parameter in parameters:
        if parameter["in"] == "path":
            target = target.replace("{" + parameter["name"] + "}", path_values[parameter["name"]])
    if query:
        target += "?" + "&".join(f"{name}={value}" for name, value in query)
    return target


def where_label(path):
    return ".".join(f"[{step}]" if isinstance(step, int) else step for step in path).replace(".[", "[")


# -- the fixture ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    db = tmp_path_factory.mktemp("hostile") / "tenantry.sqlite"
    email, password = operator(db)
    env = Environment(db)
    try:
        setup(env, email, password)
        yield env
    finally:
        env.daemon.stop()


def setup(env, email, password):
    daemon = env.daemon
    env.operator = daemon.login(email, password)
    env.owner = sign_up(daemon, env.operator, "owner@example.com", OWNER_PASSWORD)
    env.owner_tenant = current_tenant_id(daemon, env.owner)
    sink = sign_up(daemon, env.operator, "sink@example.com")
    env.sink_tenant = current_tenant_id(daemon, sink)
    env.overflow_owner = sign_up(daemon, env.operator, "overflow@example.com")
    env.overflow_tenant = current_tenant_id(daemon, env.overflow_owner)
    victim = sign_up(daemon, env.operator, "victim@example.com")
    env.victim_id = daemon.request("GET", "/v1/user", token=victim)[2]["user"]["id"]
    # Password changes and first passwords: a throwaway user (its password is followed).
    env.throwaway = sign_up(daemon, env.operator, "throwaway@example.com", OWNER_PASSWORD)
    env.throwaway_password = OWNER_PASSWORD
    env.deleted = sign_up(daemon, env.operator, "deleted@example.com", OWNER_PASSWORD)
    env.logout_token = daemon.login("deleted@example.com", OWNER_PASSWORD)

    def key(token, name):
        status, _, body = daemon.request("POST", "/v1/tenant/api-keys", {"name": name, "scopes": ["usage.read", "usage.write"]}, token=token)
        assert status == 200, body
        return body["plaintext_key"]

    env.owner_key = key(env.owner, "hostile")
    env.overflow_key = key(env.overflow_owner, "overflow")
    # A member who joined (for role changes) and one still invited.
    for invitee, accept in (("member@example.com", True), ("invitee@example.com", False)):
        status, _, body = daemon.request("POST", "/v1/tenant/members/invite",
                                         {"members": [{"email": invitee, "role": "member"}]}, token=env.owner)
        assert status == 200 and body["rets"][0]["status"] == "SC_OK", body
        if accept:
            token = body["rets"][0]["invited_url"].split("token=", 1)[1]
            status, _, body = daemon.request("POST", "/v1/account/invite/accept",
                                             {"email": invitee, "password": OWNER_PASSWORD, "invite_token": token})
            assert status == 200, body
    status, _, body = daemon.request("POST", "/v1/usage/plans", {"plan_name": env.sink_tenant, "description": "sink"}, token=env.operator)
    assert status == 200, body
    status, _, body = daemon.request("POST", "/v1/admin/variants", {
        "kind": "addon", "category": "USAGE_AI_CREDIT", "units": 1, "price": "1.00", "currency": "USD", "description": "sink",
    }, token=env.operator)
    assert status == 200, body
    env.sink_variant = body["variant"]["id"]
    status, _, body = daemon.request("POST", "/v1/admin/variants", {
        "kind": "plan", "plan": "PRO", "period": "MONTHLY", "price": "19.99", "currency": "USD", "description": "pro",
    }, token=env.operator)
    assert status == 200, body
    env.plan_variant = body["variant"]["id"]

    status, _, env.document = daemon.request("GET", "/v1/openapi.json")
    assert status == 200 and env.document["paths"], env.document
    table = re.findall(r"(\d+)→(\d+)", env.document["info"]["description"])
    assert table, env.document["info"]["description"]
    env.status_by_code = {int(code): int(status) for code, status in table}
    env.defaults = Defaults(env)
    env.log_offset = len(daemon.output())


def operations(env):
    for route, methods in env.document["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), route, operation


def callers_for(env, method, route, operation):
    if (method, route) in THROWAWAY_ROUTES:
        return [("throwaway", lambda: env.throwaway)]
    if (method, route) == ("POST", "/v1/account/logout"):
        return [("throwaway", lambda: env.logout_token)]
    if (method, route) == ("DELETE", "/v1/user"):
        return [("throwaway", lambda: env.deleted)]
    credentials = operation.get("description", "")
    if "security" not in operation:
        return [("anonymous", lambda: None)]
    callers = [("operator", lambda: env.operator), ("owner", lambda: env.owner)]
    if "API key" in credentials and "operator API key" not in credentials:
        callers.append(("owner-key", lambda: env.owner_key))
    return callers


def sweep(env, test, method, route, operation):
    """Calls one route: a baseline with valid values, then one hostile value at a time in
    each body field, path parameter and query parameter, for each caller."""
    document, defaults = env.document, env.defaults
    parameters = operation.get("parameters", [])
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    fields = list(leaves(schema, document)) if schema else []
    for caller, token_of in callers_for(env, method, route, operation):
        if env.out_of_time():
            env.record(test, method, route, caller, "-", "-", f"not swept: the {TIME_BUDGET} s budget ran out")
            return

        def base_body():
            body = defaults.value(schema, document, "", route)
            if (method, route) in THROWAWAY_ROUTES and "old_password" in body:
                body["old_password"] = env.throwaway_password
            return body

        def send(where, value, path_values=None, query=None, body=None):
            path_values = path_values or {p["name"]: urllib.parse.quote(defaults.path_parameter(p["name"], route), safe="")
                                          for p in parameters if p["in"] == "path"}
            if schema is not None and body is None:
                body = body_text(base_body())
            answer = env.probe(test, method, target_of(route, parameters, path_values, query), body, token_of(),
                               route, where, value, caller)
            if answer and answer[0] == 200 and (method, route) in THROWAWAY_ROUTES:
                # A password that took: follow it, and the fresh token if one came back.
                sent = json.loads(body)
                env.throwaway_password = sent.get("new_password", sent.get("password", env.throwaway_password))
                if isinstance(answer[1], dict) and answer[1].get("token"):
                    env.throwaway = answer[1]["token"]
            return answer

        baseline = send("baseline (valid values)", "-")
        env.baselines[f"{method} {route} as {caller}"] = baseline[0] if baseline else "no answer"
        if baseline is None:
            continue
        # A caller the route turns away before reading anything gets the path and query only.
        gated = baseline[0] in (401, 403)
        for path, kind in ([] if gated else fields):
            for hostile in HOSTILE_INTS if kind == "int" else HOSTILE_STRINGS:
                send(where_label(path), hostile.label, body=body_text(base_body(), path, hostile))
        for parameter in parameters:
            name = parameter["name"]
            if parameter["in"] == "path":
                for hostile in HOSTILE_STRINGS + RAW_PATH_VALUES:
                    values = {p["name"]: urllib.parse.quote(defaults.path_parameter(p["name"], route), safe="")
                              for p in parameters if p["in"] == "path"}
                    values[name] = hostile.url_text
                    send(f"path {name}", hostile.label, path_values=values)
            elif parameter["in"] == "query":
                for hostile in HOSTILE_QUERY:
                    send(f"query {name}", hostile.label, query=[(name, hostile.url_text)])
        # Request headers the summary names (the document has no header parameters for them).
        named = sorted(set(re.findall(r"\bX-[A-Za-z]+(?:-[A-Za-z]+)+", operation.get("summary", ""))))
        requests = [name for name in named if name.lower() in HEADER_DEFAULTS]
        for name in [] if gated else requests:
            for hostile in HOSTILE_HEADER_VALUES:
                headers = [(other, HEADER_DEFAULTS[other.lower()]()) for other in requests if other != name] + [(name, hostile.url_text)]
                target = target_of(route, parameters, {p["name"]: urllib.parse.quote(defaults.path_parameter(p["name"], route), safe="")
                                                       for p in parameters if p["in"] == "path"})
                env.probe(test, method, target, None, token_of(), route, f"header {name}", hostile.label, caller, headers)


# -- the tests -------------------------------------------------------------------------------------


def test_every_route_survives_hostile_values(env):
    ordered = [op for op in operations(env) if (op[0], op[1]) not in SEPARATE_ROUTES | LAST_ROUTES]
    ordered += [op for op in operations(env) if (op[0], op[1]) in LAST_ROUTES]
    for method, route, operation in ordered:
        sweep(env, "sweep", method, route, operation)
    assert not [f for f in env.failures if f["test"] == "sweep"], env.report("sweep")


def test_hostile_credit_grants(env):
    """The hand grant (amount int64 extremes and the rest), against a tenant of its own."""
    operation = env.document["paths"]["/v1/admin/tenants/{tenant_id}/credits"]["post"]
    sweep(env, "grants", "POST", "/v1/admin/tenants/{tenant_id}/credits", operation)
    assert not [f for f in env.failures if f["test"] == "grants"], env.report("grants")


def test_huge_grants_then_consume_and_current_usage(env):
    """Two grants near Int64.max on one tenant, then consume and the usage reads: the sums
    must not trap (they did: Int64 overflow crashed the daemon)."""
    tenant = env.overflow_tenant
    route = "/v1/admin/tenants/{tenant_id}/credits"
    steps = [
        ("POST", route, f"/v1/admin/tenants/{tenant}/credits", env.operator, {"category": "USAGE_AI_CREDIT", "amount": "9223372036854775807", "expires_at": env.defaults.future, "reason": "huge 1"}),
        ("POST", route, f"/v1/admin/tenants/{tenant}/credits", env.operator, {"category": "USAGE_AI_CREDIT", "amount": "9223372036854775807", "expires_at": env.defaults.future, "reason": "huge 2"}),
        ("POST", route, f"/v1/admin/tenants/{tenant}/credits", env.operator, {"category": "USAGE_AI_CREDIT", "amount": 9223372036854775000, "expires_at": env.defaults.future, "reason": "huge 3"}),
        ("POST", "/v1/usage/tenants/{tenant_id}/consume", f"/v1/usage/tenants/{tenant}/consume", env.overflow_key, {"category": "USAGE_AI_CREDIT", "amount": 1, "idempotency_key": "huge-" + uuid.uuid4().hex}),
        ("POST", "/v1/usage/tenants/{tenant_id}/consume", f"/v1/usage/tenants/{tenant}/consume", env.operator, {"category": "USAGE_AI_CREDIT", "amount": "9223372036854775807", "idempotency_key": "huge-" + uuid.uuid4().hex}),
        ("GET", "/v1/usage/tenants/{tenant_id}/current", f"/v1/usage/tenants/{tenant}/current", env.overflow_owner, None),
        ("GET", "/v1/usage/tenants/{tenant_id}/current", f"/v1/usage/tenants/{tenant}/current", env.operator, None),
        ("GET", "/v1/auth/check", "/v1/auth/check", env.overflow_key, None),
        ("GET", "/v1/admin/tenants/{tenant_id}", f"/v1/admin/tenants/{tenant}", env.operator, None),
        ("GET", "/v1/admin/tenants", "/v1/admin/tenants?q=overflow", env.operator, None),
        ("GET", "/v1/admin/overview", "/v1/admin/overview", env.operator, None),
    ]
    for method, route, target, token, body in steps:
        data = None if body is None else json.dumps(body).encode()
        answer = env.probe("overflow", method, target, data, token, route, "scenario", json.dumps(body) if body else "-", "scenario")
        print(f"{method} {target} {body or ''} -> {shorten(repr(answer) if answer else 'no answer')}")
    assert not [f for f in env.failures if f["test"] == "overflow"], env.report("overflow")


def test_a_nul_idempotency_key_is_invalid(env):
    body = {"category": "USAGE_AI_CREDIT", "amount": 1, "idempotency_key": "\u0000"}
    route = "/v1/usage/tenants/{tenant_id}/consume"
    for caller, token in (("owner-key", env.owner_key), ("operator", env.operator)):
        answer = env.probe("nul-key", "POST", f"/v1/usage/tenants/{env.owner_tenant}/consume", json.dumps(body).encode(),
                           token, route, "idempotency_key", '"\\u0000"', caller)
        if answer and not (answer[0] == 400 and isinstance(answer[1], dict) and answer[1].get("code") == 3):
            env.record("nul-key", "POST", route, caller, "idempotency_key", '"\\u0000"', f"expected 400 code 3, got {answer[0]}: {answer[1]!r:.200}")
    assert not [f for f in env.failures if f["test"] == "nul-key"], env.report("nul-key")


def test_hostile_clock_advance(env):
    """Last of the sweeps: a clock that moved far ahead changes what every other route sees."""
    operation = env.document["paths"].get("/v1/admin/clock/advance", {}).get("post")
    assert operation, "the daemon runs with --test-clock, so the document lists the clock"
    sweep(env, "clock", "POST", "/v1/admin/clock/advance", operation)
    assert not [f for f in env.failures if f["test"] == "clock"], env.report("clock")


def test_the_daemon_survived_and_the_database_checks(env):
    crashes = list(env.crashes)
    alive = env.daemon.process.poll() is None
    healthy = False
    if alive:
        try:
            healthy = env.raw("GET", "/healthz")[0] == 200
        except (OSError, http.client.HTTPException):
            healthy = False
    exit_code = env.daemon.stop()
    checked = run_cli("check", "--db", env.db, check=False)
    problems = []
    if crashes:
        problems.append(f"the daemon crashed {len(crashes)} times during the module (restarted each time):\n  " + "\n  ".join(crashes))
    if not (alive and healthy):
        problems.append("the daemon was not alive and answering /healthz at the end")
    if exit_code != 0:
        problems.append(f"the daemon exited {exit_code} on SIGTERM")
    if checked.returncode != 0 or not checked.stdout.startswith("ok:"):
        problems.append(f"tenantryd check failed ({checked.returncode}): {checked.stdout}{checked.stderr}")
    print(f"{env.requests} requests in {time.time() - env.started:.1f} s; baseline answers (valid values):")
    for call, status in env.baselines.items():
        print(f"  {status} {call}")
    assert not problems, "\n".join(problems)

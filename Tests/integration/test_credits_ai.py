"""Credits for AI workloads (issue 9) on the real binary over loopback: holds, caps, alerts,
rollover, the ledger, balances and batches, under concurrency, kill -9 and the test clock.

The contract under test (all under /v1/usage/tenants/{tenant_id}; int64 values are decimal
strings in answers; errors are {code, message} with 3→400, 5→404, 6→409, 7→403, 9→402;
"available" = live grants left − open unexpired holds):

- POST …/holds {category, amount, agent_id, dataset_id, ttl_seconds, idempotency_key} →
  {hold, remaining}; short is code 9 naming available, held and requested; a replay answers the
  first result with `Idempotent-Replayed: true`, other content under the same key is code 6.
- POST …/holds/{id}/settle {amount, idempotency_key} → {hold, consumed, remaining}: debits the
  amount, frees the hold; more than held needs the balance to cover the difference (else 9, the
  hold stays open); an expired hold settles when the balance covers it; the same key answers the
  first result; another key on a settled hold, or a released hold, is 9; unknown is 5.
- POST …/holds/{id}/release → {hold, remaining}; released or expired answer unchanged; settled is 9.
- The expireHolds job (10 s) marks open holds past their TTL expired.
- PUT/GET …/limits: caps per agent or API key per day|month|period; a debit, hold or settle
  over a cap is code 9 naming the cap.
- GET/PUT …/alerts: thresholds fire once per window and category (credits.low,
  credits.depleted), as webhooks and as emails to the owners unless email is off.
- Rollover at a plan grant's period end: min(left × percent / 100, max_amount) becomes a
  `rollover` grant; what was left expires; once per grant; a rollover never rolls over.
- GET …/ledger (json or csv), GET …/balance, POST …/consume/batch (1..1000 items, one answer
  each), and GET /v1/auth/check with X-Usage-Hold-Ttl placing a hold (X-Usage-Hold-Id).
- `tenantryd check` fails on incoherent holds; every test ends with it passing.

Every test has its own database and daemon (`--test-clock`), an operator API key made with
`tenantryd admin create-key` (it outlives clock moves, unlike sessions) and a signed-up owner
whose tenant starts on the 14-day trial (10,000 USAGE_AI_CREDIT) unless it says otherwise.
Races run in threads released together by a barrier; 64 at once unless it says otherwise.

Run with: TENANTRYD=… python3 -m pytest -q Tests/integration/test_credits_ai.py
"""
import csv
import io
import json
import random
import re
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import pytest

from conftest import Daemon, current_tenant_id, run_cli, sign_up
from webhook_receiver import advance_clock, instant

AI = "USAGE_AI_CREDIT"
DAY = 86400
TRIAL = 10000
PASSWORD = "user password 1"
WIDTH = 64
HTTP_OF_CODE = {3: 400, 5: 404, 6: 409, 7: 403, 9: 402, 16: 401}
HOLD_FIELDS = {"id", "category", "amount", "agent_id", "dataset_id", "status", "expires_at", "created_at", "ended_at", "settled_amount"}
ENTRY_FIELDS = {"seq", "kind", "category", "amount", "balance_after", "held_after", "grant_id", "source", "debit_id", "hold_id",
                "agent_id", "dataset_id", "drawn_from", "created_at"}
ENTRY_KINDS = {"opening", "grant", "rollover", "debit", "hold", "settle", "release", "hold_expiry", "expiry"}
CSV_HEADER = ["seq", "created_at", "kind", "category", "amount", "balance_after", "held_after", "grant_id", "source", "debit_id",
              "hold_id", "agent_id", "dataset_id", "drawn_from"]
LIMIT_FIELDS = {"scope", "subject", "category", "limit", "window", "used", "window_start", "window_end"}
BALANCE_FIELDS = {"category", "available", "held", "granted_left", "next_expiry_at", "next_expiry_amount"}
ALERT_FIELDS = {"category", "event", "threshold", "level", "available", "allowance", "window_start", "fired_at"}
ALERT_DATA = {"tenant_id", "category", "threshold", "level", "available", "allowance", "window_start"}
DEFAULT_THRESHOLDS = [{"percent": 80, "remaining": "0"}, {"percent": 100, "remaining": "0"}]


# ---------------------------------------------------------------------------------------------
# HTTP with headers in and out (Daemon.request has neither)


class Answer(NamedTuple):
    status: int
    headers: object  # an http.client.HTTPMessage: case-insensitive get()
    body: object  # decoded JSON, or the raw bytes

    @property
    def replayed(self):
        return self.headers.get("Idempotent-Replayed") == "true"


def call(daemon, method, path, body=None, token=None, headers=(), timeout=60):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(daemon.url(path), data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in dict(headers).items():
        request.add_header(name, str(value))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, head, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, raw = error.code, error.headers, error.read()
    if head.get("Content-Type", "").startswith("application/json"):
        return Answer(status, head, json.loads(raw))
    return Answer(status, head, raw)


def assert_error(answer, code, *containing):
    """ANSWER is error CODE with its HTTP status, and its message holds every string of CONTAINING."""
    assert isinstance(answer.body, dict), answer
    assert (answer.status, answer.body.get("code")) == (HTTP_OF_CODE[code], code), answer.body
    message = answer.body.get("message", "")
    for text in containing:
        assert text.lower() in message.lower(), f"{text!r} not in the message {message!r}"
    return message


def race(jobs, timeout=120):
    """Runs each job in its own thread, all released at once; answers their results in order
    (an exception raised by a job is its result)."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except BaseException as error:  # noqa: BLE001 — reported as the job's result
            results[index] = error

    threads = [threading.Thread(target=run, args=(index, job), daemon=True) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a racing request never came back"
    return results


def answers(results):
    """Every result is an HTTP answer, not an exception."""
    failed = [r for r in results if not isinstance(r, Answer)]
    assert not failed, f"{len(failed)} requests failed outright: {failed[:3]}"
    return results



def rfc3339(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def from_ms(milliseconds):
    return datetime.fromtimestamp(milliseconds / 1000, tz=timezone.utc)


def months_add(moment, months):
    """Months.add of the daemon: the same day of the month (clamped) and time of day."""
    total = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    days_in = [31, 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return moment.replace(year=year, month=month, day=min(moment.day, days_in))


# ---------------------------------------------------------------------------------------------
# Set-up: a database, an operator key, daemons on it, an owner with API keys


class Owner:
    def __init__(self, test, email):
        self.test = test
        self.email = email
        self.token = sign_up(test.daemon, test.op, email, PASSWORD)
        self.tenant = current_tenant_id(test.daemon, self.token)

    def login(self):
        """A fresh session (after the clock moved past the old one's idle time)."""
        self.token = self.test.daemon.login(self.email, PASSWORD)
        return self.token

    def key(self, name="worker", scopes=("usage.read", "usage.write")):
        """A new API key of the tenant: (id, secret)."""
        created = self.test.ok("POST", "/v1/tenant/api-keys", {"name": name, "scopes": list(scopes)}, token=self.token)
        return created["api_key"]["id"], created["plaintext_key"]

    def path(self, tail=""):
        return f"/v1/usage/tenants/{self.tenant}{tail}"


class CreditsTest:
    """One database with an operator key; the daemons it started, all stopped at the end."""

    def __init__(self, tmp_path, args=(), env=None):
        self.db = tmp_path / "tenantry.sqlite"
        created = run_cli("admin", "create-key", "--name", "credits tests", "--db", self.db)
        self.op = re.search(r"key: (tnk_\S+)", created.stdout).group(1)
        self.args = ["--test-clock", *args]
        self.env = env
        self.daemons = []
        self.daemon = None
        self.start()

    def start(self):
        self.daemon = Daemon(self.db, args=self.args, env=self.env)
        self.daemons.append(self.daemon)
        return self.daemon

    def kill(self):
        assert self.daemon.stop(signal.SIGKILL) == -signal.SIGKILL

    def stop(self):
        assert self.daemon.stop() == 0, self.daemon.output()[-3000:]

    def close(self):
        for daemon in self.daemons:
            daemon.stop()

    def call(self, method, path, body=None, token=None, headers=()):
        return call(self.daemon, method, path, body, token=token or self.op, headers=headers)

    def ok(self, method, path, body=None, token=None, headers=()):
        answer = self.call(method, path, body, token, headers)
        assert answer.status == 200, (method, path, answer.status, answer.body, self.daemon.output()[-3000:])
        return answer.body

    def owner(self, email):
        return Owner(self, email)

    def advance(self, seconds, receivers=()):
        return advance_clock(self.ok, seconds, receivers)

    def check(self):
        """`tenantryd check` on the database passes."""
        checked = run_cli("check", "--db", self.db, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.startswith("ok:"), checked.stdout
        return checked

    # -- the credits routes ---------------------------------------------------------------------

    def hold(self, owner, key, amount, idempotency_key, ttl=3600, agent="", dataset="", category=AI):
        body = {"category": category, "amount": amount, "agent_id": agent, "dataset_id": dataset, "idempotency_key": idempotency_key}
        if ttl is not None:
            body["ttl_seconds"] = ttl
        return self.call("POST", owner.path("/holds"), body, token=key)

    def settle(self, owner, key, hold_id, amount, idempotency_key):
        return self.call("POST", owner.path(f"/holds/{hold_id}/settle"), {"amount": amount, "idempotency_key": idempotency_key}, token=key)

    def release(self, owner, key, hold_id):
        return self.call("POST", owner.path(f"/holds/{hold_id}/release"), {}, token=key)

    def consume(self, owner, key, amount, idempotency_key, agent="", dataset="", category=AI):
        return self.call("POST", owner.path("/consume"), {"category": category, "amount": amount, "agent_id": agent, "dataset_id": dataset,
                                                          "idempotency_key": idempotency_key}, token=key)

    def balance(self, owner, token=None, category=AI):
        """The category's balance as integers (None for next_expiry_at is kept)."""
        balances = self.ok("GET", owner.path("/balance"), token=token or owner.token)["balances"]
        found = [b for b in balances if b["category"] == category]
        assert len(found) == 1, balances
        balance = found[0]
        assert set(balance) == BALANCE_FIELDS, balance
        return {name: (int(value) if name in ("available", "held", "granted_left", "next_expiry_amount") else value) for name, value in balance.items()}

    def pages(self, path, field, token, **query):
        """Every item of a paged list, page by page (100 at a time)."""
        items, page = [], 1
        while True:
            answer = self.ok("GET", f"{path}?{urllib.parse.urlencode({**query, 'page': page, 'limit': 100})}", token=token)
            items += answer[field]
            if not answer["page"]["has_more"]:
                assert int(answer["page"]["total"]) == len(items), answer["page"]
                return items
            page += 1
            assert page < 100, "too many pages"

    def holds(self, owner, status=None):
        holds = self.pages(owner.path("/holds"), "holds", owner.token, **({"status": status} if status else {}))
        for hold in holds:
            assert set(hold) == HOLD_FIELDS, hold
        return holds

    def ledger(self, owner, **query):
        entries = self.pages(owner.path("/ledger"), "entries", owner.token, **query)
        for entry in entries:
            assert set(entry) == ENTRY_FIELDS, entry
            assert entry["kind"] in ENTRY_KINDS, entry
            assert int(entry["amount"]) >= 0 and int(entry["balance_after"]) >= 0 and int(entry["held_after"]) >= 0, entry
        return entries


@pytest.fixture
def credits(tmp_path):
    test = CreditsTest(tmp_path)
    yield test
    test.close()


class BalanceWatch:
    """Reads the balance as fast as it can while a race runs: every reading must add up."""

    def __init__(self, test, owner):
        self.test, self.owner = test, owner
        self.readings, self.problems = [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                answer = self.test.call("GET", self.owner.path("/balance"), token=self.owner.token)
            except OSError as error:
                self.problems.append(repr(error))
                continue
            if answer.status != 200:
                self.problems.append(answer)
                continue
            [balance] = [b for b in answer.body["balances"] if b["category"] == AI]
            self.readings.append((int(balance["available"]), int(balance["held"]), int(balance["granted_left"])))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join(30)
        assert not self.problems, self.problems[:3]
        assert self.readings, "no balance was read during the race"
        for available, held, granted_left in self.readings:
            assert available >= 0 and held >= 0, (available, held, granted_left)
            assert granted_left == available + held, (available, held, granted_left)
            assert granted_left <= TRIAL, (available, held, granted_left)


def assert_hold(hold, amount, status, agent="", dataset=""):
    assert set(hold) == HOLD_FIELDS, hold
    assert hold["id"].startswith("hld_"), hold
    assert (hold["category"], hold["amount"], hold["agent_id"], hold["dataset_id"], hold["status"]) == (AI, str(amount), agent, dataset, status), hold
    assert (hold["ended_at"] is None) == (status == "open"), hold
    return hold


# ---------------------------------------------------------------------------------------------
# 1. Holds, settles, releases and expiries racing: nothing overdrawn, every hold ends once


def test_holds_settles_releases_and_expiries_race_without_overdrawing(credits):
    t = credits
    owner = t.owner("racer@example.com")
    _, key = owner.key()
    assert (t.balance(owner)["available"], t.balance(owner)["held"]) == (TRIAL, 0)

    # Eight holds that expire in 2 minutes (daemon time), placed one by one: 1,600 held.
    short = []
    for index in range(8):
        answer = t.hold(owner, key, 200, f"short-{index}", ttl=120, agent="batcher")
        assert answer.status == 200, answer
        hold = assert_hold(answer.body["hold"], 200, "open", agent="batcher")
        assert instant(hold["expires_at"]) - instant(hold["created_at"]) == timedelta(seconds=120), hold
        assert answer.body["remaining"] == str(TRIAL - 200 * (index + 1)), answer.body
        short.append(hold["id"])

    # 64 holds of 200 race for the 8,400 left: exactly 42 are placed; 22 are short, and each
    # says what is available (0), what open holds reserve (10,000) and what it asked (200).
    first_answers = {}
    with BalanceWatch(t, owner):
        placed = answers(race([lambda i=i: t.hold(owner, key, 200, f"long-{i}", ttl=3600) for i in range(WIDTH)]))
    for index, answer in enumerate(placed):
        if answer.status == 200:
            assert_hold(answer.body["hold"], 200, "open")
            assert not answer.replayed, answer.headers
            first_answers[f"long-{index}"] = answer.body
        else:
            message = assert_error(answer, 9, "available", "10000", "200")
            assert re.search(r"\b0\b", message), message
    assert len(first_answers) == 42, f"{len(first_answers)} holds placed of 8,400 credits at 200 each"
    # Serial commits: each placed hold saw a different balance, 8,200 down to 0.
    assert sorted(int(a["remaining"]) for a in first_answers.values()) == list(range(0, 8400, 200))
    balance = t.balance(owner)
    assert (balance["available"], balance["held"], balance["granted_left"]) == (0, TRIAL, TRIAL), balance
    # Holds count: reserving everything crossed 80 % and 100 % of the trial's allowance.
    alerts = t.ok("GET", owner.path("/alerts"), token=owner.token)["alerts"]
    assert [(a["event"], a["available"]) for a in alerts] == [("credits.depleted", "0"), ("credits.low", "2000")], alerts
    placed_keys = sorted(first_answers, key=lambda k: int(k.split("-")[1]))
    long = [first_answers[k]["hold"]["id"] for k in placed_keys]
    assert len(set(long)) == 42
    S, LESS, R, D, X, P, M = long[0:8], long[8:16], long[16:24], long[24:28], long[28:32], long[32:34], long[34:42]

    # Round 2, 64 at once: settles of the held amount, of less, releases (twice each), two
    # settles with different keys, a settle against a release, four settles with one key,
    # unknown holds, and replays of placed holds.
    jobs, kinds = [], []

    def add(kind, job):
        kinds.append(kind)
        jobs.append(job)
    for h in S:
        add(("S", h), lambda h=h: t.settle(owner, key, h, 200, f"s-{h}"))
    for h in LESS:
        add(("LESS", h), lambda h=h: t.settle(owner, key, h, 50, f"less-{h}"))
    for h in R:
        for _ in range(2):
            add(("R", h), lambda h=h: t.release(owner, key, h))
    for h in D:
        for side in ("a", "b"):
            add(("D", h), lambda h=h, side=side: t.settle(owner, key, h, 200, f"d{side}-{h}"))
    for h in X:
        add(("X", h), lambda h=h: t.settle(owner, key, h, 200, f"x-{h}"))
        add(("X", h), lambda h=h: t.release(owner, key, h))
    for h in P:
        for _ in range(4):
            add(("P", h), lambda h=h: t.settle(owner, key, h, 200, f"p-{h}"))
    for index in range(4):
        add(("unknown", index), lambda index=index: t.settle(owner, key, f"hld_doesnotexist{index}", 10, f"nobody-{index}"))
    replayed_keys = placed_keys[34:38]  # holds of M: still open in this round
    for k in replayed_keys:
        add(("replay", k), lambda k=k: t.hold(owner, key, 200, k, ttl=3600))
    assert len(jobs) == WIDTH
    with BalanceWatch(t, owner):
        results = answers(race(jobs))
    by = defaultdict(list)
    for (kind, subject), answer in zip(kinds, results):
        by[kind, subject].append(answer)

    for h in S:
        [answer] = by["S", h]
        assert answer.status == 200, answer
        assert answer.body["consumed"] == "200", answer.body
        assert_hold(answer.body["hold"], 200, "settled")
        assert answer.body["hold"]["settled_amount"] == "200", answer.body
    for h in LESS:
        [answer] = by["LESS", h]
        assert answer.status == 200, answer
        assert answer.body["consumed"] == "50" and answer.body["hold"]["settled_amount"] == "50", answer.body
        assert_hold(answer.body["hold"], 200, "settled")
    for h in R:
        pair = by["R", h]
        assert [a.status for a in pair] == [200, 200], pair
        assert all(assert_hold(a.body["hold"], 200, "released")["id"] == h for a in pair)
        assert sorted(a.replayed for a in pair) == [False, True], "a second release answers it unchanged, as a replay"
        assert pair[0].body["hold"] == pair[1].body["hold"], pair
    for h in D:
        pair = by["D", h]
        assert sorted(a.status for a in pair) == [200, 402], f"two settles with two keys: one wins, the other is 9: {pair}"
        assert_error(next(a for a in pair if a.status != 200), 9)
    x_settled = 0
    for h in X:
        pair = by["X", h]
        assert sorted(a.status for a in pair) == [200, 402], f"settle against release: exactly one wins: {pair}"
        assert_error(next(a for a in pair if a.status != 200), 9)
        winner = next(a for a in pair if a.status == 200)
        x_settled += winner.body["hold"]["status"] == "settled"
        assert winner.body["hold"]["status"] in ("settled", "released"), winner.body
    for h in P:
        four = by["P", h]
        assert [a.status for a in four] == [200] * 4, four
        assert sorted(a.replayed for a in four) == [False, True, True, True], "one settle, three replays of it"
        assert all(a.body == four[0].body for a in four), four
        assert four[0].body["consumed"] == "200" and four[0].body["hold"]["status"] == "settled", four[0].body
    for index in range(4):
        assert_error(by["unknown", index][0], 5)
    for k in replayed_keys:
        [answer] = by["replay", k]
        assert answer.status == 200 and answer.replayed, (answer.status, dict(answer.headers), answer.body)
        assert answer.body == first_answers[k], (answer.body, first_answers[k])

    # Debited: 8×200 + 8×50 + 4×200 + 2×200 + 200 per settled X; held: the short ones and M.
    debited = 1600 + 400 + 800 + 400 + 200 * x_settled
    balance = t.balance(owner)
    assert (balance["granted_left"], balance["held"]) == (TRIAL - debited, 3200), (balance, x_settled)
    available = balance["available"]
    assert available == TRIAL - debited - 3200 == 3600 - 200 * x_settled, balance

    # Round 3: settles of more than held (300 of 200) race with debits of 100; each needs 100
    # of the available balance, so exactly available / 100 of the 64 succeed.
    jobs = [lambda h=h: t.settle(owner, key, h, 300, f"more-{h}") for h in M]
    jobs += [lambda i=i: t.consume(owner, key, 100, f"c-{i}", agent="chat") for i in range(WIDTH - len(M))]
    with BalanceWatch(t, owner):
        results = answers(race(jobs))
    for answer in results:
        if answer.status != 200:
            assert_error(answer, 9)
    assert sum(a.status == 200 for a in results) == available // 100, [a.status for a in results]
    more_settled = [h for h, a in zip(M, results) if a.status == 200]
    more_failed = [h for h, a in zip(M, results) if a.status != 200]
    for h, answer in zip(M, results):
        if answer.status == 200:
            assert answer.body["consumed"] == "300" and answer.body["hold"]["settled_amount"] == "300", answer.body
            assert_hold(answer.body["hold"], 200, "settled")
    consumed_c = 100 * sum(a.status == 200 for a in results[len(M):])
    open_now = {h["id"] for h in t.holds(owner, "open")}
    assert open_now == set(short) | set(more_failed), "a settle refused for the difference leaves its hold open"
    balance = t.balance(owner)
    assert (balance["available"], balance["held"]) == (0, 1600 + 200 * len(more_failed)), balance

    # The refused ones are released; the clock moves past the short holds' TTL: they expire.
    for h in more_failed:
        answer = t.release(owner, key, h)
        assert answer.status == 200 and not answer.replayed, answer
        assert_hold(answer.body["hold"], 200, "released")
    t.advance(200)
    expired = t.holds(owner, "expired")
    assert sorted(h["id"] for h in expired) == sorted(short), expired
    assert all(h["ended_at"] is not None and h["settled_amount"] in (None, "0") for h in expired), expired
    assert t.holds(owner, "open") == []
    balance = t.balance(owner)
    assert (balance["available"], balance["held"]) == (1600 + 200 * len(more_failed), 0), balance
    pool = balance["available"]

    # Round 4, after the TTL: settles of expired holds race with debits of 200; releases of
    # expired holds answer them unchanged. Exactly available / 200 settles and debits succeed.
    jobs = [lambda h=h: t.settle(owner, key, h, 200, f"late-{h}") for h in short[:4]]
    jobs += [lambda h=h: t.release(owner, key, h) for h in short[4:]]
    jobs += [lambda i=i: t.consume(owner, key, 200, f"z-{i}", agent="chat") for i in range(WIDTH - 8)]
    with BalanceWatch(t, owner):
        results = answers(race(jobs))
    late, releases, debits = results[:4], results[4:8], results[8:]
    for answer in releases:
        assert answer.status == 200, answer
        assert_hold(answer.body["hold"], 200, "expired", agent="batcher")
    for answer in late + debits:
        if answer.status != 200:
            assert_error(answer, 9)
    assert sum(a.status == 200 for a in late + debits) == pool // 200, [a.status for a in late + debits]
    late_settled = [h for h, a in zip(short[:4], late) if a.status == 200]
    for answer in late:
        if answer.status == 200:
            assert answer.body["consumed"] == "200", answer.body
            assert_hold(answer.body["hold"], 200, "settled", agent="batcher")
    consumed_z = 200 * sum(a.status == 200 for a in debits)
    balance = t.balance(owner)
    assert (balance["available"], balance["held"], balance["granted_left"]) == (0, 0, 0), balance

    # Every hold ended exactly once.
    everything = t.holds(owner)
    assert len(everything) == 50 and len({h["id"] for h in everything}) == 50, len(everything)
    created = [instant(h["created_at"]) for h in everything]
    assert created == sorted(created, reverse=True), "newest first"
    assert {h["id"] for h in everything[-8:]} == set(short), "the short holds were placed first: they come last"
    status = {h["id"]: h for h in everything}
    settled_ids = set(S) | set(LESS) | set(P) | set(more_settled) | set(late_settled) | \
        {h for h in D} | {h for h in X if status[h]["status"] == "settled"}
    released_ids = set(R) | set(more_failed) | {h for h in X if status[h]["status"] == "released"}
    expired_ids = set(short) - set(late_settled)
    assert Counter(h["status"] for h in everything) == Counter(
        {"settled": len(settled_ids), "released": len(released_ids), "expired": len(expired_ids)}), Counter(h["status"] for h in everything)
    assert {h for h, v in status.items() if v["status"] == "settled"} == settled_ids
    assert {h for h, v in status.items() if v["status"] == "released"} == released_ids
    assert {h for h, v in status.items() if v["status"] == "expired"} == expired_ids
    for state in ("settled", "released", "expired"):
        assert {h["id"] for h in t.holds(owner, state)} == {h for h, v in status.items() if v["status"] == state}
    settled_total = sum(int(status[h]["settled_amount"]) for h in settled_ids)
    assert settled_total + consumed_c + consumed_z == TRIAL, (settled_total, consumed_c, consumed_z)

    # The journal agrees: one hold entry per hold, at most one settle (with the settled
    # amount), a release only for released ones, an expiry entry for each expired-by-TTL one.
    entries = t.ledger(owner)
    seqs = [int(e["seq"]) for e in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "ascending by default"
    per_hold = defaultdict(list)
    for entry in entries:
        if entry["hold_id"]:
            per_hold[entry["hold_id"]].append(entry)
    assert set(per_hold) == set(status), "only placed holds are in the journal"
    for h, found in per_hold.items():
        kinds_of = Counter(e["kind"] for e in found)
        assert kinds_of["hold"] == 1, (h, found)
        assert [e["amount"] for e in found if e["kind"] == "hold"] == ["200"], found
        assert kinds_of["settle"] == (1 if h in settled_ids else 0), (h, status[h], found)
        assert kinds_of["release"] == (1 if h in released_ids else 0), (h, status[h], found)
        assert kinds_of["hold_expiry"] == (1 if h in short else 0), (h, found)
        if h in settled_ids:
            [settle_entry] = [e for e in found if e["kind"] == "settle"]
            assert settle_entry["amount"] == status[h]["settled_amount"], (settle_entry, status[h])
        assert len({e["debit_id"] for e in found if e["debit_id"]}) <= 1, f"two debits for one hold: {found}"
    plain_debits = [e for e in entries if e["kind"] == "debit" and not e["hold_id"]]
    assert sum(int(e["amount"]) for e in plain_debits) == consumed_c + consumed_z, plain_debits
    assert (entries[-1]["balance_after"], entries[-1]["held_after"]) == ("0", "0"), entries[-1]
    # Each threshold fired once in the window, however many holds and debits went past it.
    assert len(t.ok("GET", owner.path("/alerts"), token=owner.token)["alerts"]) == 2

    t.stop()
    t.check()


# ---------------------------------------------------------------------------------------------
# 2. kill -9 between hold and settle: nothing lost, nothing doubled


def place_until_killed(t, owner, key, jobs, at_least):
    """Runs JOBS (callables answering an Answer), two per thread, 64 threads, and SIGKILLs the
    daemon once AT_LEAST of them were acknowledged with a 200. Answers {index: answer} of the
    acknowledged ones; a request the kill cut off is not in it."""
    acknowledged, refused = {}, []
    done = threading.Condition()
    finished = [0]

    def worker(indices):
        for index in indices:
            try:
                answer = jobs[index]()
            except Exception:  # noqa: BLE001 — cut off by the kill
                break
            with done:
                (acknowledged.__setitem__(index, answer) if answer.status == 200 else refused.append(answer))
                done.notify_all()
        with done:
            finished[0] += 1
            done.notify_all()

    threads = [threading.Thread(target=worker, args=(range(i, len(jobs), WIDTH),), daemon=True) for i in range(WIDTH)]
    for thread in threads:
        thread.start()
    with done:
        done.wait_for(lambda: len(acknowledged) >= at_least or finished[0] == WIDTH, timeout=60)
    t.kill()
    for thread in threads:
        thread.join(60)
    assert not refused, refused[:3]
    assert len(acknowledged) >= at_least, len(acknowledged)
    return dict(acknowledged)


def test_kill_9_between_hold_and_settle_loses_nothing_and_doubles_nothing(credits):
    t = credits
    owner = t.owner("crash@example.com")
    _, key = owner.key()
    keys = [f"crash-{i}" for i in range(2 * WIDTH)]
    place = [lambda k=k: t.hold(owner, key, 50, k, ttl=3600, agent="etl") for k in keys]
    acknowledged = place_until_killed(t, owner, key, place, at_least=40)
    # The database left by the kill is coherent as it is.
    t.check()

    t.start()
    owner.login()
    survivors = {h["id"]: h for h in t.holds(owner, "open")}
    for index, answer in acknowledged.items():
        assert answer.body["hold"]["id"] in survivors, f"acknowledged hold {keys[index]} lost in the kill"
    assert all(h["amount"] == "50" and h["status"] == "open" for h in survivors.values()), survivors
    balance = t.balance(owner)
    assert (balance["held"], balance["available"], balance["granted_left"]) == (50 * len(survivors), TRIAL - 50 * len(survivors), TRIAL), balance

    # Every key again: an acknowledged hold answers its first result; the others are placed
    # now or were placed before the kill: 128 holds in the end, never more.
    replays = answers(race([lambda k=k: t.hold(owner, key, 50, k, ttl=3600, agent="etl") for k in keys[:WIDTH]]) +
                      race([lambda k=k: t.hold(owner, key, 50, k, ttl=3600, agent="etl") for k in keys[WIDTH:]]))
    for index, answer in enumerate(replays):
        assert answer.status == 200, answer
        if index in acknowledged:
            assert answer.replayed and answer.body == acknowledged[index].body, (answer.body, acknowledged[index].body)
        elif answer.body["hold"]["id"] in survivors:
            assert answer.replayed, "a hold that survived the kill is answered, not placed again"
    ids = [a.body["hold"]["id"] for a in replays]
    assert len(set(ids)) == len(keys)
    assert {h["id"] for h in t.holds(owner, "open")} == set(ids)
    balance = t.balance(owner)
    assert (balance["held"], balance["available"]) == (50 * len(keys), TRIAL - 50 * len(keys)), balance
    # Other content under a used key is a conflict.
    assert_error(t.hold(owner, key, 51, keys[0], ttl=3600, agent="etl"), 6)

    # Settle the even ones (30 of 50), release the odd ones, and kill again mid-way.
    def end(index):
        if index % 2 == 0:
            return t.settle(owner, key, ids[index], 30, f"settle-{index}")
        return t.release(owner, key, ids[index])
    ended = place_until_killed(t, owner, key, [lambda i=i: end(i) for i in range(len(keys))], at_least=40)
    t.check()

    t.start()
    owner.login()
    states = {h["id"]: h for h in t.holds(owner)}
    assert len(states) == len(keys), "no hold appeared or vanished across the kills"
    for index, answer in ended.items():
        expected = "settled" if index % 2 == 0 else "released"
        assert states[ids[index]]["status"] == expected, f"an acknowledged {expected} hold is {states[ids[index]]}"
    again = answers(race([lambda i=i: end(i) for i in range(WIDTH)]) + race([lambda i=i: end(i) for i in range(WIDTH, len(keys))]))
    for index, answer in enumerate(again):
        assert answer.status == 200, (index, answer)
        expected = "settled" if index % 2 == 0 else "released"
        assert answer.body["hold"]["status"] == expected, answer.body
        if index in ended:
            assert answer.replayed, (index, dict(answer.headers))
            if index % 2 == 0:
                assert answer.body == ended[index].body, (answer.body, ended[index].body)
            else:
                assert answer.body["hold"] == ended[index].body["hold"], (answer.body, ended[index].body)
    settled = t.holds(owner, "settled")
    assert len(settled) == WIDTH and all(h["settled_amount"] == "30" for h in settled), settled
    assert len(t.holds(owner, "released")) == WIDTH
    assert t.holds(owner, "open") == []
    balance = t.balance(owner)
    assert (balance["available"], balance["held"], balance["granted_left"]) == (TRIAL - 30 * WIDTH, 0, TRIAL - 30 * WIDTH), balance

    # The refusals: settle a released hold, settle a settled one with another key, the same
    # settle key with another amount, release a settled hold.
    assert_error(t.settle(owner, key, ids[1], 30, "late-settle-of-released"), 9)
    assert_error(t.settle(owner, key, ids[0], 30, "another-key"), 9)
    assert_error(t.settle(owner, key, ids[0], 31, "settle-0"), 6)
    assert_error(t.release(owner, key, ids[0]), 9)
    assert t.balance(owner)["available"] == TRIAL - 30 * WIDTH, "a refusal debited something"

    entries = t.ledger(owner)
    kinds = Counter(e["kind"] for e in entries if e["hold_id"])
    assert (kinds["hold"], kinds["settle"], kinds["release"]) == (len(keys), WIDTH, WIDTH), kinds
    t.stop()
    t.check()

    # …and check fails on a hold that does not add up: settled for another amount than its
    # debit, or open again while the journal says it was released.
    for name, tamper in (("settled-amount", f"UPDATE credit_hold SET settled_amount = 31 WHERE id = '{ids[0]}'"),
                         ("reopened", f"UPDATE credit_hold SET status = 'open', ended_at = NULL WHERE id = '{ids[1]}'")):
        copy = t.db.parent / f"tampered-{name}.sqlite"
        with sqlite3.connect(t.db) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        with sqlite3.connect(copy) as connection:
            connection.execute(tamper)
            assert connection.total_changes == 1
        failed = run_cli("check", "--db", copy, check=False)
        assert failed.returncode == 1, (name, failed.stdout, failed.stderr)
        assert "hold" in failed.stdout.lower(), (name, failed.stdout)


# ---------------------------------------------------------------------------------------------
# 3. Caps under concurrency, per agent and per API key, by window


def day_start(moment):
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def test_caps_hold_under_concurrency_and_open_a_new_window_each_day(credits):
    t = credits
    owner = t.owner("capped@example.com")
    _, key = owner.key()
    limits_path = owner.path("/limits")
    cap = {"scope": "agent", "subject": "bot-1", "category": AI, "limit": 20, "window": "day"}

    # Only an admin or owner (or an operator) sets caps; the set is checked whole.
    assert_error(t.call("PUT", limits_path, {"limits": [cap]}, token=key), 7)
    assert_error(t.call("PUT", limits_path, {"limits": [cap, dict(cap, limit=30)]}, token=owner.token), 3)
    assert_error(t.call("PUT", limits_path, {"limits": [dict(cap, scope="api_key", subject="key_nope")]}, token=owner.token), 3)
    assert_error(t.call("PUT", limits_path, {"limits": [dict(cap, window="week")]}, token=owner.token), 3)
    assert t.ok("GET", limits_path, token=owner.token)["limits"] == []

    too_many = [dict(cap, subject=f"bot-{i}") for i in range(1001)]
    assert_error(t.call("PUT", limits_path, {"limits": too_many}, token=owner.token), 3)

    def audited():
        return int(t.ok("GET", f"/v1/admin/audit?tenant_id={owner.tenant}&limit=1")["page"]["total"])
    audit_before = audited()
    now = t.advance(1)
    [limit] = t.ok("PUT", limits_path, {"limits": [cap]}, token=owner.token)["limits"]
    assert audited() == audit_before + 1, "PUT limits is audited; the refused ones are not"
    assert set(limit) == LIMIT_FIELDS, limit
    assert (limit["scope"], limit["subject"], limit["category"], limit["limit"], limit["window"], limit["used"]) == ("agent", "bot-1", AI, "20", "day", "0"), limit
    assert instant(limit["window_start"]) == day_start(now) and instant(limit["window_end"]) == day_start(now) + timedelta(days=1), (limit, now)

    # 64 debits of 1 at once by bot-1: exactly 20 pass; the others name the cap.
    results = answers(race([lambda i=i: t.consume(owner, key, 1, f"bot1-{i}", agent="bot-1") for i in range(WIDTH)]))
    assert Counter(a.status for a in results) == Counter({200: 20, 402: 44}), Counter(a.status for a in results)
    for answer in results:
        if answer.status != 200:
            assert_error(answer, 9, "cap", "bot-1", "limit 20", "day")
    # Another agent, and no agent, are not capped.
    for index, agent in enumerate(("bot-2", "")):
        assert t.consume(owner, key, 30, f"free-{index}", agent=agent).status == 200
    [limit] = t.ok("GET", limits_path, token=key)["limits"]
    assert limit["used"] == "20", limit
    assert t.ok("GET", owner.path("/agents/bot-1/credits"), token=owner.token)["credits"] == "20"
    assert t.balance(owner)["available"] == TRIAL - 20 - 60

    # A day later the window is new. Holds of 3 and 2 count against the cap (not in used), so
    # 15 of 64 debits pass. A settle is checked too: 4 for the hold of 3 would make 21 with the
    # other hold; 3 fits. Releasing the hold of 2 lets 2 more debits through.
    moved = t.advance(DAY)
    owner.login()
    [limit] = t.ok("GET", limits_path, token=owner.token)["limits"]
    assert limit["used"] == "0", limit
    assert instant(limit["window_start"]) == day_start(moved) == day_start(now) + timedelta(days=1), (limit, moved)
    three = t.hold(owner, key, 3, "bot1-hold-3", agent="bot-1")
    two = t.hold(owner, key, 2, "bot1-hold-2", agent="bot-1")
    assert (three.status, two.status) == (200, 200), (three, two)
    assert_error(t.hold(owner, key, 16, "bot1-hold-too-big", agent="bot-1"), 9, "cap", "bot-1", "held 5")
    results = answers(race([lambda i=i: t.consume(owner, key, 1, f"bot1-day2-{i}", agent="bot-1") for i in range(WIDTH)]))
    assert Counter(a.status for a in results) == Counter({200: 15, 402: 49}), Counter(a.status for a in results)
    for answer in results:
        if answer.status != 200:
            assert_error(answer, 9, "cap", "bot-1", "limit 20", "used 15", "held 5")
    [limit] = t.ok("GET", limits_path, token=owner.token)["limits"]
    assert limit["used"] == "15", "holds are not counted in used"
    assert_error(t.settle(owner, key, three.body["hold"]["id"], 4, "settle-3-as-4"), 9, "cap", "bot-1")
    settled = t.settle(owner, key, three.body["hold"]["id"], 3, "settle-3")
    assert settled.status == 200 and settled.body["hold"]["status"] == "settled", settled
    assert t.release(owner, key, two.body["hold"]["id"]).status == 200
    statuses = [t.consume(owner, key, 1, f"bot1-after-release-{i}", agent="bot-1").status for i in range(3)]
    assert statuses == [200, 200, 402], statuses
    [limit] = t.ok("GET", limits_path, token=owner.token)["limits"]
    assert limit["used"] == "20", limit
    assert_error(t.hold(owner, key, 1, "bot1-full", agent="bot-1"), 9, "cap")

    # An API key cap applies to that key's debits only; PUT replaces the whole set, so bot-1
    # is no longer capped. Month and period windows, alongside.
    capped_id, capped_key = owner.key("capped key")
    _, other_key = owner.key("other key")
    caps = [{"scope": "api_key", "subject": capped_id, "category": AI, "limit": "7", "window": "day"},
            {"scope": "agent", "subject": "bot-8", "category": AI, "limit": 2, "window": "month"},
            {"scope": "agent", "subject": "bot-9", "category": AI, "limit": 3, "window": "period"}]
    limits = {x["subject"]: x for x in t.ok("PUT", limits_path, {"limits": caps}, token=owner.token)["limits"]}
    assert sorted(limits) == sorted([capped_id, "bot-8", "bot-9"]), limits
    limit = limits[capped_id]
    assert (limit["scope"], limit["subject"], limit["limit"], limit["used"]) == ("api_key", capped_id, "7", "0"), limit
    month_start = moved.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert (instant(limits["bot-8"]["window_start"]), instant(limits["bot-8"]["window_end"])) == (month_start, months_add(month_start, 1)), limits["bot-8"]
    trial = t.ok("GET", "/v1/subscription", token=owner.token)["subscription"]
    # A period starts with the newest plan or trial grant; the contract leaves its end open.
    assert limits["bot-9"]["window_start"] == trial["start_at"] and limits["bot-9"]["window_end"] in (None, trial["end_at"]), (limits["bot-9"], trial)
    assert [t.consume(owner, other_key, 1, f"bot8-{i}", agent="bot-8").status for i in range(3)] == [200, 200, 402]
    assert [t.consume(owner, other_key, 1, f"bot9-{i}", agent="bot-9").status for i in range(4)] == [200, 200, 200, 402]
    assert_error(t.consume(owner, other_key, 1, "bot9-again", agent="bot-9"), 9, "cap", "bot-9", "period")
    results = answers(race([lambda i=i: t.consume(owner, capped_key, 1, f"key-{i}", agent="bot-1") for i in range(WIDTH)]))
    assert Counter(a.status for a in results) == Counter({200: 7, 402: 57}), Counter(a.status for a in results)
    for answer in results:
        if answer.status != 200:
            assert_error(answer, 9, "cap", capped_id, "limit 7")
    assert [t.consume(owner, other_key, 1, f"other-{i}", agent="bot-1").status for i in range(10)] == [200] * 10
    assert t.consume(owner, t.op, 1, "operator-debit", agent="bot-1").status == 200
    limits = {x["subject"]: x for x in t.ok("GET", limits_path, token=owner.token)["limits"]}
    assert (limits[capped_id]["used"], limits["bot-8"]["used"], limits["bot-9"]["used"]) == ("7", "2", "3"), limits
    assert_error(t.hold(owner, capped_key, 1, "capped-key-hold"), 9, "cap", capped_id)
    t.stop()
    t.check()


# ---------------------------------------------------------------------------------------------
# 4. Thresholds crossed by parallel debits fire once: webhooks and emails


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    from smtp_server import Certificates
    return Certificates.create(tmp_path_factory.mktemp("tls"))


def test_thresholds_crossed_by_parallel_debits_fire_once_each(tmp_path, certificates):
    import secrets as secrets_module
    from smtp_server import SMTPServer
    from webhook_receiver import Receiver

    smtp_password = "smtp-pw-" + secrets_module.token_urlsafe(16)
    password_file = tmp_path / "smtp-password"
    password_file.write_text(smtp_password + "\n")
    password_file.chmod(0o600)
    server = SMTPServer(certificates=certificates, user="tenantry-mailer", password=smtp_password)
    receiver = Receiver()
    t = CreditsTest(tmp_path, args=[
        "--webhooks-allow-private", "--mail-transport", "smtp", "--smtp-url", server.url, "--smtp-user", "tenantry-mailer",
        "--smtp-password-file", str(password_file), "--smtp-ca-file", str(certificates.ca_file),
        "--mail-from", "Tenantry Test <noreply@example.com>", "--smtp-timeout-seconds", "5"])
    try:
        created = t.ok("POST", "/v1/admin/webhooks", {"name": "alerts", "url": receiver.url, "is_active": True,
                                                      "events": ["credits.low", "credits.depleted", "credits.hold_expired"]})
        secret = created["secret"]
        receiver.secrets = [secret]
        owner = t.owner("alerted@example.com")
        _, key = owner.key()
        alerts_path = owner.path("/alerts")
        first = t.ok("GET", alerts_path, token=owner.token)
        assert first["settings"] == {"thresholds": DEFAULT_THRESHOLDS, "email": True, "inherited": True}, first["settings"]
        assert first["alerts"] == [] and first["page"]["total"] == "0", first

        # A hold left to expire: the job marks it and says so, once.
        brief = t.hold(owner, key, 100, "left-to-expire", ttl=60, agent="chat")
        assert brief.status == 200, brief
        t.advance(70, [receiver])
        [expired_message] = receiver.wait_for(1, event_type="credits.hold_expired")
        assert expired_message.verified(secret), expired_message.checks
        expired_data = json.loads(expired_message.body)["data"]
        assert (expired_data["tenant_id"], expired_data["hold_id"], expired_data["amount"]) == (owner.tenant, brief.body["hold"]["id"], "100"), expired_data
        assert t.balance(owner)["available"] == TRIAL

        def owner_emails():
            return [e for e in t.ok("GET", "/v1/admin/outbox?to=" + urllib.parse.quote(owner.email))["emails"]
                    if e["subject"] != "Your Tenantry verification code"]

        # 7,800 first: 2,200 left, above 80 % used (2,000 left). Then 64 debits of 40 at once:
        # 55 pass (2,200 / 40), crossing 80 % and then 100 %.
        assert t.consume(owner, key, 7800, "big").body["remaining"] == "2200"
        assert t.ok("GET", alerts_path, token=owner.token)["alerts"] == []
        results = answers(race([lambda i=i: t.consume(owner, key, 40, f"small-{i}", agent="chat") for i in range(WIDTH)]))
        assert Counter(a.status for a in results) == Counter({200: 55, 402: 9}), Counter(a.status for a in results)
        assert sorted(int(a.body["remaining"]) for a in results if a.status == 200) == list(range(0, 2200, 40))

        low = receiver.wait_for(1, event_type="credits.low")
        depleted = receiver.wait_for(1, event_type="credits.depleted")
        time.sleep(2.5)  # one more round of the 2-second delivery job: nothing else comes
        assert len(receiver.received("credits.low")) == 1 and len(receiver.received("credits.depleted")) == 1, receiver.received()
        assert len(receiver.received("credits.hold_expired")) == 1, receiver.received()
        events = {}
        for message in low + depleted:
            assert message.verified(secret), f"standardwebhooks refused the delivery: {message.checks}"
            payload = json.loads(message.body)
            assert set(payload["data"]) == ALERT_DATA, payload
            assert (payload["data"]["tenant_id"], payload["data"]["category"]) == (owner.tenant, AI), payload
            events[payload["type"]] = payload["data"]
        assert (events["credits.low"]["available"], events["credits.low"]["allowance"]) == ("2000", str(TRIAL)), events
        assert (events["credits.depleted"]["available"], events["credits.depleted"]["allowance"]) == ("0", str(TRIAL)), events

        alerts = t.ok("GET", alerts_path, token=key)["alerts"]
        assert [a["event"] for a in alerts] == ["credits.depleted", "credits.low"], "newest first"
        for alert in alerts:
            assert set(alert) == ALERT_FIELDS, alert
            assert (alert["category"], alert["allowance"], alert["window_start"]) == (AI, str(TRIAL), events[alert["event"]]["window_start"]), alert
        assert (alerts[0]["threshold"], alerts[0]["available"]) == ({"percent": 100, "remaining": "0"}, "0"), alerts[0]
        assert (alerts[1]["threshold"], alerts[1]["available"]) == ({"percent": 80, "remaining": "0"}, "2000"), alerts[1]

        # One email to the owner for each, delivered over SMTP.
        t.advance(6, [receiver])
        deadline = time.time() + 15
        while len(server.messages_to(owner.email)) < 3 and time.time() < deadline:
            time.sleep(0.1)
        emails = owner_emails()
        assert len(emails) == 2, emails
        assert len(server.messages_to(owner.email)) == 3, [m.message["Subject"] for m in server.messages_to(owner.email)]
        deadline = time.time() + 10
        while any(e["status"] != "sent" for e in owner_emails()) and time.time() < deadline:
            time.sleep(0.1)
        assert [e["status"] for e in owner_emails()] == ["sent", "sent"], owner_emails()

        overview = t.ok("GET", "/v1/admin/overview")
        assert overview["tenants_below_threshold"] == "1", overview.get("tenants_below_threshold")

        # The tenant's own thresholds are checked; inherit goes back to the plan's.
        for bad in ([{"percent": 101, "remaining": "0"}], [{"percent": 0, "remaining": "-1"}],
                    [{"percent": p, "remaining": "0"} for p in range(1, 22)]):
            assert_error(t.call("PUT", alerts_path, {"thresholds": bad, "email": True}, token=owner.token), 3)
        own = [{"percent": 50, "remaining": "0"}, {"percent": 0, "remaining": "500"}]
        audit_before = int(t.ok("GET", f"/v1/admin/audit?tenant_id={owner.tenant}&limit=1")["page"]["total"])
        settings = t.ok("PUT", alerts_path, {"thresholds": own, "email": True}, token=owner.token)["settings"]
        assert int(t.ok("GET", f"/v1/admin/audit?tenant_id={owner.tenant}&limit=1")["page"]["total"]) == audit_before + 1, "PUT alerts is audited"
        assert (settings["email"], settings["inherited"]) == (True, False) and sorted(map(json.dumps, settings["thresholds"])) == sorted(map(json.dumps, own)), settings

        # Email off (the plan's thresholds again); the next window fires again, without emails.
        assert_error(t.call("PUT", alerts_path, {"inherit": True, "email": False}, token=key), 7)
        settings = t.ok("PUT", alerts_path, {"inherit": True, "email": False}, token=owner.token)["settings"]
        assert settings == {"thresholds": DEFAULT_THRESHOLDS, "email": False, "inherited": True}, settings
        t.advance(15 * DAY, [receiver])  # the trial ends: FREE's 100 a month, a new window
        owner.login()
        assert t.balance(owner)["available"] == 100
        results = answers(race([lambda i=i: t.consume(owner, key, 2, f"free-{i}", agent="chat") for i in range(WIDTH)]))
        assert Counter(a.status for a in results) == Counter({200: 50, 402: 14}), Counter(a.status for a in results)
        receiver.wait_for(2, event_type="credits.low")
        receiver.wait_for(2, event_type="credits.depleted")
        t.advance(6, [receiver])
        time.sleep(2.5)
        assert len(receiver.received("credits.low")) == 2 and len(receiver.received("credits.depleted")) == 2, receiver.received()
        second = json.loads(receiver.received("credits.low")[1].body)["data"]
        assert (second["available"], second["allowance"]) == ("20", "100"), second
        assert all(m.verified(secret) for m in receiver.received()), receiver.received()
        alerts = t.ok("GET", alerts_path, token=owner.token)["alerts"]
        assert [(a["event"], a["allowance"]) for a in alerts] == [
            ("credits.depleted", "100"), ("credits.low", "100"), ("credits.depleted", str(TRIAL)), ("credits.low", str(TRIAL))], alerts
        assert instant(alerts[0]["window_start"]) > instant(alerts[2]["window_start"]), alerts
        assert len(owner_emails()) == 2, "email is off: no more emails"
        assert len(server.messages_to(owner.email)) == 3
        t.stop()
        t.check()
    finally:
        t.close()
        receiver.stop()
        server.close()


# ---------------------------------------------------------------------------------------------
# 5. Rollover across a 90-day catch-up


def grants_of(db, tenant_id):
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(
            "SELECT seq, id, source, category, amount, used, effective_at, expires_at, expired, rolled_from_seq FROM credit_grant"
            " WHERE tenant_id = ? ORDER BY seq", (tenant_id,)).fetchall()
    return [{**dict(row), "effective_at": from_ms(row["effective_at"]), "expires_at": from_ms(row["expires_at"])} for row in rows]


def assert_rolled_over_once(t, owner, now, percent=50, max_amount=450):
    """Every plan grant whose period ended by NOW rolled over exactly once, by the rule; no
    rollover grant rolled over; the journal has the rollovers and the expiries."""
    grants = grants_of(t.db, owner.tenant)
    plan = sorted((g for g in grants if g["source"] == "plan"), key=lambda g: g["effective_at"])
    rollovers = [g for g in grants if g["source"] == "rollover"]
    ended = [g for g in plan if g["expires_at"] <= now]
    assert len(ended) >= 2, (plan, now)
    by_seq = {g["seq"]: g for g in grants}
    assert sorted(r["rolled_from_seq"] for r in rollovers) == sorted(g["seq"] for g in ended), (rollovers, ended)
    assert all(by_seq[r["rolled_from_seq"]]["source"] == "plan" for r in rollovers), "a rollover rolled over again"
    for index, grant in enumerate(ended):
        [rolled] = [r for r in rollovers if r["rolled_from_seq"] == grant["seq"]]
        left = grant["amount"] - grant["used"]
        assert rolled["amount"] == min(left * percent // 100, max_amount), (grant, rolled)
        assert rolled["effective_at"] == grant["expires_at"], (grant, rolled)
        following = plan[index + 1]["expires_at"] if index + 1 < len(plan) else None
        assert rolled["expires_at"] in (following, months_add(grant["expires_at"], 1)), (grant, rolled, following)
        assert grant["expired"] == 1, grant
    entries = t.ledger(owner)
    rollover_entries = [e for e in entries if e["kind"] == "rollover"]
    assert sorted((e["grant_id"], e["amount"], e["source"]) for e in rollover_entries) == sorted(
        (r["id"], str(r["amount"]), "rollover") for r in rollovers), rollover_entries
    expiries = Counter((e["grant_id"], e["amount"]) for e in entries if e["kind"] == "expiry")
    for grant in ended + [r for r in rollovers if r["expires_at"] <= now]:
        assert expiries[grant["id"], str(grant["amount"] - grant["used"])] == 1, (grant, expiries)
    assert sum(expiries.values()) == len(ended) + sum(r["expires_at"] <= now for r in rollovers), expiries
    return plan, rollovers


def test_rollover_across_a_90_day_catch_up(credits):
    t = credits
    # No trial credits: the paid plan's grants are the only ones.
    t.ok("PUT", "/v1/usage/plans/NEW_USER_TRIAL", {"config": {"usage_configs": []}})
    config = dict(t.ok("GET", "/v1/usage/plans/PRO")["plan"]["config"])
    config.update(usage_configs=[{"category": AI, "total_amount": 1000}], alert_thresholds=[],
                  rollover={"percent": 50, "max_amount": 450, "valid_days": 0})
    plan = t.ok("PUT", "/v1/usage/plans/PRO", {"config": config, "credit_extension": 0})["plan"]
    rollover = plan["config"]["rollover"]
    assert (int(rollover["percent"]), int(rollover["max_amount"]), int(rollover["valid_days"])) == (50, 450, 0), plan
    variant = t.ok("POST", "/v1/admin/variants", {"plan": "PRO", "period": "YEARLY", "price": "120.00", "currency": "USD"})["variant"]

    owner = t.owner("rolling@example.com")
    _, key = owner.key()
    t.ok("POST", "/v1/subscription/create", {"id": variant["id"]}, token=owner.token)
    [invoice] = t.ok("GET", f"/v1/admin/invoices?status=open&tenant_id={owner.tenant}")["invoices"]
    t.ok("POST", f"/v1/admin/invoices/{invoice['id']}/paid", {})
    subscription = t.ok("GET", "/v1/subscription", token=owner.token)["subscription"]
    assert (subscription["plan"], subscription["period"], subscription["status"]) == ("PRO", "YEARLY", "ACTIVE"), subscription
    assert t.balance(owner)["available"] == 1000
    assert t.consume(owner, key, 400, "month-1", agent="writer").body["remaining"] == "600"

    # Down for a while, then 90 days pass in one step: every job catches up before the answer.
    t.stop()
    t.start()
    now = t.advance(90 * DAY)
    owner.login()
    plan_grants, rollovers = assert_rolled_over_once(t, owner, now)
    assert rollovers and min(rollovers, key=lambda r: r["effective_at"])["amount"] == 300, "600 left × 50 % = 300, under the cap"
    assert all(r["amount"] == 450 for r in rollovers if r["rolled_from_seq"] != plan_grants[0]["seq"]), "1000 × 50 % capped at 450"
    # Live now: this month's 1,000 and last month's rollover of 450.
    balance = t.balance(owner)
    assert (balance["available"], balance["held"]) == (1450, 0), balance
    current = [g for g in plan_grants if g["effective_at"] <= now < g["expires_at"]]
    assert len(current) == 1, plan_grants
    assert (instant(balance["next_expiry_at"]), balance["next_expiry_amount"]) == (current[0]["expires_at"], 1450), (balance, current)
    jobs = {job["id"]: job for job in t.ok("GET", "/v1/admin/jobs")["jobs"]}
    for name in ("rollOverGrants", "expireHolds", "expireGrants"):
        assert jobs[name]["last_result"] == "ok" and instant(jobs[name]["last_started_at"]) >= now, jobs.get(name)

    # Once per grant: more time, a restart and every job again change nothing.
    before = {r["id"] for r in rollovers}
    t.stop()
    t.start()
    later = t.advance(61)
    assert {r["id"] for r in assert_rolled_over_once(t, owner, later)[1]} == before
    t.stop()
    t.check()


# ---------------------------------------------------------------------------------------------
# 6. Batches, the ledger in JSON and CSV, balances and auth/check holds


def model_batch(items, available, caps):
    """What a sequential run of ITEMS answers: (code, consumed, remaining, replayed) each.
    CAPS: {agent: limit} (used starts at 0); a key is recorded only when its debit succeeded."""
    seen, used, expected = {}, Counter(), []
    for item in items:
        content = (item["amount"], item["agent_id"])
        first = seen.get(item["idempotency_key"])
        if first is not None:
            if first[0] == content:
                expected.append((0, first[1][1], first[1][2], True))
            else:
                expected.append((6, None, None, False))
            continue
        if item["agent_id"] in caps and used[item["agent_id"]] + item["amount"] > caps[item["agent_id"]]:
            expected.append((9, "cap", None, False))
            continue
        if item["amount"] > available:
            expected.append((9, "short", None, False))
            continue
        available -= item["amount"]
        used[item["agent_id"]] += item["amount"]
        answer = (0, str(item["amount"]), str(available), False)
        seen[item["idempotency_key"]] = (content, answer)
        expected.append(answer)
    return expected, available


def test_batches_ledger_csv_balance_and_auth_check_holds(credits):
    t = credits
    owner = t.owner("batch@example.com")
    _, key = owner.key()
    t.ok("PUT", owner.path("/limits"), {"limits": [{"scope": "agent", "subject": "capped", "category": AI, "limit": 50, "window": "day"}]},
         token=owner.token)
    batch_path = owner.path("/consume/batch")

    items = [{"category": AI, "amount": 5, "agent_id": "worker", "dataset_id": "docs", "idempotency_key": f"good-{i}"} for i in range(600)]
    items += [dict(items[i]) for i in range(100)]  # the same key and content again
    items += [dict(items[i], amount=6) for i in range(100, 150)]  # the same key, other content
    items += [{"category": AI, "amount": 1, "agent_id": "capped", "dataset_id": "", "idempotency_key": f"cap-{i}"} for i in range(100)]
    items += [{"category": AI, "amount": 20000, "agent_id": "worker", "dataset_id": "", "idempotency_key": f"short-{i}"} for i in range(50)]
    items += [{"category": AI, "amount": 1, "agent_id": "", "dataset_id": "", "idempotency_key": f"plain-{i}"} for i in range(100)]
    random.Random(6).shuffle(items)
    assert len(items) == 1000
    expected, left = model_batch(items, TRIAL, {"capped": 50})
    assert Counter(e[0] for e in expected) == Counter({0: 850, 6: 50, 9: 100}), Counter(e[0] for e in expected)

    # The bounds: 1 to 1000 items; a key, not a session.
    assert_error(t.call("POST", batch_path, {"items": []}, token=key), 3)
    assert_error(t.call("POST", batch_path, {"items": items + [dict(items[0], idempotency_key="one-too-many")]}, token=key), 3)
    assert_error(t.call("POST", batch_path, {"items": items[:1]}, token=owner.token), 7)
    assert t.balance(owner)["available"] == TRIAL, "a refused batch debited something"

    results = t.ok("POST", batch_path, {"items": items}, token=key)["results"]
    assert len(results) == 1000
    for index, (item, result, (code, consumed, remaining, replayed)) in enumerate(zip(items, results, expected)):
        assert set(result) == {"consumed", "remaining", "replayed", "code", "message"}, result
        assert result["code"] == code, (index, item, result, expected[index])
        if code == 0:
            assert (result["consumed"], result["remaining"], result["replayed"], result["message"]) == (consumed, remaining, replayed, ""), (index, item, result)
        elif code == 6:
            assert result["message"] and not result["replayed"], result
        elif consumed == "cap":
            assert "cap" in result["message"] and "capped" in result["message"] and "limit 50" in result["message"], result
        else:
            assert "available" in result["message"] and "20000" in result["message"], result
    balance = t.balance(owner)
    assert (balance["available"], balance["held"], balance["granted_left"]) == (left, 0, left), (balance, left)

    # The same batch again answers the same: every debit a replay of its first answer.
    again = t.ok("POST", batch_path, {"items": items}, token=key)["results"]
    for index, (first, second) in enumerate(zip(results, again)):
        assert second["code"] == first["code"], (index, items[index], first, second)
        if first["code"] == 0:
            assert (second["consumed"], second["remaining"], second["replayed"]) == (first["consumed"], first["remaining"], True), (index, first, second)
        elif first["code"] == 6 or "cap" in first["message"]:
            assert second["message"] == first["message"], (first, second)
    assert t.balance(owner)["available"] == left, "the replayed batch debited again"
    assert t.ok("GET", owner.path("/agents/capped/credits"), token=owner.token)["credits"] == "50"

    # The ledger: one debit entry per debit; as CSV, the same rows.
    entries = t.ledger(owner)
    debits = [e for e in entries if e["kind"] == "debit"]
    assert len(debits) == 850 - 100 and sum(int(e["amount"]) for e in debits) == TRIAL - left, len(debits)
    assert entries[-1]["balance_after"] == str(left), entries[-1]
    capped = t.ledger(owner, agent_id="capped")
    assert len(capped) == 50 and all(e["agent_id"] == "capped" and e["kind"] == "debit" and e["amount"] == "1" for e in capped), capped
    for entry in capped:
        drawn = entry["drawn_from"]
        assert sum(int(part["amount"]) for part in drawn) == 1 and all(part["grant_id"] for part in drawn), entry
    assert t.ledger(owner, order="desc", agent_id="capped") == capped[::-1]
    assert t.ledger(owner, category=AI) == entries and t.ledger(owner, category="USAGE_VOICE_MINUTE") == []
    for query in ({"agent_id": "capped", "limit": 100}, {"page": 2, "limit": 100}, {"order": "desc", "limit": 37, "page": 3}):
        json_entries = t.ok("GET", owner.path("/ledger?" + urllib.parse.urlencode(query)), token=owner.token)["entries"]
        answer = t.call("GET", owner.path("/ledger?" + urllib.parse.urlencode({**query, "format": "csv"})), token=owner.token)
        assert answer.status == 200 and answer.headers.get("Content-Type", "").startswith("text/csv"), (answer.status, dict(answer.headers))
        reader = csv.reader(io.StringIO(answer.body.decode("utf-8")))
        header = next(reader)
        assert header == CSV_HEADER, header
        rows = [dict(zip(header, row)) for row in reader]
        assert len(rows) == len(json_entries) > 0, (query, len(rows), len(json_entries))
        for row, entry in zip(rows, json_entries):
            for column in CSV_HEADER[:-1]:
                value = entry[column]
                assert row[column] == ("" if value is None else str(value)), (column, row, entry)
            cell = row["drawn_from"]
            try:
                parsed = json.loads(cell) if cell else []
            except ValueError:
                parsed = None
            if parsed is not None:
                assert parsed == entry["drawn_from"], (cell, entry["drawn_from"])
            else:
                for part in entry["drawn_from"]:
                    assert part["grant_id"] in cell and part["amount"] in cell, (cell, entry["drawn_from"])
    newest = instant(entries[-1]["created_at"])
    assert t.ledger(owner, **{"from": rfc3339(newest + timedelta(seconds=1))}) == []
    assert t.ledger(owner, to=rfc3339(instant(entries[0]["created_at"]))) == []
    assert all(instant(e["created_at"]) >= newest for e in t.ledger(owner, **{"from": rfc3339(newest)}))

    trial_end = instant(t.ok("GET", "/v1/subscription", token=owner.token)["subscription"]["end_at"])
    assert (instant(balance["next_expiry_at"]), balance["next_expiry_amount"]) == (trial_end, left), (balance, trial_end)

    # Balance with a hold: available and held; a hold without a TTL lasts 300 s, and so does 0.
    answer = t.hold(owner, key, 100, "balance-hold", ttl=None)
    assert answer.status == 200, answer
    hold = assert_hold(answer.body["hold"], 100, "open")
    assert instant(hold["expires_at"]) - instant(hold["created_at"]) == timedelta(seconds=300), hold
    assert_error(t.hold(owner, key, 100, "too-long", ttl=86401), 3)
    assert_error(t.hold(owner, key, 100, "negative", ttl=-1), 3)
    zero = t.hold(owner, key, 1, "ttl-zero", ttl=0)
    assert zero.status == 200, zero
    assert instant(zero.body["hold"]["expires_at"]) - instant(zero.body["hold"]["created_at"]) == timedelta(seconds=300), zero.body
    assert t.release(owner, key, zero.body["hold"]["id"]).status == 200
    balance = t.balance(owner)
    assert (balance["available"], balance["held"], balance["granted_left"]) == (left - 100, 100, left), balance

    # auth/check with X-Usage-Hold-Ttl places a hold and names it; without it, hold_id is "".
    proxy = {"X-Usage-Amount": "30", "X-Idempotency-Key": "proxy-1", "X-Usage-Hold-Ttl": "120", "X-Agent-Id": "edge"}
    checked = t.call("GET", "/v1/auth/check", token=key, headers=proxy)
    assert checked.status == 200, checked
    hold_id = checked.headers.get("X-Usage-Hold-Id")
    assert hold_id and hold_id.startswith("hld_") and checked.body["hold_id"] == hold_id, (dict(checked.headers), checked.body)
    assert checked.headers.get("X-Credits-Remaining") == str(left - 130), dict(checked.headers)
    replay = t.call("GET", "/v1/auth/check", token=key, headers=proxy)
    assert replay.status == 200 and replay.headers.get("X-Usage-Hold-Id") == hold_id, dict(replay.headers)
    [proxied] = [h for h in t.holds(owner, "open") if h["id"] == hold_id]
    assert_hold(proxied, 30, "open", agent="edge")
    assert instant(proxied["expires_at"]) - instant(proxied["created_at"]) == timedelta(seconds=120), proxied
    plain = t.call("GET", "/v1/auth/check", token=key, headers={"X-Usage-Amount": "10", "X-Idempotency-Key": "proxy-2"})
    assert plain.status == 200 and plain.body["hold_id"] == "" and plain.headers.get("X-Usage-Hold-Id") in (None, ""), (plain.body, dict(plain.headers))
    bad = t.call("GET", "/v1/auth/check", token=key, headers={**proxy, "X-Idempotency-Key": "proxy-3", "X-Usage-Hold-Ttl": "86401"})
    assert_error(bad, 3)
    short_hold = t.call("GET", "/v1/auth/check", token=key, headers={**proxy, "X-Idempotency-Key": "proxy-4", "X-Usage-Amount": str(TRIAL)})
    assert_error(short_hold, 7, "available")  # a proxy understands 401 and 403 only
    balance = t.balance(owner)
    assert (balance["available"], balance["held"], balance["granted_left"]) == (left - 140, 130, left - 10), balance
    assert t.settle(owner, key, hold_id, 30, "proxy-settle").status == 200

    # A hold past its TTL answers "expired" and stops reserving before the 10-second job gets
    # to it: what it held can be spent, and then settling it finds nothing to cover it.
    before = t.balance(owner)
    everything_left = before["available"]
    brief = t.hold(owner, key, everything_left, "one-second", ttl=1)
    assert brief.status == 200 and brief.body["remaining"] == "0", brief
    time.sleep(1.3)
    [shown] = [h for h in t.holds(owner) if h["id"] == brief.body["hold"]["id"]]
    assert shown["status"] == "expired", shown
    assert brief.body["hold"]["id"] in {h["id"] for h in t.holds(owner, "expired")}
    assert brief.body["hold"]["id"] not in {h["id"] for h in t.holds(owner, "open")}
    assert t.balance(owner) == before, "an expired hold reserves nothing"
    spent = t.consume(owner, key, everything_left, "after-the-ttl")
    assert spent.status == 200 and spent.body["remaining"] == "0", spent
    assert_error(t.settle(owner, key, brief.body["hold"]["id"], everything_left, "settle-expired"), 9)
    [shown] = [h for h in t.holds(owner) if h["id"] == brief.body["hold"]["id"]]
    assert shown["status"] == "expired", shown
    balance = t.balance(owner)  # the hold of 100 from above still reserves its part
    assert (balance["available"], balance["held"], balance["granted_left"]) == (0, before["held"], before["held"]) == (0, 100, 100), balance
    t.stop()
    t.check()

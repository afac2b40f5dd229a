"""`serve --test-clock`: POST /v1/admin/clock/advance moves the daemon's time, runs every job
that became due before answering, and keeps the offset in the database across restarts.

Run with: python3 -m pytest -q Tests/integration/test_test_clock.py
"""
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from conftest import Daemon, current_tenant_id, operator, run_cli, sign_up

DAY = 86400
USER = "clocked@example.com"
USER_PASSWORD = "user password 1"
JOBS = {"expireTrials", "renewPeriods", "grantAllowances", "expireGrants", "deliverMail", "purgeExpired", "checkpointWAL"}


def instant(text):
    """An RFC 3339 UTC timestamp of the API as an aware datetime."""
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1] + "+00:00")


def advance(daemon, token, seconds):
    status, _, body = daemon.request("POST", "/v1/admin/clock/advance", {"seconds": seconds}, token=token)
    assert status == 200, body
    return instant(body["now"])


def usage_configs(daemon, token, tenant_id):
    status, _, body = daemon.request("GET", f"/v1/usage/tenants/{tenant_id}/current", token=token)
    assert status == 200, body
    return body["config"]["usage_configs"]


def subscription(daemon, token):
    status, _, body = daemon.request("GET", "/v1/subscription", token=token)
    assert status == 200, body
    return body["subscription"]


def credits_remaining(daemon, token):
    status, headers, body = daemon.request("GET", "/v1/auth/check", token=token)
    assert status == 200, body
    return int(headers["X-Credits-Remaining"])


def grants(db, tenant_id):
    """The tenant's credit grants straight from the ledger, oldest first."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT source, category, amount, effective_at, expires_at FROM credit_grant WHERE tenant_id = ? ORDER BY seq",
            (tenant_id,),
        ).fetchall()
    return [
        {"source": source, "category": category, "amount": amount,
         "effective_at": datetime.fromtimestamp(effective / 1000, tz=timezone.utc),
         "expires_at": datetime.fromtimestamp(expires / 1000, tz=timezone.utc)}
        for source, category, amount, effective, expires in rows
    ]


def assert_jobs_ran_ok_at(daemon, operator_token, now):
    """Every timer has run at (or after) NOW and reported ok; none is overdue."""
    status, _, body = daemon.request("GET", "/v1/admin/jobs", token=operator_token)
    assert status == 200, body
    jobs = {job["id"]: job for job in body["jobs"]}
    assert JOBS <= set(jobs), sorted(jobs)
    for job in jobs.values():
        assert job["last_result"] == "ok", job
        assert job["last_error"] == "", job
        assert instant(job["last_started_at"]) >= now, job
        assert instant(job["next_run_at"]) > now, job
    return jobs


def assert_free_grants_are_monthly_and_unique(db, tenant_id, free_start, now):
    """One FREE grant of 100 per month of the subscription, from its start to the month holding NOW,
    each month exactly once and the months back to back."""
    plan = [g for g in grants(db, tenant_id) if g["source"] == "plan"]
    assert plan, "no FREE grant at all"
    assert all(g["category"] == "USAGE_AI_CREDIT" and g["amount"] == 100 for g in plan), plan
    starts = [g["effective_at"] for g in plan]
    assert len(starts) == len(set(starts)), f"a month was granted twice: {starts}"
    plan.sort(key=lambda g: g["effective_at"])
    assert plan[0]["effective_at"] == free_start, (plan[0], free_start)
    for earlier, later in zip(plan, plan[1:]):
        assert later["effective_at"] == earlier["expires_at"], f"months not back to back: {earlier} then {later}"
        assert timedelta(days=28) <= later["effective_at"] - earlier["effective_at"] <= timedelta(days=31), (earlier, later)
    assert plan[-1]["effective_at"] <= now < plan[-1]["expires_at"], (plan[-1], now)
    return plan


def test_trial_expiry_free_allowances_and_a_restart_keep_the_moved_time(tmp_path):
    db = tmp_path / "tenantry.sqlite"
    email, password = operator(db)
    daemon = Daemon(db, args=["--test-clock"])
    try:
        operator_token = daemon.login(email, password)
        token = sign_up(daemon, operator_token, USER, USER_PASSWORD)
        tenant_id = current_tenant_id(daemon, token)
        trial = subscription(daemon, token)
        assert (trial["plan"], trial["period"], trial["status"]) == ("NEW_USER_TRIAL", "NOT_DEFINE", "TRIALING")
        assert instant(trial["end_at"]) - instant(trial["start_at"]) == timedelta(days=14)
        assert [(u["category"], u["total_amount"]) for u in usage_configs(daemon, token, tenant_id)] == [("USAGE_AI_CREDIT", "10000")]

        # The answer's `now` moves by exactly the seconds asked (plus the wall-clock time between calls).
        start = advance(daemon, operator_token, 1)
        moved = advance(daemon, operator_token, 15 * DAY)
        assert timedelta(days=15) <= moved - start < timedelta(days=15, seconds=30), (start, moved)

        # Sessions are 15 days older now; log in again at the moved time.
        operator_token = daemon.login(email, password)
        token = daemon.login(USER, USER_PASSWORD)
        free = subscription(daemon, token)
        assert (free["plan"], free["period"], free["status"]) == ("FREE", "NOT_DEFINE", "ACTIVE"), free
        assert free["id"] != trial["id"]
        assert instant(free["start_at"]) == instant(trial["end_at"]), (free, trial)
        assert free["end_at"] is None
        # The trial's 10,000 credits are gone; FREE's monthly 100 are there.
        configs = usage_configs(daemon, token, tenant_id)
        assert [(u["category"], u["used_amount"], u["total_amount"]) for u in configs] == [("USAGE_AI_CREDIT", "0", "100")], configs
        assert instant(configs[0]["expiration_time"]) > moved
        assert credits_remaining(daemon, token) == 100
        status, _, detail = daemon.request("GET", f"/v1/admin/tenants/{tenant_id}", token=operator_token)
        assert status == 200, detail
        history = {s["id"]: s for s in detail["subscriptions"]}
        assert history[trial["id"]]["status"] == "EXPIRED", history
        assert_jobs_ran_ok_at(daemon, operator_token, moved)
        assert daemon.stop() == 0

        # A restart keeps the moved time: the offset lives in the database.
        daemon = Daemon(db, args=["--test-clock"])
        operator_token = daemon.login(email, password)
        after_restart = advance(daemon, operator_token, 1)
        assert timedelta(seconds=1) <= after_restart - moved < timedelta(seconds=60), (moved, after_restart)
        token = daemon.login(USER, USER_PASSWORD)
        assert subscription(daemon, token)["plan"] == "FREE"

        # 60 more days: every month of FREE that started is granted once; only the current one is live.
        later = advance(daemon, operator_token, 60 * DAY)
        assert timedelta(days=60) <= later - after_restart < timedelta(days=60, seconds=30)
        operator_token = daemon.login(email, password)
        token = daemon.login(USER, USER_PASSWORD)
        free_now = subscription(daemon, token)
        assert (free_now["id"], free_now["plan"], free_now["status"]) == (free["id"], "FREE", "ACTIVE"), free_now
        configs = usage_configs(daemon, token, tenant_id)
        assert [(u["category"], u["used_amount"], u["total_amount"]) for u in configs] == [("USAGE_AI_CREDIT", "0", "100")], configs
        assert credits_remaining(daemon, token) == 100
        jobs = assert_jobs_ran_ok_at(daemon, operator_token, later)
        assert int(jobs["grantAllowances"]["items_processed"]) >= 1, jobs["grantAllowances"]
        plan = assert_free_grants_are_monthly_and_unique(db, tenant_id, instant(free["start_at"]), later)
        assert len(plan) >= 2, plan
        assert instant(configs[0]["expiration_time"]) == plan[-1]["expires_at"], (configs, plan[-1])
        trial_grants = [g for g in grants(db, tenant_id) if g["source"] == "trial"]
        assert [(g["amount"], g["expires_at"]) for g in trial_grants] == [(10000, instant(trial["end_at"]))], trial_grants
        assert daemon.stop() == 0

        # Once more after another restart: nothing is granted twice.
        daemon = Daemon(db, args=["--test-clock"])
        operator_token = daemon.login(email, password)
        last = advance(daemon, operator_token, 1)
        assert last - later >= timedelta(seconds=1)
        assert assert_free_grants_are_monthly_and_unique(db, tenant_id, instant(free["start_at"]), last) == plan
        # The jobs caught up at start, at the moved time (a 1-second step makes none of them due).
        assert_jobs_ran_ok_at(daemon, operator_token, later)
    finally:
        daemon.stop()
    checked = run_cli("check", "--db", db, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("ok:"), checked.stdout


def test_the_clock_route_exists_only_with_the_flag(tmp_path):
    db = tmp_path / "tenantry.sqlite"
    email, password = operator(db)
    daemon = Daemon(db)
    try:
        operator_token = daemon.login(email, password)
        status, _, body = daemon.request("POST", "/v1/admin/clock/advance", {"seconds": 60}, token=operator_token)
        assert status == 404, body
        assert body["code"] == 5, body
        status, _, document = daemon.request("GET", "/v1/openapi.json")
        assert status == 200
        assert "/v1/admin/clock/advance" not in document["paths"]
    finally:
        assert daemon.stop() == 0


@pytest.fixture
def clocked(tmp_path):
    db = tmp_path / "tenantry.sqlite"
    email, password = operator(db)
    daemon = Daemon(db, args=["--test-clock"])
    yield daemon, daemon.login(email, password)
    daemon.stop()


@pytest.mark.parametrize("body", [{"seconds": 0}, {"seconds": -1}, {"seconds": -DAY}, {}, {"seconds": "soon"}, {"seconds": 1.5}])
def test_the_clock_refuses_bad_input(clocked, body):
    daemon, operator_token = clocked
    before = advance(daemon, operator_token, 1)
    status, _, answer = daemon.request("POST", "/v1/admin/clock/advance", body, token=operator_token)
    assert status == 400, answer
    assert answer["code"] == 3, answer
    # Nothing moved: the next second lands one second (plus wall time) later.
    assert advance(daemon, operator_token, 1) - before < timedelta(seconds=30)


def test_only_operators_move_the_clock(clocked):
    daemon, operator_token = clocked
    token = sign_up(daemon, operator_token, USER, USER_PASSWORD)
    status, _, body = daemon.request("POST", "/v1/admin/clock/advance", {"seconds": 60}, token=token)
    assert (status, body["code"]) == (403, 7), body
    status, _, body = daemon.request("POST", "/v1/admin/clock/advance", {"seconds": 60})
    assert (status, body["code"]) == (401, 16), body
    assert "/v1/admin/clock/advance" in daemon.request("GET", "/v1/openapi.json")[2]["paths"]

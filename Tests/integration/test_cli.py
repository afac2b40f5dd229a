"""The command line and the daemon's life cycle, on the real binary."""
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import BINARY, Daemon, free_port, operator, run_cli


def test_version():
    assert run_cli("version").stdout.strip() == "tenantryd 0.1.0"


def test_migrate_then_check(workdir):
    db = workdir / "nested" / "dir" / "t.sqlite"
    assert "up to date" in run_cli("migrate", "--db", db).stdout
    assert db.exists()
    checked = run_cli("check", "--db", db)
    assert checked.stdout.startswith("ok:")
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        strict = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'user'").fetchone()[0]
        assert "STRICT" in strict


def test_check_reports_problems_and_fails(workdir):
    db = workdir / "t.sqlite"
    run_cli("migrate", "--db", db)
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("INSERT INTO membership VALUES ('tnt_missing', 'usr_missing', 'owner', 0)")
    result = run_cli("check", "--db", db, check=False)
    assert result.returncode == 1
    assert "foreign key violation in membership" in result.stdout


def test_check_and_backup_refuse_a_missing_database(workdir):
    for command in (["check"], ["backup", "--to", workdir / "b.sqlite"]):
        result = run_cli(*command, "--db", workdir / "absent.sqlite", check=False)
        assert result.returncode != 0
        assert "no database at" in result.stderr


def assert_refused_soon(daemon, token, what):
    """The daemon holds keys and sessions in memory: another process's change (the command
    line's) reaches it within a second, where one made through the API holds at once."""
    deadline = time.monotonic() + 5
    while daemon.request("GET", "/v1/admin/jobs", token=token)[0] != 401:
        assert time.monotonic() < deadline, f"{what} still works"
        time.sleep(0.05)


def test_admin_create_generates_a_password_once_and_set_password_replaces_it(workdir):
    db = workdir / "t.sqlite"
    created = run_cli("admin", "create", "--email", "Boss@Example.com", "--db", db)
    assert "created operator boss@example.com" in created.stdout
    password = re.search(r"password: (\S+)", created.stdout).group(1)
    assert len(password) >= 20

    again = run_cli("admin", "create", "--email", "boss@example.com", "--db", db, check=False)
    assert again.returncode != 0 and "already an operator" in again.stderr
    assert "nothing to do" in run_cli("admin", "create", "--email", "x@example.com", "--if-missing", "--db", db).stdout
    weak = run_cli("admin", "create", "--email", "y@example.com", "--password-stdin", "--db", db, stdin="short\n", check=False)
    assert weak.returncode != 0 and "at least 8" in weak.stderr

    daemon = Daemon(db)
    try:
        token = daemon.login("boss@example.com", password)
        assert daemon.request("GET", "/v1/admin/jobs", token=token)[0] == 200
        replaced = run_cli("admin", "set-password", "--email", "boss@example.com", "--db", db)
        new_password = re.search(r"password: (\S+)", replaced.stdout).group(1)
        assert_refused_soon(daemon, token, "a session ended by set-password")
        assert daemon.request("POST", "/v1/account/login", {"email": "boss@example.com", "password": password})[0] == 401
        daemon.login("boss@example.com", new_password)
    finally:
        assert daemon.stop() == 0


def test_flags_come_from_the_environment(workdir):
    port = free_port()
    db = workdir / "from-env.sqlite"
    process = subprocess.Popen(
        [str(BINARY), "serve", "--argon2-memory-kib", "256"],
        env={**os.environ, "TENANTRY_DB": str(db), "TENANTRY_LISTEN": f"127.0.0.1:{port}", "TENANTRY_SYNCHRONOUS": "normal"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = process.stdout.readline()
        while "serving on" not in line:
            assert line, "the daemon exited"
            line = process.stdout.readline()
        assert f"127.0.0.1:{port}" in line and "synchronous=normal" in line
        assert db.exists()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_bad_flags_are_refused_with_a_reason(workdir):
    for flags, reason in ((["--synchronous", "sometimes"], "full or normal"), (["--listen", "nowhere"], "--listen"),
                          (["--log-level", "loud"], "--log-level"), (["--argon2-iterations", "0"], "argon2id")):
        result = run_cli("serve", "--db", workdir / "t.sqlite", *flags, check=False)
        assert result.returncode != 0
        assert reason in result.stderr


def test_synchronous_full_is_the_default_and_is_checked(daemon):
    assert "synchronous=full" in daemon.output()


def test_sigterm_finishes_requests_in_flight_then_exits_zero(workdir):
    # Real-sized password hashing makes a login slow enough to be in flight at SIGTERM.
    daemon = Daemon(workdir / "t.sqlite", args=["--argon2-memory-kib", "131072", "--argon2-iterations", "4", "--hashing-workers", "1"])
    answers = []
    def slow_login():
        answers.append(daemon.request("POST", "/v1/account/login", {"email": "nobody@example.com", "password": "whatever123"}))
    caller = threading.Thread(target=slow_login)
    caller.start()
    time.sleep(0.15)
    daemon.process.send_signal(signal.SIGTERM)
    caller.join(timeout=30)
    assert daemon.process.wait(timeout=30) == 0
    assert answers and answers[0][0] == 401, "the request in flight got its answer"
    log = daemon.output()
    assert "received SIGTERM" in log and "stopped cleanly" in log
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", daemon.port), timeout=1)


def test_sd_notify_ready_watchdog_and_stopping(workdir):
    path = str(workdir / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(10)
    daemon = Daemon(workdir / "t.sqlite", env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    messages = []
    try:
        while not any("WATCHDOG=1" in m for m in messages) or not any("READY=1" in m for m in messages):
            messages.append(listener.recv(4096).decode())
    finally:
        assert daemon.stop() == 0
    while not any("STOPPING=1" in m for m in messages):
        messages.append(listener.recv(4096).decode())
    assert messages[0].startswith("READY=1")
    listener.close()


def test_backup_while_serving_is_consistent_and_restores(workdir):
    db = workdir / "live.sqlite"
    email, password = operator(db)
    daemon = Daemon(db)
    stop = threading.Event()
    registered = []
    def keep_writing():
        index = 0
        while not stop.is_set():
            status, _, _ = daemon.request("POST", "/v1/account/password/forgot", {"email": f"user{index}@example.com"})
            registered.append(status)
            index += 1
    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        time.sleep(0.3)
        backup = workdir / "backup.sqlite"
        result = run_cli("backup", "--to", backup, "--db", db)
        assert "quick_check ok" in result.stdout
        again = run_cli("backup", "--to", backup, "--db", db, check=False)
        assert again.returncode != 0 and "already exists" in again.stderr
    finally:
        stop.set()
        writer.join()
        assert daemon.stop() == 0
    assert registered and all(status == 200 for status in registered[:5])
    assert run_cli("check", "--db", backup).stdout.startswith("ok:")
    restored = Daemon(backup)
    try:
        token = restored.login(email, password)
        assert restored.request("GET", "/v1/admin/jobs", token=token)[0] == 200
    finally:
        restored.stop()


def test_openapi_document_is_valid_openapi_3_1(daemon):
    from openapi_spec_validator import validate
    status, _, document = daemon.request("GET", "/v1/openapi.json")
    assert status == 200
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_owasp_argon2_parameters_by_default(workdir):
    db = workdir / "t.sqlite"
    operator(db)
    with sqlite3.connect(db) as connection:
        phc = connection.execute("SELECT password_hash FROM user").fetchone()[0]
    assert phc.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_operator_api_key_from_the_command_line(workdir):
    db = workdir / "t.sqlite"
    created = run_cli("admin", "create-key", "--name", "billing-sync", "--db", db)
    key = re.search(r"key: (tnk_\S+)", created.stdout).group(1)
    daemon = Daemon(db)
    try:
        assert daemon.request("GET", "/v1/admin/jobs", token=key)[0] == 200
        assert daemon.request("GET", "/v1/usage/plans", token=key)[0] == 200
        # A key is no user: routes that need a person refuse it.
        status, _, body = daemon.request("GET", "/v1/user", token=key)
        assert status == 403 and body["code"] == 7
        key_id = re.search(r"created operator key (key_\S+)", created.stdout).group(1)
        assert "revoked" in run_cli("admin", "revoke-key", "--id", key_id, "--db", db).stdout
        assert_refused_soon(daemon, key, "the key revoked from the command line")
    finally:
        daemon.stop()
    assert run_cli("admin", "create-key", "--name", "  ", "--db", db, check=False).returncode != 0
    missing = run_cli("admin", "revoke-key", "--id", "key_nope", "--db", db, check=False)
    assert missing.returncode != 0 and "no API key" in missing.stderr


def test_check_proves_balances_against_the_ledger(workdir):
    from conftest import sign_up
    db = workdir / "t.sqlite"
    email, password = operator(db)
    daemon = Daemon(db)
    try:
        sign_up(daemon, daemon.login(email, password), "ledger@example.com")
    finally:
        daemon.stop()
    assert run_cli("check", "--db", db).stdout.startswith("ok:")
    with sqlite3.connect(db) as connection:
        # A balance that changes without a ledger row: 5 credits "used" by nobody.
        connection.execute("UPDATE credit_grant SET used = used + 5 WHERE source = 'trial'")
    result = run_cli("check", "--db", db, check=False)
    assert result.returncode == 1
    assert "has used 5 but debits drew 0" in result.stdout

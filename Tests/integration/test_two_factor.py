"""Operators' second factor (TOTP) over HTTP and the command line, on the real binary, with
`pyotp` as the authenticator app.

The contract under test (docs/API.md "Account", "User" and "Admin"):

- `POST /v1/account/login {email, password}` → `{token, mfa_required, mfa_token}`. An operator
  with a confirmed second factor gets `token: ""`, `mfa_required: true` and an `mfa_token`
  valid 5 minutes. `POST /v1/account/login/2fa {mfa_token, code}` → `{token}`; the code is a
  TOTP code (RFC 6238: SHA-1, 6 digits, 30 s, one step either side; a code works once) or an
  unused recovery code (`xxxxx-xxxxx`, any case). A wrong code, a used or an expired
  mfa_token is code 16 (HTTP 401); after 5 wrong codes from one client, code 8 (HTTP 429)
  with `Retry-After`.
- `GET /v1/user/2fa` → `{enabled, pending, confirmed_at, recovery_codes_left}`, operators only
  (code 7 otherwise). `POST /v1/user/2fa/enroll` → `{secret, otpauth_uri}` (issuer Tenantry,
  the operator's email as the name); code 6 while it is on. `POST /v1/user/2fa/confirm {code}`
  → `{recovery_codes}`: ten distinct codes; a wrong first code is code 3.
  `POST /v1/user/2fa/disable {code}` turns it off.
- `DELETE /v1/admin/users/{id}/2fa` by another operator → `{}`, audited as `user.2fa_reset`;
  code 3 for a user without a second factor.
- `serve --operator-2fa required`: an operator without a confirmed factor cannot log in
  (code 7, naming `tenantryd admin 2fa-enroll`). `tenantryd admin 2fa-enroll`, `2fa-confirm`
  and `2fa-reset` manage it from the command line, against the same database.

Every test has its own database and daemon with `--test-clock`; codes are computed at the
daemon's time (real time plus the offset `POST /v1/admin/clock/advance` answers), and the
clock is moved a whole step between two uses of the authenticator so that no test depends on
where a real 30-s boundary falls. The clock is moved with an operator API key (`tenantryd
admin create-key`), which does not need a second factor.

Run with: TENANTRYD=… python3 -m pytest -q Tests/integration/test_two_factor.py
"""
import re
import time

import pyotp
import pytest

from conftest import Daemon, DaemonCalls, operator, run_cli, sign_up
from webhook_receiver import instant

OPS = "ops@example.com"
OPS_PASSWORD = "operator password"
OTHER = "other-ops@example.com"
OTHER_PASSWORD = "other operator password"
STEP = 30
RECOVERY = re.compile(r"^[0-9a-z]{5}-[0-9a-z]{5}$")


class TwoFactor(DaemonCalls):
    """A database with two operators and an operator API key, and a --test-clock daemon."""

    def __init__(self, tmp_path, args=()):
        self.db = tmp_path / "tenantry.sqlite"
        operator(self.db, OPS, OPS_PASSWORD)
        operator(self.db, OTHER, OTHER_PASSWORD)
        created = run_cli("admin", "create-key", "--name", "two-factor tests", "--db", self.db)
        self.key = re.search(r"key: (tnk_\S+)", created.stdout).group(1)
        self.offset = 0.0  # the daemon's now minus the real now, in seconds
        self.daemon = Daemon(self.db, ["--test-clock", *args])

    def refused(self, method, path, body, token, status, code):
        got, headers, answer = self.request(method, path, body, token)
        assert (got, answer.get("code") if isinstance(answer, dict) else answer) == (status, code), (method, path, got, answer)
        return headers, answer

    # The daemon's clock

    def advance(self, seconds):
        now = instant(self.ok("POST", "/v1/admin/clock/advance", {"seconds": seconds}, token=self.key)["now"])
        self.offset = now.timestamp() - time.time()
        return now

    def now(self):
        return time.time() + self.offset

    def code(self, secret):
        """The code the authenticator app shows at the daemon's now."""
        return pyotp.TOTP(secret).at(self.now())

    def wrong_code(self, secret):
        """Six digits that no step within ±2 of the daemon's now accepts."""
        totp, now = pyotp.TOTP(secret), self.now()
        valid = {totp.at(now + k * STEP) for k in range(-2, 3)}
        return next(c for c in ("000000", "123456", "654321", "999999", "111111", "424242") if c not in valid)

    def next_step(self):
        """Moves the daemon into the next step, 10 s past its start, so the app shows a code not
        used yet and a real second or two of test time never crosses a step boundary."""
        now = self.now()
        target = (int(now) // STEP + 1) * STEP + 10
        return self.advance(int(target - now) + 1)

    # Accounts

    def login(self, email, password):
        return self.ok("POST", "/v1/account/login", {"email": email, "password": password})

    def session(self, email=OPS, password=OPS_PASSWORD):
        answer = self.login(email, password)
        assert answer["mfa_required"] is False and answer["token"].startswith("tns_"), answer
        return answer["token"]

    def challenge(self, email=OPS, password=OPS_PASSWORD):
        answer = self.login(email, password)
        assert answer["token"] == "" and answer["mfa_required"] is True and answer["mfa_token"], answer
        return answer["mfa_token"]

    def second_factor(self, mfa_token, code):
        return self.request("POST", "/v1/account/login/2fa", {"mfa_token": mfa_token, "code": code})

    def status(self, token):
        return self.ok("GET", "/v1/user/2fa", token=token)

    def enroll(self, token):
        """Enrols and confirms through the API; answers (secret, recovery codes)."""
        secret = self.ok("POST", "/v1/user/2fa/enroll", token=token)["secret"]
        codes = self.ok("POST", "/v1/user/2fa/confirm", {"code": self.code(secret)}, token=token)["recovery_codes"]
        self.next_step()
        return secret, codes

    def user_email(self, token):
        return self.ok("GET", "/v1/user", token=token)["user"]["email"]


@pytest.fixture
def tf(tmp_path):
    setup = TwoFactor(tmp_path)
    yield setup
    setup.daemon.stop()


def test_enrolment_through_the_api(tf):
    token = tf.session()
    before = tf.status(token)
    assert (before["enabled"], before["pending"], before["confirmed_at"]) == (False, False, None), before

    enrolled = tf.ok("POST", "/v1/user/2fa/enroll", token=token)
    secret = enrolled["secret"]
    assert re.fullmatch(r"[A-Z2-7]+=*", secret) and len(secret) >= 16, secret
    app = pyotp.parse_uri(enrolled["otpauth_uri"])
    assert isinstance(app, pyotp.TOTP)
    assert (app.secret, app.issuer, app.name) == (secret, "Tenantry", OPS), enrolled["otpauth_uri"]
    assert (app.digits, app.interval, app.digest().name) == (6, 30, "sha1")
    pending = tf.status(token)
    assert (pending["enabled"], pending["pending"]) == (False, True), pending
    # Still optional: until confirmed, the password alone signs in.
    tf.session()

    confirmed = tf.ok("POST", "/v1/user/2fa/confirm", {"code": app.at(tf.now())}, token=token)
    codes = confirmed["recovery_codes"]
    assert len(codes) == 10 and len(set(c.lower() for c in codes)) == 10, codes
    assert all(RECOVERY.match(c.lower()) for c in codes), codes
    after = tf.status(token)
    assert (after["enabled"], after["pending"], after["recovery_codes_left"]) == (True, False, 10), after
    assert instant(after["confirmed_at"]).timestamp() == pytest.approx(tf.now(), abs=60), after

    tf.refused("POST", "/v1/user/2fa/enroll", None, token, 409, 6)
    assert tf.status(token)["enabled"] is True


def test_a_wrong_first_code_does_not_turn_it_on(tf):
    token = tf.session()
    secret = tf.ok("POST", "/v1/user/2fa/enroll", token=token)["secret"]
    tf.refused("POST", "/v1/user/2fa/confirm", {"code": tf.wrong_code(secret)}, token, 400, 3)
    status = tf.status(token)
    assert (status["enabled"], status["pending"]) == (False, True), status
    tf.session()  # no second factor asked for
    # The right code still confirms the same secret afterwards.
    assert len(tf.ok("POST", "/v1/user/2fa/confirm", {"code": tf.code(secret)}, token=token)["recovery_codes"]) == 10


def test_enrolling_again_before_confirming_replaces_the_secret(tf):
    token = tf.session()
    first = tf.ok("POST", "/v1/user/2fa/enroll", token=token)["secret"]
    second = tf.ok("POST", "/v1/user/2fa/enroll", token=token)["secret"]
    assert first != second
    tf.refused("POST", "/v1/user/2fa/confirm", {"code": tf.code(first)}, token, 400, 3)
    code = tf.code(second)
    assert len(tf.ok("POST", "/v1/user/2fa/confirm", {"code": code}, token=token)["recovery_codes"]) == 10
    tf.refused("POST", "/v1/user/2fa/confirm", {"code": code}, token, 409, 6)
    # The confirming code has been used: it does not sign in within the same step.
    status, _, answer = tf.second_factor(tf.challenge(), code)
    assert (status, answer["code"]) == (401, 16), answer


def test_recovery_codes_are_not_stored_in_plain(tf):
    _, codes = tf.enroll(tf.session())
    tf.daemon.stop()
    stored = b"".join(path.read_bytes() for path in tf.db.parent.glob(tf.db.name + "*"))
    for code in codes:
        assert code.encode() not in stored and code.upper().encode() not in stored, code


def test_login_with_a_code_and_the_code_works_once(tf):
    secret, _ = tf.enroll(tf.session())
    mfa_token = tf.challenge()
    code = tf.code(secret)
    status, _, answer = tf.second_factor(mfa_token, code)
    assert status == 200, answer
    token = answer["token"]
    assert token.startswith("tns_"), answer
    assert tf.user_email(token) == OPS

    # The same code, on a fresh challenge, is refused; the used challenge is refused too.
    again = tf.challenge()
    status, _, answer = tf.second_factor(again, code)
    assert (status, answer["code"]) == (401, 16), answer
    tf.next_step()
    status, _, answer = tf.second_factor(mfa_token, tf.code(secret))
    assert (status, answer["code"]) == (401, 16), answer
    # A new step's code passes the fresh challenge.
    status, _, answer = tf.second_factor(again, tf.code(secret))
    assert status == 200 and tf.user_email(answer["token"]) == OPS, answer


def test_one_step_either_side_is_accepted_and_two_are_not(tf):
    secret, _ = tf.enroll(tf.session())
    totp = pyotp.TOTP(secret)
    tf.next_step()  # 10 s into a step: ±1 step is unambiguous
    for offset in (-2 * STEP, 2 * STEP):
        status, _, answer = tf.second_factor(tf.challenge(), totp.at(tf.now() + offset))
        assert (status, answer["code"]) == (401, 16), (offset, answer)
    status, _, answer = tf.second_factor(tf.challenge(), totp.at(tf.now() - STEP))
    assert status == 200, answer
    tf.next_step()
    status, _, answer = tf.second_factor(tf.challenge(), totp.at(tf.now() + STEP))
    assert status == 200, answer


def test_a_wrong_code_is_refused(tf):
    secret, _ = tf.enroll(tf.session())
    mfa_token = tf.challenge()
    status, _, answer = tf.second_factor(mfa_token, tf.wrong_code(secret))
    assert (status, answer["code"]) == (401, 16), answer
    # A wrong code does not use the challenge up.
    status, _, answer = tf.second_factor(mfa_token, tf.code(secret))
    assert status == 200 and tf.user_email(answer["token"]) == OPS, answer


def test_a_recovery_code_works_once_in_any_case(tf):
    token = tf.session()
    _, codes = tf.enroll(token)
    status, _, answer = tf.second_factor(tf.challenge(), codes[0].upper())
    assert status == 200, answer
    assert tf.user_email(answer["token"]) == OPS
    assert tf.status(token)["recovery_codes_left"] == 9

    status, _, answer = tf.second_factor(tf.challenge(), codes[0].lower())
    assert (status, answer["code"]) == (401, 16), answer
    status, _, answer = tf.second_factor(tf.challenge(), codes[1].lower())
    assert status == 200, answer
    assert tf.status(token)["recovery_codes_left"] == 8


def test_the_challenge_expires_after_five_minutes(tf):
    secret, _ = tf.enroll(tf.session())
    early = tf.challenge()
    late = tf.challenge()
    tf.advance(4 * 60)
    status, _, answer = tf.second_factor(early, tf.code(secret))
    assert status == 200, answer
    tf.advance(61)  # more than 5 minutes since the challenge
    tf.next_step()
    status, _, answer = tf.second_factor(late, tf.code(secret))
    assert (status, answer["code"]) == (401, 16), answer


def test_wrong_codes_are_throttled(tf):
    token = tf.session()
    secret, codes = tf.enroll(token)
    mfa_token = tf.challenge()
    for attempt in range(5):
        status, _, answer = tf.second_factor(mfa_token, tf.wrong_code(secret))
        assert (status, answer["code"]) == (401, 16), (attempt, answer)
    # Limited now: even the right code and a recovery code, on a fresh challenge, are refused.
    status, headers, answer = tf.second_factor(mfa_token, tf.code(secret))
    assert (status, answer["code"]) == (429, 8), answer
    retry_after = int(headers["Retry-After"])
    assert retry_after > 0, headers
    status, _, answer = tf.second_factor(tf.challenge(), codes[0])
    assert (status, answer["code"]) == (429, 8), answer
    assert tf.status(token)["recovery_codes_left"] == 10  # a refused attempt uses nothing up

    tf.advance(retry_after + 1)
    tf.next_step()
    status, _, answer = tf.second_factor(tf.challenge(), tf.code(secret))
    assert status == 200 and tf.user_email(answer["token"]) == OPS, answer


def test_the_limit_counts_wrong_codes_across_challenges(tf):
    secret, _ = tf.enroll(tf.session())
    for attempt in range(5):
        status, _, answer = tf.second_factor(tf.challenge(), tf.wrong_code(secret))
        assert (status, answer["code"]) == (401, 16), (attempt, answer)
    status, headers, answer = tf.second_factor(tf.challenge(), tf.code(secret))
    assert (status, answer["code"]) == (429, 8) and int(headers["Retry-After"]) > 0, answer


def test_disable_with_a_code(tf):
    token = tf.session()
    secret, _ = tf.enroll(token)
    for wrong in ({"code": tf.wrong_code(secret)}, {}):
        status, _, answer = tf.request("POST", "/v1/user/2fa/disable", wrong, token)
        assert (status, answer["code"]) == (401, 16), (wrong, answer)
    assert tf.status(token)["enabled"] is True

    assert tf.ok("POST", "/v1/user/2fa/disable", {"code": tf.code(secret)}, token=token) == {}
    status = tf.status(token)
    assert (status["enabled"], status["pending"], status["confirmed_at"]) == (False, False, None), status
    assert tf.user_email(tf.session()) == OPS


def test_disable_with_a_recovery_code(tf):
    token = tf.session()
    _, codes = tf.enroll(token)
    assert tf.ok("POST", "/v1/user/2fa/disable", {"code": codes[4].upper()}, token=token) == {}
    assert tf.status(token)["enabled"] is False
    tf.session()


def test_another_operator_resets_it_and_it_is_audited(tf):
    token = tf.session()
    tf.enroll(token)
    user_id = tf.ok("GET", "/v1/user", token=token)["user"]["id"]
    other = tf.session(OTHER, OTHER_PASSWORD)

    assert tf.ok("DELETE", f"/v1/admin/users/{user_id}/2fa", token=other) == {}
    assert tf.status(token)["enabled"] is False
    assert tf.user_email(tf.session()) == OPS

    entries = tf.ok("GET", "/v1/admin/audit?action=user.2fa_reset", token=other)["entries"]
    assert len(entries) == 1, entries
    entry = entries[0]
    assert (entry["action"], entry["actor_email"], entry["target_type"], entry["target_id"]) == (
        "user.2fa_reset", OTHER, "user", user_id), entry

    tf.refused("DELETE", f"/v1/admin/users/{user_id}/2fa", None, other, 400, 3)


def test_a_tenant_user_has_no_second_factor(tf):
    user = sign_up(tf.daemon, tf.key, "person@example.com")
    tf.refused("GET", "/v1/user/2fa", None, user, 403, 7)
    tf.refused("POST", "/v1/user/2fa/enroll", None, user, 403, 7)


def test_required_refuses_operators_without_one_and_the_cli_enrols(tmp_path):
    tf = TwoFactor(tmp_path, ["--operator-2fa", "required"])
    try:
        status, _, answer = tf.request("POST", "/v1/account/login", {"email": OPS, "password": OPS_PASSWORD})
        assert (status, answer["code"]) == (403, 7), answer
        assert "tenantryd admin 2fa-enroll" in answer["message"], answer
        # Tenant users are not operators: the password alone still signs them in.
        sign_up(tf.daemon, tf.key, "person@example.com")
        assert tf.session("person@example.com", "user password 1")

        enrolled = run_cli("admin", "2fa-enroll", "--db", tf.db, "--email", OPS).stdout
        uri = re.search(r"otpauth URI: (\S+)", enrolled).group(1)
        secret = re.search(r"secret: (\S+)", enrolled).group(1)
        app = pyotp.parse_uri(uri)
        assert (app.secret, app.issuer, app.name) == (secret, "Tenantry", OPS), enrolled
        # Enrolled but not confirmed: still refused.
        assert tf.request("POST", "/v1/account/login", {"email": OPS, "password": OPS_PASSWORD})[0] == 403

        wrong = run_cli("admin", "2fa-confirm", "--db", tf.db, "--email", OPS, "--code", tf.wrong_code(secret), check=False)
        assert wrong.returncode != 0 and "recovery" not in wrong.stdout.lower(), wrong
        # The command line reads the real clock; the daemon's has not moved yet.
        confirmed = run_cli("admin", "2fa-confirm", "--db", tf.db, "--email", OPS, "--code", pyotp.TOTP(secret).now()).stdout
        codes = re.findall(r"^\s+(\S+)\s*$", confirmed, re.MULTILINE)
        assert len(codes) == 10 and len(set(codes)) == 10 and all(RECOVERY.match(c.lower()) for c in codes), confirmed

        tf.next_step()
        status, _, answer = tf.second_factor(tf.challenge(), tf.code(secret))
        assert status == 200, answer
        token = answer["token"]
        assert tf.user_email(token) == OPS
        assert tf.status(token)["recovery_codes_left"] == 10
        status, _, answer = tf.second_factor(tf.challenge(), codes[0])
        assert status == 200, answer

        reset = run_cli("admin", "2fa-reset", "--db", tf.db, "--email", OPS)
        assert reset.returncode == 0
        status, _, answer = tf.request("POST", "/v1/account/login", {"email": OPS, "password": OPS_PASSWORD})
        assert (status, answer["code"]) == (403, 7), answer
        entries = tf.ok("GET", "/v1/admin/audit?action=user.2fa_reset", token=tf.key)["entries"]
        assert len(entries) == 1, entries
        user_id = tf.ok("GET", "/v1/user", token=token)["user"]["id"]
        assert (entries[0]["target_type"], entries[0]["target_id"]) == ("user", user_id), entries
    finally:
        tf.daemon.stop()


def test_the_cli_enrols_while_the_daemon_is_stopped(tmp_path):
    tf = TwoFactor(tmp_path, ["--operator-2fa", "required"])
    tf.daemon.stop()
    enrolled = run_cli("admin", "2fa-enroll", "--db", tf.db, "--email", OPS).stdout
    secret = re.search(r"secret: (\S+)", enrolled).group(1)
    confirmed = run_cli("admin", "2fa-confirm", "--db", tf.db, "--email", OPS, "--code", pyotp.TOTP(secret).now()).stdout
    codes = re.findall(r"^\s+(\S+)\s*$", confirmed, re.MULTILINE)
    assert len(codes) == 10, confirmed
    tf.daemon = Daemon(tf.db, ["--test-clock", "--operator-2fa", "required"])
    try:
        status, _, answer = tf.second_factor(tf.challenge(), codes[9])
        assert status == 200 and tf.user_email(answer["token"]) == OPS, answer
        tf.next_step()
        status, _, answer = tf.second_factor(tf.challenge(), tf.code(secret))
        assert status == 200 and tf.user_email(answer["token"]) == OPS, answer
    finally:
        tf.daemon.stop()
    run_cli("admin", "2fa-reset", "--db", tf.db, "--email", OPS)
    tf.daemon = Daemon(tf.db, ["--test-clock", "--operator-2fa", "required"])
    try:
        tf.refused("POST", "/v1/account/login", {"email": OPS, "password": OPS_PASSWORD}, None, 403, 7)
    finally:
        tf.daemon.stop()

"""Checks systemd/tenantryd.service: its hardening score and the settings the daemon relies on.

Run with: python3 -m pytest -q Tests/integration/test_systemd_unit.py
"""

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "tenantryd.service"
MAX_EXPOSURE = 2.0

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
EXPOSURE = re.compile(r"Overall exposure level for \S+:\s*(\d+(?:\.\d+)?)")


def service_settings():
    """[Service] assignments as {key: [values in order]} (comments and blank lines skipped)."""
    settings, section = {}, None
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section == "Service" and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def last(settings, key):
    values = settings.get(key)
    assert values, f"{key}= is not set in [Service] of {UNIT}"
    return values[-1]


def test_security_exposure_is_low():
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not on PATH; cannot score the unit's hardening")
    env = dict(os.environ, SYSTEMD_COLORS="0", NO_COLOR="1", SYSTEMD_PAGER="", PAGER="cat")
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(UNIT)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    output = ANSI.sub("", result.stdout + result.stderr)
    match = EXPOSURE.search(output)
    assert match, f"no overall exposure line (exit {result.returncode}):\n{output}"
    exposure = float(match.group(1))
    print(f"systemd-analyze security exposure for tenantryd.service: {exposure}")
    assert exposure <= MAX_EXPOSURE, (
        f"exposure {exposure} > {MAX_EXPOSURE}; items still exposed:\n"
        + "\n".join(l for l in output.splitlines() if l.lstrip().startswith("✗"))
    )


def test_notify_watchdog_and_state_directory():
    settings = service_settings()
    assert last(settings, "Type") == "notify"
    assert last(settings, "WatchdogSec") not in ("", "0", "infinity")
    assert last(settings, "StateDirectory").split() == ["tenantry"]


def test_exec_start_runs_tenantryd_serve():
    settings = service_settings()
    starts = [v for v in settings.get("ExecStart", []) if v]  # an empty ExecStart= resets the list
    assert len(starts) == 1, f"expected exactly one ExecStart=, got {starts}"
    argv = shlex.split(starts[0].lstrip("@-:+!"))
    assert Path(argv[0]).name == "tenantryd", argv
    assert argv[1] == "serve", argv

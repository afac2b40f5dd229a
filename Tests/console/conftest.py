"""Fixtures of the console suite: one daemon (the real binary, a temporary database, an
operator) and one headless Chromium for the whole session; each test gets a `console`
bound to them and fails if the browser logged an error it did not expect.

Run with: python3 -m pytest -q Tests/console   (screenshots: TENANTRY_SCREENSHOTS=1)
"""
import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# The integration suite's helpers (Daemon, run_cli, sign_up, …), loaded under their own name:
# both folders have a conftest.py and pytest keeps only one module called "conftest".
_spec = importlib.util.spec_from_file_location("tenantry_integration_conftest", HERE.parent / "integration" / "conftest.py")
integration = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = integration
_spec.loader.exec_module(integration)

# Re-exported, so `from conftest import …` in either suite finds them whichever conftest
# module pytest imported last.
BINARY = integration.BINARY
Daemon = integration.Daemon
DaemonCalls = integration.DaemonCalls
free_port = integration.free_port
run_cli = integration.run_cli
operator = integration.operator
sign_up = integration.sign_up
current_tenant_id = integration.current_tenant_id

from tenantry_console import chromium_paths, console_session, start_chromium  # noqa: E402

try:
    import selenium  # noqa: F401
    HAVE_SELENIUM = True
except ImportError:  # pragma: no cover
    HAVE_SELENIUM = False


class Backend:
    """The daemon under test, its database and an operator session."""

    def __init__(self, directory, args=()):
        self.db = directory / "tenantry.sqlite"
        run_cli("migrate", "--db", self.db)
        self.operator_email, self.operator_password = operator(self.db, "ops@example.com", "operator password")
        # Every user of the suite signs up from 127.0.0.1: lift the per-client email limit.
        self.daemon = Daemon(self.db, args=["--emails-per-client-per-hour", "100000", *args])
        self.op = self.daemon.login(self.operator_email, self.operator_password)

    def call(self, method, path, body=None, token=None, expect=200):
        status, _, answer = self.daemon.request(method, path, body, token=token or self.op)
        assert status == expect, (method, path, status, answer)
        return answer

    def sign_up(self, email, name=None):
        """A user with a personal tenant: (session token, tenant id)."""
        token = sign_up(self.daemon, self.op, email)
        if name is not None:
            self.call("POST", "/v1/user/name", {"name": name}, token=token)
        return token, current_tenant_id(self.daemon, token)

    def tenant(self, tenant_id):
        return self.call("GET", f"/v1/admin/tenants/{tenant_id}")


@pytest.fixture(scope="session")
def chrome():
    paths = chromium_paths()
    if not HAVE_SELENIUM:
        pytest.skip("selenium is not installed (pip install selenium, or make test-deps)")
    if paths is None:
        pytest.skip("chromium and chromium-driver are needed (apt-get install chromium chromium-driver, or make test-deps)")
    driver = start_chromium(*paths)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def make_backend(tmp_path_factory):
    """Starts daemons (each with its own database and operator) that stop with the session."""
    started = []

    def make(args=()):
        started.append(Backend(tmp_path_factory.mktemp("console"), args))
        return started[-1]
    yield make
    for each in started:
        each.daemon.stop()


@pytest.fixture(scope="session")
def backend(make_backend):
    return make_backend()


@pytest.fixture
def console(chrome, backend):
    """A console on the session's daemon: wide window, empty storage, a clean browser log;
    the test fails if the browser logged a SEVERE entry it did not announce with allow()."""
    with console_session(chrome, backend.daemon) as view:
        yield view

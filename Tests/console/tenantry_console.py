"""Driving the admin console in headless Chromium (Debian's chromium + chromium-driver).

`Console` wraps a selenium driver pointed at one daemon: open a route, wait until the page
has rendered, fill and submit forms, drive the confirmation <dialog>, read the browser's
console log, and take screenshots when TENANTRY_SCREENSHOTS=1.
"""
import os
import re
import shutil
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
WIDE = (1280, 900)
PHONE = (390, 844)
XSS = "<img src=x onerror=alert(1)>"


def chromium_paths():
    """(chromium, chromedriver) or None when either is missing."""
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    browser = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium", shutil.which("chromium-browser"))
                    if p and os.path.exists(p)), None)
    return (browser, driver) if browser and driver else None


def start_chromium(browser, driver_path):
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={WIDE[0]},{WIDE[1]}", "--lang=en-US", "--force-device-scale-factor=1",
                     "--hide-scrollbars", "--disable-extensions", "--no-first-run", "--password-store=basic"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US", "credentials_enable_service": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_window_size(*WIDE)
    return driver


def instant(text):
    """An RFC 3339 timestamp as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def digits(text):
    return re.sub(r"[^0-9]", "", text)


class Console:
    TOKEN_KEY = "tenantry.token"

    def __init__(self, driver, daemon):
        self.driver = driver
        self.daemon = daemon
        self.allowed = []  # regexes of SEVERE console entries a test provokes on purpose

    # ------------------------------------------------------------ navigation
    def url(self, route=""):
        return self.daemon.url("/" + route.lstrip("/"))

    def wait(self, condition, timeout=10, message=""):
        def safe(driver):
            try:
                return condition(driver)
            except StaleElementReferenceException:
                return False
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(safe, message)

    def load(self, route="#/dashboard"):
        """A full page load of /ROUTE, then waits for the login page or a rendered page."""
        self.driver.get(self.url(route if route.startswith("#") or not route else route))
        self.wait_ready()

    def visit(self, url):
        """Opens a full URL (e.g. a redirect_url of the daemon) in a fresh document and waits."""
        self.driver.get("about:blank")
        self.driver.get(url)
        self.wait_ready()

    def wait_logged_in(self, timeout=10):
        self.wait(lambda d: not self.on_login_page(), timeout, f"still on the login page: {self.text('#login-message')!r}")
        self.wait_ready(timeout)

    def rendered(self):
        """How many pages this document has rendered (the console counts them in #main's data-render)."""
        return int(self.driver.execute_script("const m = document.getElementById('main'); return Number((m && m.dataset.render) || 0);"))

    @contextmanager
    def navigation(self, timeout=10):
        """Waits, after the block, until the console has rendered a new page (or shows the login page)."""
        before = self.rendered()
        yield

        def done(driver):
            if self.on_login_page():
                return True
            return self.rendered() > before and self.find("#main").get_attribute("aria-busy") == "false"
        self.wait(done, timeout, "no new page was rendered")

    def go(self, hash_route):
        """Client-side navigation in the same document: sets location.hash and waits for the page."""
        with self.navigation():
            self.driver.execute_script("location.hash = arguments[0];", hash_route)

    def wait_ready(self, timeout=10):
        def ready(driver):
            login = driver.find_element(By.ID, "login-view")
            if login.is_displayed():
                return True
            main = driver.find_element(By.ID, "main")
            return main.is_displayed() and main.get_attribute("aria-busy") == "false"
        self.wait(ready, timeout, "the console did not finish rendering")

    def on_login_page(self):
        return self.driver.find_element(By.ID, "login-view").is_displayed()

    def use_token(self, token, route="#/dashboard"):
        """Starts a session the way a reload would: the token in localStorage, then a load."""
        self.driver.get(self.url("/console/favicon.svg"))  # same origin, no script runs
        self.driver.execute_script("localStorage.clear(); localStorage.setItem(arguments[0], arguments[1]);", self.TOKEN_KEY, token)
        self.load(route)
        assert not self.on_login_page(), self.text("#login-message")

    def login_operator(self, backend, route="#/dashboard"):
        """Logged in as the suite's operator with a fresh session token, as after a reload."""
        self.use_token(backend.daemon.login(backend.operator_email, backend.operator_password), route)
        return self

    def token(self):
        return self.driver.execute_script("return localStorage.getItem(arguments[0]);", self.TOKEN_KEY)

    # ------------------------------------------------------------ the page
    def find(self, css, within=None):
        return (within or self.driver).find_element(By.CSS_SELECTOR, css)

    def finds(self, css, within=None):
        return (within or self.driver).find_elements(By.CSS_SELECTOR, css)

    def visible(self, css, timeout=10):
        return self.wait(lambda d: next((e for e in self.finds(css) if e.is_displayed()), False), timeout, f"{css} is not visible")

    def text(self, css):
        elements = self.finds(css)
        return elements[0].text if elements else ""

    def h1(self):
        return self.visible("main h1").text

    def page_text(self):
        return self.find("body").text

    def _retry(self, action, attempts=5):
        """Runs ACTION again when the page re-rendered the element under it (stale reference)."""
        for attempt in range(attempts):
            try:
                return action()
            except StaleElementReferenceException:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05)

    def click(self, css):
        def act():
            self.wait(lambda d: any(e.is_displayed() and e.is_enabled() for e in self.finds(css)), message=f"{css} is not there to click")
            element = next(e for e in self.finds(css) if e.is_displayed() and e.is_enabled())
            element.click()
            return element
        return self._retry(act)

    def fill(self, css, value):
        def act():
            element = self.visible(css)
            element.clear()
            element.send_keys(value)
            return element
        return self._retry(act)

    def set_value(self, css, value):
        """Sets an input's value as a user would end up with (for date pickers), firing input."""
        element = self.find(css)
        self.driver.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", element, value)
        return element

    def wait_text(self, css, pattern, timeout=10):
        """Waits until the element's text matches PATTERN (a regex) and answers that text."""
        regex = re.compile(pattern)
        found = []

        def matches(driver):
            for element in self.finds(css):
                text = element.text
                if regex.search(text):
                    found.append(text)
                    return True
            return False
        self.wait(matches, timeout, f"{css} never matched {pattern!r}; it reads {self.text(css)!r}")
        return found[-1]

    def dialog_open(self):
        return self.driver.execute_script("return document.getElementById('confirm-dialog').open;")

    def confirm(self, expect_title=None):
        """Waits for the confirmation dialog, checks its title, presses its confirm button."""
        self.wait(lambda d: self.dialog_open(), message="no confirmation dialog opened")
        title = self.text("#confirm-title")
        if expect_title:
            assert re.search(expect_title, title), title
        self.find("#confirm-ok").click()
        self.wait(lambda d: not self.dialog_open(), message="the dialog stayed open")
        return title

    def cancel_with_escape(self):
        from selenium.webdriver.common.keys import Keys
        self.wait(lambda d: self.dialog_open(), message="no confirmation dialog opened")
        self.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        self.wait(lambda d: not self.dialog_open(), message="Escape did not close the dialog")

    def horizontal_overflow(self):
        """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
        return self.driver.execute_script(
            "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth;")

    def alert_present(self):
        try:
            self.driver.switch_to.alert
            return True
        except NoAlertPresentException:
            return False

    # ------------------------------------------------------------ the browser's console
    def allow(self, pattern):
        """Accepts SEVERE console entries matching PATTERN (a request the test makes fail on purpose)."""
        self.allowed.append(re.compile(pattern))

    def allow_failed_request(self, path_regex, status):
        # Chromium logs every 4xx fetch as "URL - Failed to load resource: … status of N".
        self.allow(rf"{path_regex}\S* - Failed to load resource: the server responded with a status of {status}\b")

    def drain_log(self):
        return self.driver.get_log("browser")

    def severe_entries(self):
        return [e for e in self.drain_log()
                if e["level"] == "SEVERE" and not any(p.search(e["message"]) for p in self.allowed)]

    # ------------------------------------------------------------ screenshots
    def screenshot(self, name, full_page=True):
        """Writes docs/screenshots/NAME.png when TENANTRY_SCREENSHOTS=1 (CI leaves them alone)."""
        if os.environ.get("TENANTRY_SCREENSHOTS") != "1":
            return None
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        size = self.driver.get_window_size()
        width, height = size["width"], size["height"]
        self.driver.execute_script("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur && document.activeElement.blur();")
        if full_page:
            inner = self.driver.execute_script("return window.innerHeight;")
            content = self.driver.execute_script("return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight);")
            if content > inner:
                self.driver.set_window_size(width, min(height + content - inner, 4000))
                time.sleep(0.25)  # the chart redraws at its new size
        time.sleep(0.1)
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(width, height)
        return path


@contextmanager
def console_session(driver, daemon):
    """A Console on DAEMON: wide window, empty storage, a clean browser log; on leaving,
    fails if the browser logged a SEVERE entry the test did not announce with allow()."""
    driver.set_window_size(*WIDE)
    driver.get(daemon.url("/console/favicon.svg"))
    driver.execute_script("localStorage.clear();")
    view = Console(driver, daemon)
    view.drain_log()
    yield view
    severe = view.severe_entries()
    assert not severe, "the browser logged errors:\n" + "\n".join(e["message"] for e in severe)


# Runs before any script of each document: window.alert and friends only record (a real
# alert would block the page), so that an injected handler is seen, not suffered.
TRAP_ALERTS = """(() => {
  window.__alerts = [];
  for (const name of ["alert", "confirm", "prompt"]) {
    window[name] = (message) => { window.__alerts.push(`${name}: ${message}`); return null; };
  }
})();"""


@contextmanager
def trapped_console_session(driver, daemon):
    """A console_session whose pages record alerts in window.__alerts instead of showing them."""
    script = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TRAP_ALERTS})
    try:
        with console_session(driver, daemon) as view:
            yield view
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})
        driver.set_window_size(*WIDE)


def assert_shown_as_text(console, where):
    """Hostile strings on the page stayed text: no element or handler came of them, no alert ran."""
    assert console.driver.execute_script("return document.querySelectorAll('img, script:not([src]), [onerror]').length;") == 0, where
    assert console.driver.execute_script("return window.__alerts;") == [], where
    assert not console.alert_present(), where

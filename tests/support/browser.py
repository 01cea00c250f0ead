"""Real headless Chromium (Debian's package, driven by Playwright) and apps served over real HTTP."""
import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Without these, Chromium keeps dialling Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str | None:
    """Debian's chromium, or the executable OXNACK_CHROMIUM names; None when there is none."""
    configured = os.environ.get("OXNACK_CHROMIUM")
    if configured:
        return configured if os.path.exists(configured) else None
    return next((path for path in CHROMIUM_CANDIDATES if os.path.exists(path)), shutil.which("chromium"))


def in_ci() -> bool:
    """CI=true (GitHub Actions, GitLab and most others set it): there a missing browser is a failure."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


MISSING = "Debian's chromium is not installed (make test installs it with apt; OXNACK_CHROMIUM names another)"
_skipped_for_missing_browser: list[str] = []


@contextlib.contextmanager
def serve(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread; yields http://localhost:PORT."""
    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server_url(app) -> Iterator[str]:
    """The session app over real HTTP."""
    with serve(app) as url:
        yield url


@pytest.fixture(scope="session")
def chromium_browser():
    executable = chromium_path()
    if executable is None:
        if in_ci():
            pytest.fail(f"BROWSER TESTS CANNOT RUN IN CI: {MISSING}", pytrace=False)
        _skipped_for_missing_browser.append(MISSING)
        pytest.skip(f"BROWSER TESTS SKIPPED: {MISSING}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def chromium_page(chromium_browser, request):
    """A fresh browser context and page; a screenshot is kept in test-artifacts/ when the test fails."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


def save_screenshot(page, name: str) -> Path:
    """Keep a screenshot as a test artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def pytest_terminal_summary(terminalreporter):
    """Locally a missing browser skips, but loudly: a banner at the end of the run, not one 's'."""
    if _skipped_for_missing_browser:
        terminalreporter.write_sep("#", "BROWSER TESTS WERE SKIPPED: " + MISSING, red=True, bold=True)

"""Browser test fixtures: the app served on loopback by werkzeug in a thread, and Debian's
Chromium (/usr/bin/chromium, headless, never a downloaded browser) driven by Playwright."""
import os
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Screenshots of the journeys land here (one folder per test), for CI to keep as artefacts.
RESULTS = Path(__file__).resolve().parents[2] / "test-results" / "e2e"


@pytest.fixture(scope="module")
def server(app):
    """The app on 127.0.0.1 (a free port), threaded like a real server; yields its base URL."""
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session; skips when Chromium or Playwright is missing."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test (``item.rep_call``): a fixture reads it to save
    screenshots of the browsers when a step failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)

"""The CSP in a real browser (issue #14 §2): FAB pages, the loan form and ECharts pages still
work, with no CSP violation. Playwright drives Debian's Chromium (never a downloaded browser)
against the app served on loopback by werkzeug in a thread."""
import os

import pytest

from tests.e2e.conftest import CHROMIUM

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian's Chromium is not installed (apt-get install chromium)"),
    pytest.mark.usefixtures("clean_database"),
]

# Installed before any page script: CSP violations are also reported as DOM events.
WATCH = """window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "") + " " + (e.sample || ""));
});"""


@pytest.fixture
def page(browser, server):
    from tests.conftest import TEST_PASSWORD

    context = browser.new_context(locale="zh-CN")
    context.add_init_script(WATCH)
    page = context.new_page()
    page.console = []
    page.on("console", lambda msg: page.console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda err: page.console.append(f"pageerror: {err}"))
    page.goto(server + "/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login/" not in page.url
    page.server = server
    yield page
    context.close()


def _open(page, path):
    page.console.clear()
    response = page.goto(page.server + path)
    assert response.status == 200
    page.wait_for_load_state("networkidle")
    assert "Content-Security-Policy" in {k.title(): v for k, v in response.headers.items()} \
        or "content-security-policy" in response.headers


def _no_violations(page, known=()):
    """No CSP violation (and no script error) except the ``known`` ones, given by code sample."""
    violations = [v for v in page.evaluate("window.__csp") if not any(k in v for k in known)]
    csp_console = [line for line in page.console if "Content Security Policy" in line and not known]
    errors = [line for line in page.console if line.startswith(("error", "pageerror"))
              and not (known and "Content Security Policy" in line)]
    assert violations == [] and csp_console == [], (violations, csp_console)
    assert errors == [], errors


def test_fab_list_page_works_under_the_csp(page):
    _open(page, "/loanview/list/")
    assert page.evaluate("typeof window.jQuery") == "function"
    assert page.evaluate("typeof window.AdminActions") == "function"  # FAB's own scripts loaded
    _no_violations(page)


def test_loan_form_works_under_the_csp(page):
    _open(page, "/loanview/add")
    assert page.evaluate("typeof window.jQuery.fn.select2") == "function"
    assert page.locator(".select2-container").count() > 0              # FAB's widgets initialised
    assert page.evaluate("document.getElementById('products-data') !== null")
    _no_violations(page)


def test_loan_form_has_no_csp_violation_at_all(page):
    _open(page, "/loanview/add")
    _no_violations(page)


def test_echarts_schedule_chart_draws_under_the_csp(page):
    _open(page, "/schedule/calculator?principal=100000&annual_rate=12&term=12&method=equal_installment"
                "&start_date=2026-03-16&period=month&every=1&day_basis=360&rounding=HALF_UP")
    assert page.evaluate("typeof window.echarts") == "object"
    page.wait_for_selector("#schedule-chart canvas", timeout=5000)
    _no_violations(page)


def test_classification_portfolio_chart_under_the_csp(page):
    _open(page, "/classification/portfolio/")
    assert page.evaluate("typeof window.echarts") == "object"
    _no_violations(page)
    page.wait_for_selector("#classification-chart canvas", timeout=3000)


def test_swagger_ui_works_under_the_csp(page):
    _open(page, "/swagger/v1")
    page.wait_for_selector(".opblock", timeout=10000)
    assert page.evaluate("typeof window.SwaggerUIBundle") == "function"
    assert page.locator(".opblock").count() >= 20
    _no_violations(page)

"""Security headers (issue #14 §2): CSP, X-Frame-Options, nosniff, Referrer-Policy on every
response, and FAB's inline scripts carrying this request's nonce."""
import re

import pytest

PAGES = ["/loanview/list/", "/loanview/add", "/classification/portfolio/", "/schedule/calculator"]


def _directives(header):
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def _check_headers(response):
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    csp = _directives(response.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert not any(src.startswith(("http", "*")) for values in csp.values() for src in values)
    return csp


def test_login_page_and_static_files_carry_the_headers(client):
    _check_headers(client.get("/login/"))
    _check_headers(client.get("/static/js/microloan.js"))


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_the_headers_and_fab_scripts_the_nonce(login_as, path):
    response = login_as("admin").get(path)
    assert response.status_code == 200
    csp = _check_headers(response)
    nonce = next(v for v in csp["script-src"] if v.startswith("'nonce-"))[len("'nonce-"):-1]
    assert len(nonce) >= 16
    html = response.get_data(as_text=True)
    nonced = re.findall(r'<script[^>]*nonce="([^"]*)"', html)
    assert nonced and set(nonced) == {nonce}      # FAB's scripts (jQuery, ab.js …) carry it


def test_each_response_gets_its_own_nonce(login_as):
    client = login_as("admin")
    first = client.get("/loanview/list/").headers["Content-Security-Policy"]
    second = client.get("/loanview/list/").headers["Content-Security-Policy"]
    assert re.search(r"'nonce-([^']+)'", first).group(1) != re.search(r"'nonce-([^']+)'", second).group(1)


def test_static_inline_code_is_allowed_by_hash_and_jinja_code_is_not(tmp_path):
    from app.security_headers import _sha256, static_inline_hashes

    (tmp_path / "a.html").write_text(
        '<script>window.x = 1;</script><script>var y = {{ y }};</script>'
        '<script src="/static/a.js"></script><script type="application/json">{"a": 1}</script>'
        '<button onclick="window.print()">p</button><a onclick="return confirm(\'{{ _("Sure?") }}\')">x</a>',
        encoding="utf-8")
    scripts, handlers = static_inline_hashes([str(tmp_path)])
    assert scripts == [_sha256("window.x = 1;")]
    assert handlers == [_sha256("window.print()")]


def test_csp_can_be_switched_to_report_only(app):
    from app.security_headers import policy

    text = policy("abc", ["'sha256-x'"], ["'sha256-y'"])
    assert "script-src 'self' 'nonce-abc' 'report-sample' 'sha256-x' 'unsafe-hashes' 'sha256-y'" in text
    app.config["CSP_REPORT_ONLY"] = True
    try:
        response = app.test_client().get("/login/")
        assert "Content-Security-Policy-Report-Only" in response.headers
        assert "Content-Security-Policy" not in response.headers
    finally:
        app.config["CSP_REPORT_ONLY"] = False

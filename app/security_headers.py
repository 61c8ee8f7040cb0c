"""Security headers on every response (issue #14 §2), and the CSRF guard of the REST API.

- ``Content-Security-Policy``: scripts only from the app itself (``'self'``: FAB's and our
  static files, ECharts included) plus inline scripts that carry this request's nonce.
  FAB 5's templates already write ``nonce="{{ baselib.get_nonce() }}"`` on their inline
  scripts when a ``csp_nonce()`` function is in the template context, which this module
  provides. Inline scripts and ``on…=""`` handlers in our own templates that contain no
  Jinja expressions are allowed by their SHA-256 (computed at start-up from the template
  files, so only code that is in the repository can match); inline code with Jinja in it
  must carry ``nonce="{{ csp_nonce() }}"``.
  Styles: ``'self'`` plus ``'unsafe-inline'``: FAB's templates and ours use some 190
  ``style="…"`` attributes (and widgets such as select2/datepicker set inline styles), which
  nonces cannot cover; injected CSS cannot run code, so styles keep ``'unsafe-inline'``
  while scripts do not.
- ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'``: no page may be framed.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``.

Set ``CSP_ENABLED = False`` to switch the CSP off (the other headers stay);
``CSP_REPORT_ONLY = True`` sends it as ``Content-Security-Policy-Report-Only``.

CSRF of the REST API (``cookie_api_write_refused``): the APIs accept the session cookie
(``allow_browser_login``, so the pages can call them) and Flask-WTF's CSRFProtect exempts
them, so without this guard a POST/PUT/PATCH/DELETE to /api/ carrying only the cookie
would be protected by nothing but ``SameSite=Lax``. A write authenticated by the cookie
must now send the page's CSRF token in ``X-CSRFToken`` (Flask-WTF's token, the one the
forms use; the pages' jQuery adds it to every non-GET AJAX call); a write with a valid
``Authorization: Bearer <JWT>`` needs none (a cross-site page cannot send that header).
Refused: a JSON 403 and nothing done. Off with ``WTF_CSRF_ENABLED = False``, like the forms.
"""
import base64
import hashlib
import os
import re
import secrets

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_jwt_extended import verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_login import current_user
from flask_wtf.csrf import ValidationError, validate_csrf
from jwt.exceptions import PyJWTError

_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)
_HANDLER = re.compile(r"""\son[a-z]+=(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')""", re.I)
_JINJA = ("{{", "{%", "{#")


def _sha256(code):
    return "'sha256-" + base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode() + "'"


def static_inline_hashes(template_dirs):
    """(script hashes, handler hashes) of the inline scripts and event-handler attributes
    without Jinja in them, found in the templates under ``template_dirs``."""
    scripts, handlers = set(), set()
    for folder in template_dirs:
        for root, _dirs, names in os.walk(folder):
            for name in names:
                if not name.endswith(".html"):
                    continue
                with open(os.path.join(root, name), encoding="utf-8") as fh:
                    source = fh.read()
                for match in _SCRIPT.finditer(source):
                    attrs, body = match.group("attrs").lower(), match.group("body")
                    if "src=" in attrs or "json" in attrs or not body.strip():
                        continue
                    if not any(mark in body for mark in _JINJA):
                        scripts.add(_sha256(body))
                for match in _HANDLER.finditer(source):
                    code = match.group("dq") if match.group("dq") is not None else match.group("sq")
                    if code and not any(mark in code for mark in _JINJA):
                        handlers.add(_sha256(code))
    return sorted(scripts), sorted(handlers)


def csp_nonce():
    """This request's nonce (made on first use)."""
    nonce = g.get("_csp_nonce")
    if nonce is None:
        nonce = g._csp_nonce = secrets.token_urlsafe(18)
    return nonce


def policy(nonce, script_hashes=(), handler_hashes=()):
    # 'report-sample': a violation report names the first characters of the blocked code.
    script_src = ["'self'", f"'nonce-{nonce}'", "'report-sample'", *script_hashes]
    if handler_hashes:
        script_src += ["'unsafe-hashes'", *handler_hashes]
    directives = {
        "default-src": ["'self'"],
        "script-src": script_src,
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
#: API writes that are not made by a logged-in page: the JWT login itself.
CSRF_FREE_API_PATHS = ("/api/v1/security/login",)


def cookie_api_write_refused():
    """None when this request may go on; a JSON 403 for a write to /api/ authenticated by
    the session cookie alone, without a valid CSRF token in a header."""
    if request.method in SAFE_METHODS or not request.path.startswith("/api/"):
        return None
    if not current_app.config.get("WTF_CSRF_ENABLED", True) or request.path in CSRF_FREE_API_PATHS:
        return None
    if not current_user.is_authenticated:
        return None               # no session: FAB checks the JWT (401 without one)
    if _valid_bearer_token():
        return None               # JWT-authenticated: a cross-site page cannot send one
    names = current_app.config.get("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    token = next((request.headers[name] for name in names if request.headers.get(name)), None)
    try:
        validate_csrf(token)
        return None
    except ValidationError:
        response = jsonify(message=_("The CSRF token is missing or invalid: send the page's token in the "
                                     "X-CSRFToken header, or authenticate with a bearer token."))
        response.status_code = 403
        return response


def _valid_bearer_token():
    """The request carries a valid JWT. Checked here, not only by FAB: FAB lets an API that
    accepts the browser login run as the cookie's user without looking at the token, so a
    made-up "Bearer x" must not excuse a cookie write from the CSRF check."""
    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        return False
    try:
        verify_jwt_in_request()
    except (JWTExtendedException, PyJWTError):
        return False
    return True


def install(app):
    """Register the nonce in the template context, the after_request hook and the CSRF
    guard of cookie-authenticated API writes."""
    folders = [os.path.join(app.root_path, app.template_folder or "templates")]
    script_hashes, handler_hashes = static_inline_hashes(folders)

    # A Jinja global (not a context processor): FAB's macros are imported without context.
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.before_request(cookie_api_write_refused)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("CSP_ENABLED", True):
            name = ("Content-Security-Policy-Report-Only" if app.config.get("CSP_REPORT_ONLY")
                    else "Content-Security-Policy")
            headers.setdefault(name, policy(csp_nonce(), script_hashes, handler_hashes))
        return response

    return script_hashes, handler_hashes

"""Security headers on every response (issue #14 §2).

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
"""
import base64
import hashlib
import os
import re
import secrets

from flask import g

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


def install(app):
    """Register the nonce in the template context and the after_request hook."""
    folders = [os.path.join(app.root_path, app.template_folder or "templates")]
    script_hashes, handler_hashes = static_inline_hashes(folders)

    # A Jinja global (not a context processor): FAB's macros are imported without context.
    app.jinja_env.globals["csp_nonce"] = csp_nonce

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

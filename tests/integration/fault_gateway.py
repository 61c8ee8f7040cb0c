"""A loopback SMS gateway that can be made to fail the ways real ones do (for test_faults):
down (connection refused: the port is closed), slow (answers after ``delay`` seconds, i.e.
after the client's timeout), or held (a request waits until ``release()``, so a test can
kill the process that is sending). Every request that reached it is recorded."""
import threading
import urllib.parse
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .message_helpers import app_config

PARAMS = '{"account": "ml", "mobile": "{mobile}", "content": "{sign}{content}", "msgid": "{id}"}'


class FaultGateway:
    def __init__(self):
        self.requests = []
        self.delay = 0.0
        self.arrived = threading.Event()   # set by every request
        self._open = threading.Event()     # cleared by hold(): requests wait for release()
        self._open.set()
        self._lock = threading.Lock()
        self.server = None
        self.port = None
        self.start()

    # -- up and down ------------------------------------------------------------------------
    def start(self):
        """Listen (again, on the same port once it has one)."""
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port or 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        """Down: the port is closed, a client gets "connection refused"."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/sms/send"

    def hold(self):
        self._open.clear()

    def release(self):
        self._open.set()

    # -- what it saw ------------------------------------------------------------------------
    def ids(self):
        with self._lock:
            return [r.get("msgid") for r in self.requests]

    def count(self):
        with self._lock:
            return len(self.requests)

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                values = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode("utf-8")))
                with gateway._lock:
                    gateway.requests.append(values)   # received: the gateway sends it now
                gateway.arrived.set()
                gateway._open.wait(60)
                if gateway.delay:
                    threading.Event().wait(gateway.delay)
                data = b'{"code": 0, "msg": "ok"}'
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:   # the client gave up (timeout) or was killed
                    pass

            def log_message(self, *args):
                pass

        return Handler


def gateway_settings(gateway, **extra):
    """The app config (or worker environment) that points the http SMS backend at ``gateway``."""
    settings = {"SMS_BACKEND": "http", "SMS_HTTP_URL": gateway.url, "SMS_HTTP_METHOD": "POST",
                "SMS_HTTP_PARAMS": PARAMS, "SMS_HTTP_SUCCESS": r'"code"\s*:\s*0', "SMS_SIGNATURE": "【测试小贷】",
                "SMS_HTTP_TIMEOUT": "5"}
    settings.update(extra)
    return settings


@contextmanager
def fault_gateway(app, **config):
    gateway = FaultGateway()
    try:
        with app_config(app, gateway_settings(gateway, **config)):
            yield gateway
    finally:
        gateway.release()
        gateway.stop()

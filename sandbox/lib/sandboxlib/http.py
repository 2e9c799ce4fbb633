"""A threaded JSON-over-HTTP server with routes, logging one line per request."""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

log = logging.getLogger("http")

Handler = Callable[["Request"], "Response"]


class Response:
    def __init__(self, status: int, body: Any = None, content_type: str = "application/json",
                 headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.headers = dict(headers or {})
        if isinstance(body, (bytes, str)):
            self.body = body.encode() if isinstance(body, str) else body
            self.content_type = content_type if content_type != "application/json" else "text/plain; charset=utf-8"
        else:
            self.body = (json.dumps(body, default=str) + "\n").encode()
            self.content_type = content_type


class Request:
    def __init__(self, method: str, path: str, query: str, headers: Any, body: bytes, params: dict[str, str],
                 peer: str = "") -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.params = params
        self.peer = peer  # the client's IP address as the socket sees it

    def json(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body)


class Router:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """`pattern` like /api/agents/{id}; the pattern itself is the route label in metrics."""
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self.routes.append((method, regex, pattern, handler))

    def match(self, method: str, path: str) -> tuple[str, Handler | None, dict[str, str], bool]:
        path_matched = False
        for m, regex, pattern, handler in self.routes:
            found = regex.match(path)
            if found:
                path_matched = True
                if m == method:
                    return pattern, handler, found.groupdict(), True
        return ("other", None, {}, path_matched)


def serve(router: Router, port: int, observe: Callable[[str, str, int, float], None] | None = None,
          handle_signals: bool = True) -> None:
    """Serve until SIGTERM/SIGINT; `observe(method, route, status, seconds)` after each request.

    From a thread other than the main one, pass handle_signals=False (signals are main-thread only).
    """
    import time

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "opsbook-sandbox"

        def _handle(self) -> None:
            started = time.monotonic()
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            route, handler, params, path_known = router.match(self.command, path)
            if handler is None:
                response = Response(405 if path_known else 404, {"error": "not found" if not path_known else "method not allowed"})
            else:
                try:
                    response = handler(Request(self.command, path, query, self.headers, body, params,
                                               peer=self.client_address[0]))
                except Exception as exc:  # the API answers 5xx and logs; it never dies on a request
                    status = getattr(exc, "http_status", 500)
                    log.error("%s %s failed: %s: %s", self.command, path, type(exc).__name__, str(exc).strip())
                    response = Response(status, {"error": type(exc).__name__, "detail": str(exc).strip()})
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(response.body)
            except OSError as exc:  # the client gave up waiting: the request still counts, and took this long
                self.close_connection = True
                log.info("%s %s: client went away before the answer: %s", self.command, path, exc)
            elapsed = time.monotonic() - started
            if observe is not None:
                observe(self.command, route, response.status, elapsed)
            if route not in ("/metrics", "/health", "/api/health") or response.status >= 400:
                log.info('%s "%s %s" %d %.1fms', self.client_address[0], self.command, path, response.status, elapsed * 1000)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

    class _Server(ThreadingHTTPServer):
        # socketserver's default backlog of 5 drops connections under a burst (the client retries
        # a second later): a production server queues far more.
        request_queue_size = 128

    server = _Server(("0.0.0.0", port), _Handler)
    server.daemon_threads = True
    if handle_signals:
        stop_on_signal(server.shutdown)
    log.info("listening on :%d", port)
    server.serve_forever(poll_interval=0.2)


def stop_on_signal(stop: Callable[[], None]) -> None:
    """Call `stop` (from another thread) on SIGTERM/SIGINT so `docker stop` is quick."""

    def _handler(signum: int, _frame: Any) -> None:
        log.info("signal %d: shutting down", signum)
        threading.Thread(target=stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)


def setup_logging(service: str) -> None:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")

"""Loopback HTTP stand-ins for Proxmox VE and pfSense, for demo mode and the test suite.

Both speak the real wire formats so the real clients run against them unchanged. This module
holds what they share: the server thread, the call log and HTTP failure injection.
"""
import json
import os
import re
import socket
import struct
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass(frozen=True)
class Call:
    """One request as the simulator saw it (secrets of the login call are masked)."""

    method: str
    path: str
    params: dict = field(default_factory=dict)


@dataclass
class Reply:
    """What a route answers: status, JSON body and an optional reason phrase.

    An answer can also be lost the ways a real one is: held `hang` seconds first (the client
    has given up by then), or `reset` (the connection is reset instead of answered).
    """

    status: int
    body: object
    reason: str | None = None
    hang: float = 0.0
    reset: bool = False
    upgrade: object = None  # called with the handler instead of answering JSON (a WebSocket takes the socket)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a request stuck in delay_next

    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is part of the tests, not noise


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes; don't stall on ACKs

    def do_GET(self):
        self.server.simulator._dispatch(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format, *args):
        pass  # request lines can carry ids of secrets; the call log is enough


class LoopbackSimulator(ABC):
    """Base of the simulators: start()/stop(), `url`, context manager, `calls`, failure injection."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port
        self.calls: list[Call] = []
        self._lock = threading.RLock()
        self._failures: list[list] = []  # [method, compiled pattern, status, times left]
        self._delays: list[list] = []  # [compiled pattern, seconds]
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self):
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is None:
            self._httpd = _Server((self.host, self.port), _Handler)
            self._httpd.simulator = self
            self.port = self._httpd.server_address[1]
            # A short poll interval keeps stop() quick (shutdown waits for one poll).
            self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                            name=type(self).__name__, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. http://127.0.0.1:40123."""
        return f"http://{self.host}:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # --- failure injection -----------------------------------------------------------------

    def fail_next(self, method: str, path_pattern: str, status: int = 500, times: int = 1) -> None:
        """Answer the next `times` requests matching method ("*" for any) and path regex with `status`."""
        with self._lock:
            self._failures.append([method.upper(), re.compile(path_pattern), status, times])

    def delay_next(self, path_pattern: str, seconds: float) -> None:
        """Hold the next matching request for `seconds` before handling it (client timeouts)."""
        with self._lock:
            self._delays.append([re.compile(path_pattern), seconds])

    def clear_injections(self) -> None:
        """Forget every pending fail_next() and delay_next() (a fault injector ending an outage)."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()

    def calls_to(self, method: str, path_pattern: str) -> list[Call]:
        """The logged calls with this method whose path matches the regex."""
        with self._lock:
            return [c for c in self.calls if c.method == method.upper() and re.search(path_pattern, c.path)]

    # --- for subclasses --------------------------------------------------------------------

    @abstractmethod
    def route(self, method: str, path: str, params: dict, headers) -> Reply:
        """Answer one request; subclasses implement the remote API here."""

    def error_reply(self, status: int, message: str) -> Reply:
        """An error in the remote system's own shape."""
        return Reply(status, {"message": message}, message)

    def loggable(self, path: str, params: dict) -> dict:
        """Params as stored in `calls`; subclasses mask login secrets."""
        return params

    # --- request plumbing ------------------------------------------------------------------

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        method = handler.command
        split = urlsplit(handler.path)
        path = unquote(split.path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        reply = self._parse_body(raw, handler.headers.get("Content-Type", ""), params)
        with self._lock:
            self.calls.append(Call(method, path, self.loggable(path, dict(params))))
            delay = self._take_delay(path)
        if delay:
            time.sleep(delay)  # then carry on: a real server finishes the work the client gave up on
        if reply is None:
            with self._lock:
                failure = self._take_failure(method, path)
            if failure:
                reply = self.error_reply(failure, "injected failure")
            else:
                reply = self.route(method, path, params, handler.headers)
        self._send(handler, reply)

    def _parse_body(self, raw: bytes, content_type: str, params: dict) -> Reply | None:
        if not raw:
            return None
        text = raw.decode("utf-8", "replace")
        if "json" in content_type:
            try:
                body = json.loads(text)
            except ValueError:
                return self.error_reply(400, "request body is not valid JSON")
            if not isinstance(body, dict):
                return self.error_reply(400, "request body must be a JSON object")
            params.update(body)
        else:  # proxmoxer sends application/x-www-form-urlencoded
            params.update(parse_qsl(text, keep_blank_values=True))
        return None

    def _take_delay(self, path: str) -> float:
        for entry in self._delays:
            if entry[0].search(path):
                self._delays.remove(entry)
                return entry[1]
        return 0.0

    def _take_failure(self, method: str, path: str) -> int | None:
        for entry in self._failures:
            if entry[0] in (method, "*") and entry[1].search(path):
                entry[3] -= 1
                if entry[3] <= 0:
                    self._failures.remove(entry)
                return entry[2]
        return None

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.hang:
            time.sleep(reply.hang)
        if reply.reset:
            _reset(handler)
            return
        if reply.upgrade is not None:
            handler.close_connection = True
            try:
                reply.upgrade(handler)
            except OSError:
                pass  # the client left
            return
        payload = json.dumps(reply.body).encode()
        try:
            handler.send_response(reply.status, reply.reason)
            handler.send_header("Content-Type", "application/json;charset=UTF-8")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection with a TCP RST (linger 0), as a crashed server or a middlebox does."""
    handler.close_connection = True
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # detach(): the handler's own close later touches no descriptor (this one may be reused by then).
    os.close(handler.connection.detach())
